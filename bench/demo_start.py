"""How long `emc up` (what `make run` starts) takes until the demo's screens show numbers.

Starts the whole stack with its demo on free ports in a throw-away data folder and prints, in
seconds since the start: the stack up, the demo's history posted (its state file says
complete), the history stored (every history hit and dossier event in the warehouse, by
event time before the history's end), and the first moment the API answers non-empty
numbers for each screen the issue names — portal overview with its comparison period, one-stop
overview, DVC overview, quarterly form. Prints ``uptime`` before and after; never asserts.

    .venv/bin/python -m bench.demo_start [--timeout 300]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.stack import free_port

_VN = timedelta(hours=7)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def _get(api: str, token: str, path: str) -> Any:
    try:
        response = httpx.get(
            f"{api}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


def _checks(api: str, token: str) -> dict[str, bool]:
    """Which screens answer non-empty numbers now."""
    today = (datetime.now(tz=UTC) + _VN).date()
    month = f"from={today - timedelta(days=29)}&to={today}"
    out: dict[str, bool] = {}
    portal = _get(
        api,
        token,
        f"/api/v1/portal/overview?site=demo-hanoi&from={today - timedelta(days=44)}&to={today}",
    )
    visits = (portal or {}).get("metrics", {}).get("visits", {})
    out["portal overview, 45 days vs the 45 before"] = bool(visits.get("value")) and bool(
        visits.get("previous")
    )
    onestop = _get(api, token, f"/api/v1/onestop/overview?site=demo-mcdt-hanoi&{month}")
    m = (onestop or {}).get("metrics", {})
    out["one-stop overview"] = (
        bool(m.get("received_total", {}).get("value"))
        and m.get("on_time_rate_pct", {}).get("value") is not None
    )
    dvc = _get(api, token, f"/api/v1/dvc/overview?site=demo-dvc-hanoi&{month}")
    out["DVC overview"] = bool((dvc or {}).get("metrics", {}).get("submissions", {}).get("value"))
    quarter = (today.month - 1) // 3 + 1
    form = _get(
        api,
        token,
        f"/api/v1/reports/quarterly?site=demo-mcdt-hanoi&year={today.year}&quarter={quarter}",
    )
    rows = {r["code"]: r for r in (form or {}).get("rows", [])}
    out["quarterly form"] = rows.get("6.3", {}).get("value") is not None
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before giving up")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="emc-demo-start-"))
    env = dict(os.environ)
    env.update(
        {
            "EMC_DATA_DIR": str(data),
            "EMC_COLLECTOR_PORT": str(free_port()),
            "EMC_API_PORT": str(free_port()),
            "EMC_KAFKA_PORT": str(free_port()),
            "EMC_KAFKA_CONTROLLER_PORT": str(free_port()),
            "EMC_STREAMS_WEB_PORT": str(free_port()),
        }
    )
    api = f"http://127.0.0.1:{env['EMC_API_PORT']}"
    token = env.get("EMC_ADMIN_TOKEN", "dev-admin-token")
    print("before:", uptime(), flush=True)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "emc.cli", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    marks: dict[str, float] = {}

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(f"  {time.monotonic() - started:6.1f} s  {line.rstrip()}", flush=True)
            if "[emc] up:" in line:
                marks.setdefault("stack up", time.monotonic() - started)

    threading.Thread(target=read, daemon=True).start()
    try:
        while time.monotonic() - started < args.timeout and proc.poll() is None:
            time.sleep(2)
            if "stack up" not in marks:
                continue
            now = time.monotonic() - started
            try:
                state = json.loads((data / "demo-history.json").read_text())
            except (OSError, ValueError):
                continue
            if state.get("done"):
                marks.setdefault("history posted", now)
                before = f"toUnixTimestamp64Milli(ts) < {int(state['end_ms'])}"
                sql = (
                    f"SELECT (SELECT count() FROM pageviews WHERE {before})"
                    f" + (SELECT count() FROM bot_hits WHERE {before}) AS hits,"
                    f" (SELECT count() FROM dossier_events WHERE {before}) AS dossiers"
                )
                answer = httpx.post(
                    f"{api}/api/v1/sql",
                    json={"sql": sql},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                ).json()
                hits, dossiers = answer["rows"][0]
                if "history stored" not in marks:
                    print(
                        f"  {now:6.1f} s  stored {hits:,} of {state['hits_total']:,} hits, {dossiers:,} of {state['dossiers_total']:,} dossier events",
                        flush=True,
                    )
                if hits >= state["hits_total"] and dossiers >= state["dossiers_total"]:
                    marks.setdefault("history stored", now)
            for name, ok in _checks(api, token).items():
                if ok:
                    marks.setdefault(f"API: {name}", now)
            if len(marks) >= 7:
                break
    finally:
        print("\nseconds since `emc up` started:")
        for name, at in sorted(marks.items(), key=lambda kv: kv[1]):
            print(f"  {at:6.1f}  {name}")
        print("after:", uptime(), flush=True)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
