"""Named queries: the SQL behind the indicator endpoints, as files analysts can read and run.

Why files: the numbers a ministry is ranked on must be checkable, so the exact SQL of each
endpoint piece lives in ``clickhouse/queries/NAME.sql`` with a header comment saying which
tables it reads (rollup or raw) and why. The API runs the same files; ``emc sql --query NAME
--param k=v`` runs one by hand.

Parameters use ClickHouse's own syntax ``{name:Type}`` and are bound by clickhouse-connect (never
pasted into the SQL by us). ``convert`` turns command-line strings into Python values of the
declared types (``Array(String)`` from ``a,b,c``, ``Date`` from ``YYYY-MM-DD``, integers).

A header line ``Optional: a, b`` makes those parameters optional (array parameters only): left
out, they are bound as the empty array, which the query reads as "not given". That lets an
endpoint's extra knob (the per-site cut ``ends`` of issue 16) live in the one query analysts
already call, without changing how they call it.

A body line ``-- include: NAME`` is replaced by the fragment ``clickhouse/queries/fragments/
NAME.sql`` (its leading comment lines dropped, each line indented like the include line;
fragments may include fragments). Why: every ``*_filtered`` query applies the same filter
conditions to the ``sessions`` columns, twice or three times; one fragment keeps them from
drifting apart when a dimension is added (issue 17 item 2 added four). The loaded query is the
expanded text, so its parameters are found in it and the header check still applies: every
parameter a fragment brings must be named in the including file's header.

Lines between ``-- when: P1 P2 …`` and ``-- end when`` are sent only when one of the
parameters P1, P2 … is set (not 0, not empty) in the request; the block must be a condition
that holds for every row when none is (``AND ({f_device_on:UInt8} = 0 OR device IN …)``).
Why: the filtered queries carry the conditions of all fifteen filter dimensions, and ClickHouse
folds the unused ones away only after parsing and analysing them: ~50 ms of a filtered
overview went to a 15 KB statement of which a request with two filters uses a tenth (issue 17
item 1, the 300 ms target). Cut out, they cost nothing; the numbers are the same either way
(``tests/unit/clickhouse/test_named_queries.py`` checks that a block cut out is such a
condition, the filter known-answer tests run the cut statements).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from clickhouse.client import Database

QUERIES_DIR = Path(__file__).resolve().parent / "queries"
FRAGMENTS_DIR = QUERIES_DIR / "fragments"
_INCLUDE = re.compile(r"^(?P<indent>\s*)-- include: (?P<name>[a-z0-9_]+)\s*$")
_MAX_INCLUDE_DEPTH = 4
_NAME = re.compile(r"^[a-z0-9_]+$")
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}")
_WHEN = re.compile(r"^\s*-- when:(?P<params>(?:\s+[A-Za-z_][A-Za-z0-9_]*)+)\s*$")
_END_WHEN = re.compile(r"^\s*-- end when\s*$")
_OPTIONAL = re.compile(r"^Optional:\s*([A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*)")


class UnknownQuery(LookupError):
    """No ``clickhouse/queries/NAME.sql``."""


class BadParameters(ValueError):
    """Missing, unexpected or unparsable parameters; the message names them."""


@dataclass(frozen=True, slots=True)
class NamedQuery:
    name: str
    sql: str
    #: The header comment without the ``--`` markers.
    description: str
    #: Declared parameters and their ClickHouse types, in order of first use.
    params: dict[str, str]
    #: Parameters that may be left out (bound as the empty array); see the module docstring.
    optional: frozenset[str] = frozenset()
    #: The text has ``-- when:`` blocks (``prune`` cuts them per request).
    conditional: bool = False


def names() -> list[str]:
    """Every named query, sorted."""
    return sorted(p.stem for p in QUERIES_DIR.glob("*.sql"))


@cache
def load(name: str) -> NamedQuery:
    """The query ``name``; ``UnknownQuery`` listing the known names otherwise."""
    path = QUERIES_DIR / f"{name}.sql"
    if not _NAME.match(name) or not path.is_file():
        raise UnknownQuery(f"no named query {name!r}; known: {', '.join(names())}")
    sql = expand(path.read_text(), f"{name}.sql")
    header = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        header.append(line[2:].strip())
    params: dict[str, str] = {}
    for param, kind in _PARAM.findall(sql):
        params.setdefault(param, kind.strip())
    optional: set[str] = set()
    for line in header:
        found = _OPTIONAL.match(line)
        if found:
            optional.update(p.strip() for p in found.group(1).split(","))
    for param in optional:
        if not params.get(param, "").startswith("Array("):
            raise ValueError(f"{name}.sql: optional parameter {param} must be a declared Array")
    conditional = _check_when_blocks(sql, params, f"{name}.sql")
    return NamedQuery(name, sql, "\n".join(header), params, frozenset(optional), conditional)


def _check_when_blocks(sql: str, params: Mapping[str, str], where: str) -> bool:
    """True when ``sql`` has ``-- when:`` blocks; ``ValueError`` naming ``where`` for an
    unbalanced block or one naming an undeclared parameter."""
    depth = 0
    found = False
    for number, line in enumerate(sql.splitlines(), 1):
        when = _WHEN.match(line)
        if when:
            unknown = [p for p in when.group("params").split() if p not in params]
            if unknown:
                names_ = ", ".join(unknown)
                raise ValueError(f"{where}:{number}: -- when: names undeclared {names_}")
            depth += 1
            found = True
        elif _END_WHEN.match(line):
            depth -= 1
            if depth < 0:
                raise ValueError(f"{where}:{number}: -- end when without -- when:")
    if depth:
        raise ValueError(f"{where}: {depth} -- when: block(s) not closed by -- end when")
    return found


def _is_set(value: Any) -> bool:
    return value not in (None, 0, "", False) and not (
        isinstance(value, (list, tuple, set, frozenset)) and not value
    )


def prune(sql: str, params: Mapping[str, Any]) -> str:
    """``sql`` without its ``-- when: P …`` blocks whose parameters are all unset in
    ``params`` (0, empty, absent; nested blocks go with theirs), and without the markers."""
    out: list[str] = []
    keep: list[bool] = []
    for line in sql.splitlines():
        when = _WHEN.match(line)
        if when:
            active = any(_is_set(params.get(p)) for p in when.group("params").split())
            keep.append(active and (not keep or keep[-1]))
        elif _END_WHEN.match(line):
            keep.pop()
        elif not keep or keep[-1]:
            out.append(line)
    return "\n".join(out) + ("\n" if sql.endswith("\n") else "")


def expand(sql: str, where: str, depth: int = 0) -> str:
    """``sql`` with every ``-- include: NAME`` line replaced by its fragment (see the module
    docstring); ``ValueError`` naming ``where`` for an unknown fragment or a cycle."""
    if depth > _MAX_INCLUDE_DEPTH:
        raise ValueError(f"{where}: fragments nested deeper than {_MAX_INCLUDE_DEPTH} (a cycle?)")
    out: list[str] = []
    for line in sql.splitlines():
        found = _INCLUDE.match(line)
        if found is None:
            out.append(line)
            continue
        fragment = FRAGMENTS_DIR / f"{found.group('name')}.sql"
        if not fragment.is_file():
            raise ValueError(f"{where}: no fragment {found.group('name')!r} in {FRAGMENTS_DIR}")
        body = fragment.read_text().splitlines()
        while body and body[0].startswith("--"):
            body.pop(0)
        text = expand("\n".join(body), f"fragments/{fragment.name}", depth + 1)
        out.extend(found.group("indent") + part if part else part for part in text.splitlines())
    return "\n".join(out) + ("\n" if sql.endswith("\n") else "")


def _convert_one(name: str, kind: str, text: str) -> Any:
    try:
        if kind.startswith("Array("):
            inner = kind[len("Array(") : -1]
            return [_convert_one(name, inner, part.strip()) for part in text.split(",") if part]
        if kind == "Date":
            return date.fromisoformat(text)
        if re.fullmatch(r"U?Int\d+", kind):
            return int(text)
        if kind.startswith("Float"):
            return float(text)
    except ValueError as exc:
        raise BadParameters(f"{name}: {text!r} is not a {kind} ({exc})") from exc
    return text


def convert(query: NamedQuery, raw: Mapping[str, str]) -> dict[str, Any]:
    """Command-line strings to values of the declared types (unknown names are left to
    ``run`` to refuse)."""
    return {
        key: _convert_one(key, query.params[key], value) if key in query.params else value
        for key, value in raw.items()
    }


def check_params(name: str, params: Mapping[str, Any]) -> NamedQuery:
    """The named query when ``params`` holds every declared parameter (optional ones may be
    left out) and nothing else; else
    ``BadParameters`` naming what is missing or unexpected."""
    query = load(name)
    missing = [p for p in query.params if p not in params and p not in query.optional]
    extra = [p for p in params if p not in query.params]
    if missing or extra:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(f"{p} ({query.params[p]})" for p in missing))
        if extra:
            parts.append("unexpected " + ", ".join(extra))
        raise BadParameters(f"{name}: {'; '.join(parts)}")
    return query


def bind(name: str, params: Mapping[str, Any]) -> tuple[NamedQuery, dict[str, Any]]:
    """``check_params``, then the parameters to bind: ``params`` with every optional parameter
    left out bound as the empty array."""
    query = check_params(name, params)
    return query, {**{p: [] for p in query.optional}, **params}


def statement(query: NamedQuery, bound: Mapping[str, Any]) -> str:
    """The text to send for ``query`` with the ``bound`` parameters: ``prune``d."""
    return prune(query.sql, bound) if query.conditional else query.sql


def run(
    db: Database,
    name: str,
    params: Mapping[str, Any],
    settings: Mapping[str, Any] | None = None,
) -> Any:
    """Run the named query with ``params`` (every declared parameter but the optional ones,
    nothing else) and optional
    ClickHouse ``settings``; returns the clickhouse-connect ``QueryResult``."""
    query, bound = bind(name, params)
    return db.query(
        statement(query, bound), parameters=bound, settings=dict(settings or {}) or None
    )


def rows(db: Database, name: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The result of ``run`` as dicts by column name."""
    result = run(db, name, params)
    columns = list(result.column_names)
    return [dict(zip(columns, row, strict=True)) for row in result.result_rows]
