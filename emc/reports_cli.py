"""``emc reports schedule|list|delete|send-now|deliveries|letter`` (issue 18 items 5, 6).

Like every CLI command that touches the warehouse: through its HTTP API when it runs (in
embedded mode the warehouse process owns the chDB folder), else the same API app run in this
process on the database directly (``api.app.create_app`` over an in-memory transport), so both
paths validate, answer and fail alike. ``send-now`` needs ``EMC_SMTP_URL`` in the process that
sends: the warehouse's when it runs, else this one's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from core.errors import UserError
from core.settings import Settings

_TIMEOUT_S = 300.0


def _call(settings: Settings, method: str, path: str, body: Any = None) -> httpx.Response:
    """The warehouse's answer, or the in-process API's when the warehouse is not running."""
    headers = {"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"}
    try:
        with httpx.Client(
            base_url=settings.warehouse_url, headers=headers, timeout=_TIMEOUT_S
        ) as client:
            return client.request(method, path, json=body)
    except httpx.ConnectError:
        pass
    from api.app import create_app
    from emc.warehouse_client import WarehouseClient

    app = create_app(settings, WarehouseClient(settings)._direct())

    async def local() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://local", headers=headers
        ) as client:
            response = await client.request(method, path, json=body)
            await response.aread()
            return response

    return asyncio.run(local())


def _checked(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            message = response.json().get("error", response.text)
        except ValueError:
            message = response.text
        raise UserError(f"warehouse answered {response.status_code}: {message}")
    return response


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _table(rows: list[list[Any]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    lines = [header, *rows]
    return "\n".join(
        "  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def run_reports(args: argparse.Namespace, settings: Settings) -> int:
    action = args.reports_cmd
    if action == "schedule":
        body: dict[str, Any] = {"period": args.period, "recipients": _split(args.to) or []}
        if args.agency:
            body["agency_id"] = args.agency
        if args.site:
            body["site"] = args.site
        for key, value in (("forms", _split(args.forms)), ("timezone", args.timezone),
                           ("id", args.id)):  # fmt: skip
            if value:
                body[key] = value
        made = _checked(_call(settings, "POST", "/api/v1/report-schedules", body)).json()
        print(json.dumps(made, ensure_ascii=False, indent=2))
        return 0
    if action == "list":
        found = _checked(_call(settings, "GET", "/api/v1/report-schedules")).json()
        if args.format == "json":
            print(json.dumps(found, ensure_ascii=False, indent=2))
            return 0
        rows = [[s["id"], s["agency_id"] or f"site:{s['site']}", s["period"],
                 ",".join(s["recipients"]), ",".join(s["forms"]), s["timezone"]]
                for s in found]  # fmt: skip
        print(_table(rows, ["id", "scope", "period", "recipients", "forms", "timezone"]))
        return 0
    if action == "delete":
        _checked(_call(settings, "DELETE", f"/api/v1/report-schedules/{args.schedule}"))
        print(f"deleted {args.schedule}")
        return 0
    if action == "send-now":
        send_body = {"day": args.day} if args.day else {}
        path = f"/api/v1/report-schedules/{args.schedule}/send-now"
        delivery = _checked(_call(settings, "POST", path, send_body)).json()
        print(json.dumps(delivery, ensure_ascii=False, indent=2))
        return 0 if delivery["status"] == "sent" else 1
    if action == "deliveries":
        query = f"?limit={args.limit}" + (f"&schedule={args.schedule}" if args.schedule else "")
        found = _checked(_call(settings, "GET", f"/api/v1/report-deliveries{query}")).json()
        rows = [[d["id"], d["status"], d["attempts"], d["sent_at"] or "",
                 (d["last_error"] or "")[:60]] for d in found]  # fmt: skip
        print(_table(rows, ["id", "status", "attempts", "sent_at", "last_error"]))
        return 0
    if action == "letter":
        response = _checked(
            _call(settings, "GET", f"/api/v1/agencies/{args.agency}/connection-letter.docx")
        )
        name = response.headers["content-disposition"].split('filename="')[1].rstrip('"')
        target = Path(args.output or name)
        target.write_bytes(response.content)
        print(f"wrote {target} ({len(response.content)} bytes)")
        return 0
    raise UserError(f"reports: unknown action {action!r}")


def add_parser(sub: Any) -> None:
    """Register ``emc reports`` on the ``emc`` subparsers."""
    reports = sub.add_parser("reports", help="e-mailed report schedules and connection letters")
    actions = reports.add_subparsers(dest="reports_cmd", required=True, metavar="ACTION")
    schedule = actions.add_parser("schedule", help="create (or replace by --id) a schedule")
    scope = schedule.add_mutually_exclusive_group(required=True)
    scope.add_argument("--agency", help="an agency: every site of its subtree")
    scope.add_argument("--site", help="one site")
    schedule.add_argument("--period", required=True, choices=["weekly", "monthly", "quarterly"])
    schedule.add_argument("--to", required=True, help="addresses, comma-separated")
    schedule.add_argument(
        "--forms",
        help="online-services,resolution,sources[,quarterly] (default resolution,sources)",
    )
    schedule.add_argument("--timezone", help="IANA zone (default: the site's, Asia/Ho_Chi_Minh)")
    schedule.add_argument("--id", help="the schedule's id (default: generated)")
    lst = actions.add_parser("list", help="the schedules")
    lst.add_argument("--format", choices=["table", "json"], default="table")
    delete = actions.add_parser("delete", help="delete a schedule (its log stays)")
    delete.add_argument("schedule")
    now = actions.add_parser("send-now", help="mail one period of a schedule now")
    now.add_argument("schedule")
    now.add_argument("--day", help="a day of the period to send (default: the last closed one)")
    log = actions.add_parser("deliveries", help="the e-mail log: status, attempts, last error")
    log.add_argument("--schedule")
    log.add_argument("--limit", type=int, default=50)
    letter = actions.add_parser(
        "letter", help="draft the 'đôn đốc kết nối' letter (DOCX) of an agency's silent sites"
    )
    letter.add_argument("agency")
    letter.add_argument("-o", "--output", help="file to write (default: the letter's name)")
    reports.set_defaults(handler=run_reports)
