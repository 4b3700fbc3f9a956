"""``emc sql``: plain read-only SQL, or a named query (``--query NAME --param k=v``), or the
list of named queries (``--list``). Kept apart from ``emc/cli.py`` so the CLI stays a thin
parser; the result shape is the same for all three (``{"columns", "rows"}``)."""

from __future__ import annotations

import argparse
from typing import Any

from core.errors import UserError
from core.settings import Settings


def parse_params(pairs: list[str]) -> dict[str, str]:
    """``["k=v", …]`` to a dict; ``UserError`` naming a pair without ``=``."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--param {pair!r}: expected NAME=VALUE")
        params[key.strip()] = value.strip()
    return params


def _token(args: argparse.Namespace, settings: Settings) -> str | None:
    """``--token``, else ``EMC_TOKEN``, else None (the client then sends the admin token)."""
    if getattr(args, "token", None):
        return str(args.token)
    return settings.token.get_secret_value() if settings.token else None


def run_sql_command(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """What ``emc sql`` prints, as ``{"columns", "rows"}``."""
    if args.list:
        from clickhouse import named

        rows = [
            [q.name, ", ".join(f"{k} {t}" for k, t in q.params.items())]
            for q in (named.load(n) for n in named.names())
        ]
        return {"columns": ["name", "params"], "rows": rows}
    from emc.warehouse_client import WarehouseClient

    if args.named:
        if args.query:
            raise UserError("give either SQL or --query NAME, not both")
        client = WarehouseClient(settings, token=_token(args, settings))
        return client.named_query(args.named, parse_params(args.param))
    if not args.query:
        raise UserError("give SQL, --query NAME (with --param k=v) or --list")
    if args.param:
        raise UserError("--param needs --query NAME")
    client = WarehouseClient(settings, token=_token(args, settings))
    return client.sql(args.query, max_rows=args.max_rows)
