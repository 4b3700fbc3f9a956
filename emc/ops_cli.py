"""Operator subcommands: ``emc lag``, ``emc status``, ``emc deadletters``.

Kept apart from ``emc/cli.py`` (which only registers them) so each command is a small function
over ``broker.lag`` / ``broker.deadletters``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Mapping
from typing import Any

import httpx

from core.errors import UserError
from core.settings import Settings


def add_parsers(sub: Any) -> None:
    """Register ``lag``, ``status`` and ``deadletters`` on the ``emc`` subparsers."""
    lag = sub.add_parser("lag", help="consumer lag per group, topic and partition")
    lag.add_argument("--format", choices=["table", "json"], default="table")
    lag.add_argument("--watch", action="store_true", help="refresh until Ctrl-C")
    lag.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes")
    lag.set_defaults(handler=cmd_lag)

    status = sub.add_parser("status", help="health of every process, lag and dead letters")
    status.add_argument("--format", choices=["table", "json"], default="table")
    status.set_defaults(handler=cmd_status)

    dl = sub.add_parser("deadletters", help="list, show, replay or drop dead letters")
    dl_sub = dl.add_subparsers(dest="dl_cmd", required=True, metavar="ACTION")
    lst = dl_sub.add_parser("list", help="pending dead letters (after the cursor)")
    lst.add_argument("--all", action="store_true", help="every retained letter, not only pending")
    lst.add_argument("--limit", type=int, default=100)
    lst.add_argument("--format", choices=["table", "json"], default="table")
    show = dl_sub.add_parser("show", help="one dead letter in full")
    show.add_argument("offset", type=int)
    show.add_argument("--partition", type=int, default=0)
    replay = dl_sub.add_parser("replay", help="send pending letters back to their source topic")
    replay.add_argument("--offset", type=int, action="append", default=[], help="(repeatable)")
    replay.add_argument("--reason", help="only letters with this reason")
    replay.add_argument("--stage", help="only letters from this stage")
    drop = dl_sub.add_parser("drop", help="mark pending letters handled (moves the cursor)")
    drop.add_argument("--offset", type=int, action="append", default=[], help="(repeatable)")
    drop.add_argument("--reason", help="only letters with this reason")
    drop.add_argument("--stage", help="only letters from this stage")
    drop.add_argument("--to", type=int, help="set the cursor of partition 0 to this offset")
    dl.set_defaults(handler=cmd_deadletters)


# ------------------------------------------------------------------ lag
def cmd_lag(args: argparse.Namespace, settings: Settings) -> int:
    from broker.lag import as_json, format_table, measure, stack_groups

    while True:
        rows = asyncio.run(measure(settings.bootstrap_servers, stack_groups(settings)))
        if args.format == "json":
            print(json.dumps(as_json(rows)), flush=True)
        else:
            if args.watch:
                print("\033[2J\033[H", end="")
                print(time.strftime("%Y-%m-%d %H:%M:%S"))
            print(format_table(rows), flush=True)
        if not args.watch:
            return 0
        time.sleep(args.interval)


# ------------------------------------------------------------------ status
def _probe(url: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    try:
        response = httpx.get(url, headers=headers, timeout=3)
    except httpx.HTTPError as exc:
        return {"url": url, "ok": False, "detail": f"unreachable ({type(exc).__name__})"}
    return {"url": url, "ok": response.status_code == 200, "detail": str(response.status_code)}


def stack_status(settings: Settings) -> dict[str, Any]:
    """Health of each process, lag per group, pending dead letters (JSON-ready)."""
    from broker.lag import measure, stack_groups, total_lag
    from core.metrics_auth import probe_headers

    collector = settings.collector_url
    streams = f"http://127.0.0.1:{settings.streams_web_port}"
    processes = {
        "collector": _probe(f"{collector}/readyz"),
        "streams": _probe(f"{streams}/metrics", probe_headers(settings)),
        "warehouse": _probe(f"{settings.warehouse_url}/readyz"),
    }
    out: dict[str, Any] = {"processes": processes}
    try:
        rows = asyncio.run(
            asyncio.wait_for(measure(settings.bootstrap_servers, stack_groups(settings)), 20)
        )
    except Exception as exc:
        out["kafka"] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
        return out
    out["kafka"] = {"ok": True, "detail": settings.bootstrap_servers}
    out["lag"] = {
        group: {
            "messages": total_lag(rows, group),
            "oldest_s": max((r.lag_s for r in rows if r.group == group), default=0.0),
        }
        for group in stack_groups(settings)
    }
    return out


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    status = stack_status(settings)
    healthy = all(p["ok"] for p in status["processes"].values()) and status["kafka"]["ok"]
    if args.format == "json":
        print(json.dumps({"healthy": healthy, **status}))
        return 0 if healthy else 1
    for name, probe in status["processes"].items():
        mark = "ok  " if probe["ok"] else "DOWN"
        print(f"{mark}  {name:<10} {probe['url']} ({probe['detail']})")
    print(
        f"{'ok  ' if status['kafka']['ok'] else 'DOWN'}  {'kafka':<10} {status['kafka']['detail']}"
    )
    for group, lag in status.get("lag", {}).items():
        what = "pending dead letters" if group.endswith("-deadletters-cli") else "lag"
        print(f"      {group:<28} {what}: {lag['messages']} (oldest {lag['oldest_s']:.1f} s)")
    return 0 if healthy else 1


# ------------------------------------------------------------------ dead letters
def cmd_deadletters(args: argparse.Namespace, settings: Settings) -> int:
    from broker.deadletters import DeadLetterAdmin, cursor_after, select

    admin = DeadLetterAdmin(
        settings.bootstrap_servers,
        settings.topics.deadletters,
        f"{settings.consumer_group_prefix}-deadletters-cli",
    )
    if args.dl_cmd == "list":
        letters = asyncio.run(admin.read(pending_only=not args.all, limit=args.limit))
        summaries = [s.summary() for s in letters]
        if args.format == "json":
            print(json.dumps(summaries, ensure_ascii=False))
            return 0
        from emc.cli import format_table

        columns = ["offset", "stage", "reason", "source_topic", "source", "detail"]
        rows = [[str(s.get(c, ""))[:80] for c in columns] for s in summaries]
        print(format_table(columns, rows))
        return 0
    if args.dl_cmd == "show":
        stored = asyncio.run(admin.find(args.offset, args.partition))
        if stored.letter is None:
            print(stored.raw.decode("utf-8", errors="replace"))
        else:
            print(json.dumps(stored.letter.model_dump(), ensure_ascii=False, indent=2))
        return 0
    if args.dl_cmd == "drop" and args.to is not None:
        if args.to < 0:
            raise UserError("--to: must be an offset ≥ 0")
        asyncio.run(admin.move_cursor({0: args.to}))
        print(f"cursor of {admin.group} set to {args.to}")
        return 0
    pending = asyncio.run(admin.read(pending_only=True))
    chosen = select(pending, reason=args.reason, stage=args.stage, offsets=args.offset)
    if not chosen:
        print("no pending dead letter matches", file=sys.stderr)
        return 0
    if args.dl_cmd == "replay":
        sent = asyncio.run(admin.replay(chosen))
        print(f"replayed {sent} dead letter(s) to their source topics")
    positions = cursor_after(pending, chosen, admin.read_ends)
    asyncio.run(admin.move_cursor(positions))
    passed = sum(1 for s in pending if s.offset < positions.get(s.partition, 0))
    behind = sum(1 for s in chosen if s.offset >= positions.get(s.partition, 0))
    print(
        f"cursor moved past {passed} letter(s); {len(pending) - passed} still pending"
        + (f" ({behind} matched but sit behind an earlier pending letter)" if behind else "")
    )
    return 0
