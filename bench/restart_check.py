"""``emc up`` restarts a killed process and loses nothing: the whole stack (``bench.stack``),
``--batches`` NDJSON batches of 50 hits before, while and after the stream worker (or
``--role``) is SIGKILLed; prints the supervisor's lines about it, the new pid and the hits
accepted against the rows stored. Prints, asserts nothing.

    .venv/bin/python -m bench.restart_check [--role streams|collector|warehouse]
"""

from __future__ import annotations

import argparse
import os
import signal
import time

import httpx

from bench.stack import Stack, payload, start_stack

BATCH = 50


def _post(stack: Stack, seq: int) -> int:
    """One batch; the number of hits the collector accepted (0 when it is the one down)."""
    headers = {"Authorization": f"Bearer {stack.token}", "Content-Type": "application/x-ndjson"}
    try:
        response = httpx.post(
            f"{stack.collector_url}/v1/hits",
            content=payload(BATCH, int(time.time() * 1000), seq),
            headers=headers,
            timeout=30,
        )
    except httpx.HTTPError:
        return 0
    return int(response.json()["accepted"]) if response.status_code == 202 else 0


def _stored(stack: Stack) -> int:
    try:
        response = httpx.post(
            f"{stack.api_url}/api/v1/sql",
            json={"sql": "SELECT count() FROM pageviews"},
            headers={"Authorization": f"Bearer {stack.token}"},
            timeout=30,
        )
    except httpx.HTTPError:
        return -1
    return int(response.json()["rows"][0][0]) if response.status_code == 200 else -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=("streams", "collector", "warehouse"), default="streams")
    parser.add_argument("--batches", type=int, default=20, help="batches per phase")
    args = parser.parse_args()
    stack = start_stack()
    if stack is None:
        raise SystemExit(1)
    try:
        stack.register_site()
        accepted = 1  # the probe hit register_site sends
        accepted += sum(_post(stack, 1000 + i) for i in range(args.batches))
        pid = stack.pids()[args.role]
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        print(f"killed {args.role} (pid {pid})")
        for i in range(args.batches):
            accepted += _post(stack, 2000 + i)
            time.sleep(0.2)
        while time.monotonic() - killed < 90:
            if any(f"restarted {args.role}" in line for line in stack.lines):
                break
            time.sleep(0.5)
        for line in stack.lines:
            if args.role in line and ("exited" in line or "restarted" in line):
                print(f"  supervisor: {line}")
        print(f"new {args.role} pid: {stack.pids().get(args.role)}")
        if args.role != "streams":  # the collector may still be starting: wait until it is back
            until = time.monotonic() + 90
            while True:
                try:
                    stack.wait_site_known()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > until:
                        raise
                    time.sleep(1)
            accepted += 1
        accepted += sum(_post(stack, 3000 + i) for i in range(args.batches))
        deadline, stored = time.monotonic() + 180, -1
        while time.monotonic() < deadline:
            stored = _stored(stack)
            if stored >= accepted:
                break
            time.sleep(2)
        time.sleep(5)  # a late duplicate would show now
        stored = _stored(stack)
        verdict = "nothing lost or doubled" if stored == accepted else "MISMATCH"
        print(f"hits accepted {accepted}, rows in pageviews {stored}: {verdict}")
        print(f"supervisor still running: {stack.proc.poll() is None}")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
