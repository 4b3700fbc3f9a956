"""``emc up`` restarts a process that died, with backoff, and gives up on a crash loop; it runs
``EMC_COLLECTOR_WORKERS`` collector processes, each supervised alone.

The policy is pure; ``supervise`` is driven with real (tiny) child processes and an explicit
clock, so no test sleeps through a backoff."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from core.settings import Settings
from emc.supervisor import (
    RestartPolicy,
    _Child,
    _Watch,
    collector_metrics_dir,
    collector_workers,
    supervise,
)


def test_delays_double_up_to_the_cap_and_a_crash_loop_gives_up() -> None:
    policy = RestartPolicy(max_crashes=5, window_s=300, first_delay_s=1, max_delay_s=30)
    assert [policy.after_crash(t) for t in (0, 10, 20, 30, 40)] == [1, 2, 4, 8, 16]
    assert policy.after_crash(50) is None  # the sixth within 300 s


def test_old_crashes_leave_the_window() -> None:
    policy = RestartPolicy(max_crashes=2, window_s=60, first_delay_s=1, max_delay_s=30)
    assert policy.after_crash(0) == 1
    assert policy.after_crash(30) == 2
    assert policy.after_crash(80) == 2  # the crash at 0 is forgotten, the one at 30 is not
    assert policy.after_crash(200) == 1  # both older ones forgotten: a fresh start


def test_the_delay_is_capped() -> None:
    policy = RestartPolicy(max_crashes=10, window_s=1e9, first_delay_s=4, max_delay_s=30)
    assert [policy.after_crash(float(t)) for t in range(5)] == [4, 8, 16, 30, 30]


def _dying(tmp_path: Path, code: int = 3) -> _Child:
    argv = [sys.executable, "-c", f"print('boom {code}'); raise SystemExit({code})"]
    child = _Child("streams", argv, tmp_path / "streams.log")
    child.start({})
    assert child.proc is not None
    child.proc.wait(timeout=30)
    return child


def test_a_dead_child_is_restarted_after_its_delay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    child = _dying(tmp_path)
    first = child.proc
    watch = _Watch(child, RestartPolicy(first_delay_s=2))
    assert supervise([watch], {}, now=100.0) is None
    assert watch.restart_at == 102.0
    out = capsys.readouterr().out
    assert "streams exited (code 3); restarting in 2 s" in out and "boom 3" in out
    assert supervise([watch], {}, now=101.0) is None  # still waiting
    assert child.proc is first
    assert supervise([watch], {}, now=102.5) is None
    assert child.proc is not first and "restarted streams" in capsys.readouterr().out
    assert child.proc is not None
    child.proc.wait(timeout=30)
    child.stop()
    # both runs wrote to the same log
    assert child.log_path.read_text().count("boom 3") == 2


def test_a_crash_loop_stops_everything(tmp_path: Path) -> None:
    child = _dying(tmp_path, code=70)
    watch = _Watch(child, RestartPolicy(max_crashes=1, first_delay_s=1))
    assert supervise([watch], {}, now=0.0) is None
    assert supervise([watch], {}, now=1.0) is None  # restarted
    assert child.proc is not None
    child.proc.wait(timeout=30)
    reason = supervise([watch], {}, now=2.0)
    assert reason is not None
    assert reason.startswith("streams exited 2 times within 300 s (last code 70): giving up")
    assert "boom 70" in reason
    child.stop()


def test_without_restart_the_first_death_stops_everything(tmp_path: Path) -> None:
    child = _dying(tmp_path, code=1)
    reason = supervise([_Watch(child, RestartPolicy())], {}, now=0.0, restart=False)
    assert reason is not None and reason.startswith("streams exited unexpectedly (code 1)")
    child.stop()


def test_a_live_child_is_left_alone(tmp_path: Path) -> None:
    child = _Child("collector", [sys.executable, "-c", "import time; time.sleep(30)"],
                   tmp_path / "c.log")  # fmt: skip
    child.start({})
    try:
        watch = _Watch(child, RestartPolicy())
        pid = child.proc.pid if child.proc else None
        assert supervise([watch], {}, now=time.monotonic()) is None
        assert watch.restart_at is None and child.proc is not None and child.proc.pid == pid
    finally:
        child.stop(timeout_s=5)


def test_a_dead_child_is_reported_once_with_its_pid(tmp_path: Path) -> None:
    child = _dying(tmp_path)
    assert child.proc is not None
    pid = child.proc.pid
    child.proc.wait(timeout=30)
    exited: list[int] = []
    watch = _Watch(child, RestartPolicy(first_delay_s=1), on_exit=exited.append)
    assert supervise([watch], {}, now=0.0) is None
    assert supervise([watch], {}, now=0.5) is None  # waiting for the restart: not again
    assert exited == [pid]
    child.stop()


def test_collector_workers_share_one_port_and_an_emptied_metrics_folder(tmp_path: Path) -> None:
    folder = tmp_path / "collector-metrics"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"old run")
    settings = Settings(data_dir=tmp_path, collector_workers=3)
    workers = collector_workers(settings, ["py"], tmp_path / "logs", folder)
    assert [w.name for w in workers] == ["collector-1", "collector-2", "collector-3"]
    assert {tuple(w.argv) for w in workers} == {
        ("py", "collector", "--reuse-port", "--metrics-dir", str(folder))
    }
    assert [w.log_path.name for w in workers] == [f"collector-{i}.log" for i in (1, 2, 3)]
    assert list(folder.iterdir()) == []
    assert collector_metrics_dir(settings) == tmp_path.resolve() / "collector-metrics"


def test_collector_workers_default_to_the_number_of_cores() -> None:
    assert Settings().collector_workers == (os.cpu_count() or 1)
