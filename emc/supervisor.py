"""``emc up``: the whole local stack in the foreground, stopped together on Ctrl-C / SIGTERM.

First every port the stack will listen on is checked (``emc.ports``): a taken one ends
``emc up`` with exit code 2 and one line naming the setting to change, before anything starts.
Order: local Kafka (unless ``EMC_KAFKA_BOOTSTRAP`` points elsewhere) → topics → warehouse (owns
the chDB folder: migrations, sink, API) → streams → ``EMC_COLLECTOR_WORKERS`` collector
processes on one port (``collector-1`` …, each ``emc collector --reuse-port --metrics-dir``:
``ingest.server``; their metrics folder is emptied first, and a dead one is marked dead in it)
→ demo sites and traffic. Every process, each collector worker alone, is supervised. A
process that dies is started again after 1, 2, 4 … 30 s (its log tail is printed each time);
one that dies more than ``RestartPolicy.max_crashes`` times within ``window_s`` is a crash loop
and stops everything with exit code 1, as does any death with ``restart=False`` (``emc up
--no-restart``) or the local broker's. Restarting is safe for every process: the stream worker
commits its outputs, state and offsets in one Kafka transaction, the sink replays its last
batch with the same deduplication token, and the collector acknowledges a hit only after Kafka
has it. Shutdown runs in reverse: the producers stop first so the sink can drain and commit
before Kafka goes away.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from core import metrics
from core.errors import UserError
from core.settings import Settings

log = logging.getLogger("emc.up")

_STATUS_SQL = (
    "SELECT (SELECT count() FROM pageviews WHERE type = 'pageview') AS pageviews, "
    "(SELECT sum(visits) FROM visits_hourly) AS visits, "
    "(SELECT count() FROM bot_hits) AS bot_hits, "
    "(SELECT count() FROM dossier_events) AS dossier_events"
)


@dataclass
class _Child:
    name: str
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    _log_file: Any = field(default=None, repr=False)

    def start(self, env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def exit_code(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def restart(self, env: dict[str, str]) -> None:
        """Start the process again (after it exited), appending to the same log."""
        if self._log_file is not None:
            self._log_file.close()
        self.start(env)

    def stop(self, timeout_s: float = 30.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", self.name, timeout_s)
                self.proc.kill()
                self.proc.wait()
        if self._log_file is not None:
            self._log_file.close()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class RestartPolicy:
    """When a process that died is started again: ``first_delay_s`` after its first crash,
    doubling up to ``max_delay_s``; None (give up) once it crashed more than ``max_crashes``
    times within the last ``window_s`` seconds."""

    max_crashes: int = 5
    window_s: float = 300.0
    first_delay_s: float = 1.0
    max_delay_s: float = 30.0
    crashes: list[float] = field(default_factory=list)

    def after_crash(self, now: float) -> float | None:
        """Record a crash at ``now`` (monotonic seconds); the delay before the restart."""
        self.crashes = [t for t in self.crashes if now - t < self.window_s] + [now]
        if len(self.crashes) > self.max_crashes:
            return None
        return float(min(self.first_delay_s * 2 ** (len(self.crashes) - 1), self.max_delay_s))


@dataclass
class _Watch:
    """One child under supervision: its policy and, while it waits, when it starts again;
    ``on_exit(pid)`` is told when it is found dead."""

    child: _Child
    policy: RestartPolicy
    restart_at: float | None = None
    on_exit: Callable[[int], None] | None = None


def supervise(
    watches: list[_Watch], env: dict[str, str], now: float, restart: bool = True
) -> str | None:
    """One supervision step: schedule a restart for each child that died, start those whose
    delay is over. Returns why everything must stop (a message), or None."""
    for watch in watches:
        child = watch.child
        if watch.restart_at is not None:
            if now >= watch.restart_at:
                watch.restart_at = None
                child.restart(env)
                print(f"[emc] restarted {child.name}", flush=True)
            continue
        if child.alive():
            continue
        if watch.on_exit is not None and child.proc is not None:
            watch.on_exit(child.proc.pid)
        code = child.exit_code
        if not restart:
            return f"{child.name} exited unexpectedly (code {code}):\n{child.tail()}"
        delay = watch.policy.after_crash(now)
        if delay is None:
            policy = watch.policy
            return (
                f"{child.name} exited {len(policy.crashes)} times within "
                f"{policy.window_s:.0f} s (last code {code}): giving up:\n{child.tail()}"
            )
        watch.restart_at = now + delay
        print(
            f"[emc] {child.name} exited (code {code}); restarting in {delay:g} s:\n{child.tail()}",
            flush=True,
        )
    return None


class _Stop:
    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True


def _wait_http(url: str, timeout_s: float, children: list[_Child], stop: _Stop) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not stop.requested:
        for child in children:
            if not child.alive():
                raise UserError(f"{child.name} exited while starting:\n{child.tail()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    if not stop.requested:
        raise UserError(f"{url} not ready after {timeout_s:.0f} s")


def _print_status(settings: Settings) -> None:
    from emc.warehouse_client import WarehouseClient

    try:
        result = WarehouseClient(settings, timeout_s=10).sql(_STATUS_SQL)
    except Exception as exc:
        log.info("status query failed: %s", exc)
        return
    row = dict(zip(result["columns"], result["rows"][0], strict=True)) if result["rows"] else {}
    print(
        "[emc] stored so far: "
        + ", ".join(f"{k}={v if v is not None else 0}" for k, v in row.items()),
        flush=True,
    )


def _print_demo_history(settings: Settings) -> bool:
    """Print the demo history's progress (from its state file); True once it is complete."""
    from emc.demo_setup import STATE_FILE, load_state

    state = load_state(settings.data_dir / STATE_FILE)
    if state is not None:
        print(f"[emc] {state.progress()}", flush=True)
    return state is not None and state.done


def run_stack(
    settings: Settings, demo: bool = True, status_every_s: float = 15.0, restart: bool = True
) -> int:
    """Run everything until a signal, a crash loop (or any crash without ``restart``); returns
    the process exit code: 2, with one line per port, when a port the stack needs is taken
    (checked before anything starts)."""
    from emc.ports import port_problems, stack_listeners

    problems = port_problems(stack_listeners(settings))
    if problems:
        for line in problems:
            print(f"[emc] {line}", file=sys.stderr, flush=True)
        return 2
    stop = _Stop()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.visitor_secret()  # create the secret once, before the children read it
    logs = settings.data_dir.resolve() / "logs"
    env = dict(os.environ)
    env["EMC_DATA_DIR"] = str(settings.data_dir.resolve())
    py = [sys.executable, "-m", "emc.cli"]
    kafka = None
    metrics_dir = collector_metrics_dir(settings)
    children = [
        _Child("warehouse", [*py, "warehouse"], logs / "warehouse.log"),
        *stream_workers(settings, py, logs),
        *collector_workers(settings, py, logs, metrics_dir),
    ]
    demo_child = _Child("demo", [*py, "demo", "--no-register"], logs / "demo.log")
    started: list[_Child] = []
    code = 0
    try:
        from emc.geoip_fetch import ensure_geoip

        if settings.geoip_db is None:
            ensure_geoip(settings.cache_dir)
        if settings.uses_local_kafka:
            kafka = _start_local_kafka(settings)
        from broker.topics import ensure_project_topics

        asyncio.run(ensure_project_topics(settings))
        for child in children:
            child.start(env)
            started.append(child)
            print(f"[emc] started {child.name} (log: {child.log_path})", flush=True)
            if child.name == "warehouse":
                _wait_http(f"{settings.warehouse_url}/readyz", 180, started, stop)
        collector_url = settings.collector_url
        _wait_http(f"{collector_url}/healthz", 60, started, stop)
        if demo and not stop.requested:
            from emc.demo_run import register_demo

            register_demo(settings)
            demo_child.start(env)
            started.append(demo_child)
            print(f"[emc] demo traffic at {settings.demo_rate:g} pageviews/s", flush=True)
        print(
            f"[emc] up: collector {collector_url}, warehouse {settings.warehouse_url}, "
            f'Kafka {settings.bootstrap_servers}. Try: .venv/bin/emc sql "SELECT site, '
            'sum(visits) FROM visits_hourly GROUP BY site". Ctrl-C stops everything.',
            flush=True,
        )
        next_status = time.monotonic() + status_every_s
        history_shown = False

        def collector_exited(pid: int) -> None:
            metrics.mark_process_dead(pid, metrics_dir)

        watches = [
            _Watch(
                child,
                RestartPolicy(),
                on_exit=collector_exited if child.name.startswith("collector-") else None,
            )
            for child in started
        ]
        while not stop.requested:
            reason = supervise(watches, env, time.monotonic(), restart)
            if reason is not None:
                print(f"[emc] {reason}", flush=True)
                code = 1
                stop.requested = True
            if kafka is not None and not kafka.is_running():
                print("[emc] a local Kafka broker exited unexpectedly", flush=True)
                code = 1
                stop.requested = True
            if time.monotonic() >= next_status and not stop.requested:
                _print_status(settings)
                if demo and not history_shown:
                    history_shown = _print_demo_history(settings)
                next_status = time.monotonic() + status_every_s
            time.sleep(0.5)
    except (UserError, TimeoutError) as exc:
        print(f"[emc] {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        print("[emc] stopping …", flush=True)
        for child in reversed(started):
            child.stop()
            print(f"[emc] stopped {child.name}", flush=True)
        if kafka is not None:
            kafka.stop()
            print("[emc] stopped kafka", flush=True)
    return code


def collector_metrics_dir(settings: Settings) -> Path:
    """Where the collector workers of ``emc up`` share their metrics."""
    return settings.data_dir.resolve() / "collector-metrics"


def collector_workers(
    settings: Settings, py: list[str], logs: Path, metrics_dir: Path
) -> list[_Child]:
    """The ``EMC_COLLECTOR_WORKERS`` collector processes, all on ``EMC_COLLECTOR_PORT``; their
    metrics folder is emptied here (counts of an earlier run must not be added)."""
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    argv = [*py, "collector", "--reuse-port", "--metrics-dir", str(metrics_dir)]
    return [
        _Child(f"collector-{i}", argv, logs / f"collector-{i}.log")
        for i in range(1, settings.collector_workers + 1)
    ]


def stream_workers(settings: Settings, py: list[str], logs: Path) -> list[_Child]:
    """The ``EMC_STREAMS_WORKERS`` stream worker processes (one consumer group): ``streams``
    when there is one (as before), else ``streams-1`` … each ``emc streams --worker N``."""
    count = settings.streams_workers
    if count == 1:
        return [_Child("streams", [*py, "streams"], logs / "streams.log")]
    return [
        _Child(f"streams-{n}", [*py, "streams", "--worker", str(n)], logs / f"streams-{n}.log")
        for n in range(1, count + 1)
    ]


def _start_local_kafka(settings: Settings) -> Any:
    from emc.kafka_local import LocalKafkaCluster, ensure_jars

    kafka = LocalKafkaCluster(
        libs_dir=ensure_jars(settings.cache_dir),
        data_dir=settings.kafka_dir,
        port=settings.kafka_port,
        controller_port=settings.kafka_controller_port,
        nodes=settings.kafka_nodes,
        heap=settings.kafka_heap,
        java_bin=settings.java_bin,
    )
    nodes = settings.kafka_nodes
    print(
        f"[emc] starting Kafka ({nodes} node{'s' if nodes > 1 else ''}) on {kafka.bootstrap} …",
        flush=True,
    )
    kafka.start(timeout_s=120 + 30 * (nodes - 1))
    return kafka


def run_local_kafka_foreground(settings: Settings) -> int:
    """``emc kafka``: the local broker(s) alone (``EMC_KAFKA_NODES``), until Ctrl-C."""
    if not settings.uses_local_kafka:
        raise UserError("EMC_KAFKA_BOOTSTRAP is set: the external broker is used, nothing to start")
    stop = _Stop()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    kafka = _start_local_kafka(settings)
    try:
        from broker.topics import ensure_project_topics

        asyncio.run(ensure_project_topics(settings))
        print(f"[emc] Kafka ready on {kafka.bootstrap}; Ctrl-C stops it", flush=True)
        while not stop.requested and kafka.is_running():
            time.sleep(0.5)
    finally:
        kafka.stop()
    return 0
