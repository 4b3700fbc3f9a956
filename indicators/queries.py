"""The named queries (``clickhouse/queries/*.sql``) run for a token, with its limits and scope.

Parameters arrive as a command line types them (``"a,b"`` for ``Array(String)``,
``YYYY-MM-DD`` for ``Date``) or as JSON values of the right type; ``clickhouse.named`` converts
them. The HTTP route (``api/routes/queries.py``) and ``emc sql --query`` both call ``run_named``.
"""

from __future__ import annotations

from typing import Any

from clickhouse import named
from clickhouse.client import Database
from core.settings import Settings
from indicators import scoped_sql
from indicators.sql import Limits, limits_for, result_json


def run_named(
    db: Database,
    name: str,
    raw: dict[str, Any],
    agency_id: str | None = None,
    limits: Limits | None = None,
    tag: str | None = None,
) -> dict[str, Any]:
    """Run ``name`` with command-line style ``raw`` params; raises ``named.UnknownQuery`` /
    ``named.BadParameters``. ``agency_id`` (an agency token) restricts the rows read to its
    subtree (``indicators.scoped_sql``); ``limits`` default to the token's defaults."""
    query = named.load(name)
    strings = {k: v for k, v in raw.items() if isinstance(v, str)}
    params = {**raw, **named.convert(query, strings)}
    chosen = limits or limits_for(Settings(), agency_id is None)
    result = scoped_sql.run_named(db, agency_id, name, params, chosen, tag)
    answer = result_json(result)
    del answer["types"]
    return answer
