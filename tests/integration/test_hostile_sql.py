"""Hostile SQL against ``POST /api/v1/sql``: the corpus of issue 12, for an agency token and the
admin token, on the real engine.

What it proves. Every statement of ``hostile_sql.jsonl`` is sent once with the token of the
province ``p-hn`` (the world of ``test_agency_access``: sites ``hn`` and ``hcm``, the portal
visit list, plus ingest tokens, dossier events and a ``DATA_DIR/secret_key`` file) and once with
the admin token. Expected outcomes, per token:

- ``refused``: 400 or 403 with an ``"error"`` string and no ``"rows"``;
- ``restricted`` (agency only): 200, and where ``"count"`` is set the single value equals the
  number computed here from the fixture (the visit list, or the admin's own query with an
  explicit ``WHERE site IN (...)``);
- ``ok`` (admin only): 200; ``any``: nothing but "answers, and not with a 5xx".

Whatever the outcome, an agency answer (rows or error message) holds none of the markers
gathered from the database with the admin's ``Database`` (not through the API): every site's
ingest token, every API token hash, the admin and agency tokens, host files the probe of issue
12 read (a line of ``/etc/passwd``, the process environment, the secret key) and the other
province's data (site and agency ids and names, visitors, paths, session ids and dossier codes
found only outside ``hn``). An admin answer holds no host-file marker. A marker that the
statement itself spells is not looked for in that statement's answer (an error may echo the
statement), and a ``restricted`` statement may not spell any marker at all (checked below).
Every request answers within a timeout; a statement that writes a file (``{tmp}``) fails, and
so does one that leaves the shared engine session unusable.

Adding a statement: append one JSON line to ``hostile_sql.jsonl``::

    {"id": "kind-NN", "kind": "...", "sql": "...", "agency": "refused|restricted",
     "admin": "refused|ok|any", "why": "what it tries"}

optionally with ``"count": "<one of COUNTS>"`` (restricted statements whose only value is a
known number) and ``"isolate": true`` (a statement that may break the engine session; it runs in
a process of its own, ``hostile_sql_child``). Placeholders: ``{db}`` (the test database),
``{data_dir}`` (holds ``secret_key``), ``{tmp}`` (an empty folder nothing may write to) and
``{repeat N|text}`` (``text`` N times, for long and deep statements). The id must be new, the
kind one of ``KINDS`` (add a kind there when a new technique needs one), and the statement
unique.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from clickhouse import registry
from clickhouse.client import Database
from core.settings import Settings
from tests.integration.test_agency_access import ADMIN, agency_world
from tests.integration.test_portal_api import BOTS, TOKEN, VISITS, P

pytestmark = [pytest.mark.integration]  # async tests run on the session loop (pyproject)

CORPUS_PATH = Path(__file__).with_name("hostile_sql.jsonl")
#: Seconds a request may take (the API's own ceiling is 30 s).
REQUEST_TIMEOUT_S = 60.0
#: The province whose token is used, its sites and its subtree.
OWN_AGENCY = "p-hn"
OWN_SITES = frozenset({"hn"})
OWN_AGENCIES = frozenset({"p-hn"})
#: Dossier events added to the portal world (site, dossier code).
DOSSIERS = [("hn", "HN-0001"), ("hn", "HN-0002"), ("hcm", "HCM-0001"), ("hcm", "HCM-0002")]
#: The techniques the corpus must cover (``kind`` of each entry).
KINDS = frozenset(
    {
        "plain_select", "tautology", "scalar_subquery", "correlated_subquery",
        "with_expression", "cte", "in_table", "join", "set_operation", "lambda",
        "array_function", "array_join", "table_function", "file_function",
        "dictionary_function", "join_get", "schema_probe", "environment_function", "sleep",
        "introspection", "qualified_name", "system_table", "quoted_identifier", "case_trick",
        "comment_trick", "string_trick", "unicode", "settings_clause", "format_clause",
        "into_outfile", "multi_statement", "non_select", "explain", "show_describe",
        "long_statement", "deep_nesting", "error_message", "session_poisoning",
    }
)  # fmt: skip
#: The statements of issue 12, verbatim (``emc`` is ``{db}`` here).
ISSUE_12 = frozenset(
    {
        "SELECT file('/proc/self/environ')",
        "SELECT file('/etc/passwd')",
        "SELECT file('{data_dir}/secret_key')",
        "SELECT (SELECT groupArray(tuple(id, ingest_token, agency_id)) FROM sites FINAL)",
        "SELECT (SELECT groupArray(tuple(site, c)) FROM (SELECT site, count() c FROM "
        "merge('{db}', '^pageviews$') GROUP BY site))",
        "SELECT (SELECT groupArray(tuple(*)) FROM api_tokens)",
        "SELECT (SELECT groupArray(name) FROM system.tables WHERE database = '{db}')",
        "SELECT file('/etc/hostname')",
    }
)
HAS_ENVIRON = Path("/proc/self/environ").exists()
_REPEAT = re.compile(r"\{repeat (\d+)\|([^}]*)\}")
_FIELDS = {"id", "kind", "sql", "agency", "admin", "why", "count", "reproducer", "isolate"}


def load_corpus(path: Path = CORPUS_PATH) -> list[dict[str, Any]]:
    """The entries of the corpus, in file order (blank lines skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


CORPUS = load_corpus()


def _own_hits() -> list[Any]:
    return [hit for v in VISITS if v.site in OWN_SITES for hit in v.hits]


#: Expected single values of ``"count"`` statements: from the fixture's lists, or (a string) the
#: admin's query with an explicit site list, run on the database directly.
COUNTS: dict[str, int | str] = {
    "own_hits": len(_own_hits()),
    "own_pageviews": sum(1 for _, kind, _ in _own_hits() if kind is P),
    "own_visitors": len({v.visitor for v in VISITS if v.site in OWN_SITES}),
    "own_visits": sum(1 for v in VISITS if v.site in OWN_SITES),
    "own_bot_hits": sum(1 for site, _, _ in BOTS if site in OWN_SITES),
    "own_sites": len(OWN_SITES),
    "own_agencies": len(OWN_AGENCIES),
    "own_dossiers": sum(1 for site, _ in DOSSIERS if site in OWN_SITES),
    "own_rollup_pageviews": "SELECT sum(pageviews) FROM hits_hourly WHERE site IN {sites}",
    "own_rollup_visits": "SELECT sum(visits) FROM visits_hourly WHERE site IN {sites}",
    "zero": 0,
}
#: The same numbers as the admin reads them with an explicit site list (cross-check of COUNTS).
ADMIN_COUNTS = {
    "own_hits": "SELECT count() FROM pageviews WHERE site IN {sites}",
    "own_pageviews": "SELECT countIf(type = 'pageview') FROM pageviews WHERE site IN {sites}",
    "own_visitors": "SELECT uniqExact(visitor_id) FROM pageviews WHERE site IN {sites}",
    "own_visits": "SELECT sum(sign) FROM sessions WHERE site IN {sites}",
    "own_bot_hits": "SELECT count() FROM bot_hits WHERE site IN {sites}",
    "own_sites": "SELECT uniqExact(site) FROM pageviews WHERE site IN {sites}",
    "own_agencies": "SELECT count() FROM agencies FINAL WHERE id IN {agencies}",
    "own_dossiers": "SELECT count() FROM dossier_events WHERE site IN {sites}",
}


def _sql_list(values: frozenset[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in sorted(values)) + ")"


def admin_value(db: Database, sql: str) -> int:
    query = sql.format(sites=_sql_list(OWN_SITES), agencies=_sql_list(OWN_AGENCIES))
    return int(db.query(query).result_rows[0][0])


# --- the world -----------------------------------------------------------------------------


def _host_markers(data_dir: Path) -> dict[str, str]:
    """Contents of the host files the probe of issue 12 read, as markers."""
    markers: dict[str, str] = {}
    passwd = Path("/etc/passwd")
    if passwd.exists():
        for line in passwd.read_text(errors="replace").splitlines():
            if line.startswith("root:"):
                markers[":".join(line.split(":")[:4])] = "/etc/passwd"  # root:x:0:0
    environ = Path("/proc/self/environ")
    if environ.exists():
        for entry in environ.read_bytes().split(b"\0"):
            text = entry.decode("utf-8", errors="replace")
            if "=" in text and len(text) >= 12:
                markers[text] = "/proc/self/environ"
    markers[(data_dir / "secret_key").read_text().strip()] = "DATA_DIR/secret_key"
    return markers


def _quoted(value: str) -> list[str]:
    """A short value as it shows in a JSON body or an error message."""
    return [f'"{value}"', f"'{value}'"]


def gather_markers(db: Database, raw_tokens: list[str], data_dir: Path) -> dict[str, str]:
    """Every text an agency answer must never hold, read from the database by the admin's
    ``Database`` (marker -> where it comes from)."""
    markers = _host_markers(data_dir)
    for (value,) in db.query("SELECT ingest_token FROM sites").result_rows:
        if value:
            markers[str(value)] = "sites.ingest_token"
    for (value,) in db.query("SELECT token_hash FROM api_tokens").result_rows:
        markers[str(value)] = "api_tokens.token_hash"
    markers[TOKEN] = "the admin token"
    for token in raw_tokens:
        markers[token] = "an agency token"
    # the other province (and the site without an agency): ids and names of sites and agencies
    others = db.query(
        "SELECT id, name FROM sites FINAL WHERE id NOT IN {own:Array(String)}",
        parameters={"own": sorted(OWN_SITES)},
    ).result_rows
    for site, name in others:
        markers[str(site)] = "another site's id"
        for text in _quoted(str(name)):
            markers[text] = "another site's name"
    # agencies outside the subtree: their names, and their ids except the parent ids that the
    # own agency rows show (``parent_id`` of p-hn is ``region``, a column name elsewhere too)
    parents = db.query(
        "SELECT parent_id FROM agencies FINAL WHERE id IN {own:Array(String)}",
        parameters={"own": sorted(OWN_AGENCIES)},
    ).result_rows
    visible = {str(parent) for (parent,) in parents}
    agencies = db.query(
        "SELECT id, name FROM agencies FINAL WHERE id NOT IN {own:Array(String)}",
        parameters={"own": sorted(OWN_AGENCIES)},
    ).result_rows
    for agency, name in agencies:
        for text in _quoted(str(name)) + ([] if agency in visible else _quoted(str(agency))):
            markers[text] = "another agency"
    own_visitors = {v.visitor for v in VISITS if v.site in OWN_SITES}
    own_paths = {p for v in VISITS if v.site in OWN_SITES for _, _, p in v.hits}
    for visit in VISITS:
        if visit.site in OWN_SITES:
            continue
        if visit.visitor not in own_visitors:
            for text in (*_quoted(visit.visitor), f"-{visit.visitor}-"):
                markers[text] = "another province's visitor"
        for _, _, path in visit.hits:
            if path not in own_paths:
                for text in (*_quoted(path), f".vn{path}"):
                    markers[text] = "another province's path"
    sessions = db.query(
        "SELECT DISTINCT session_id FROM sessions WHERE site NOT IN {own:Array(String)}",
        parameters={"own": sorted(OWN_SITES)},
    ).result_rows
    for (session,) in sessions:
        if len(str(session)) >= 8:
            markers[str(session)] = "another province's session id"
    for site, code in DOSSIERS:
        if site not in OWN_SITES:
            markers[code] = "another province's dossier code"
    return markers


@dataclass
class World:
    """The API and what the checks need: markers, expected counts and the placeholders."""

    client: httpx.AsyncClient
    db: Database
    headers: dict[str, dict[str, str]]
    data_dir: Path
    tmp: Path
    markers: dict[str, str]
    host_markers: dict[str, str]
    counts: dict[str, int] = field(default_factory=dict)

    def expand(self, sql: str) -> str:
        sql = _REPEAT.sub(lambda m: m.group(2) * int(m.group(1)), sql)
        sql = sql.replace("{db}", self.db.database).replace("{data_dir}", str(self.data_dir))
        return sql.replace("{tmp}", str(self.tmp))

    async def post(self, who: str, statement: str) -> httpx.Response:
        request = self.client.post(
            "/api/v1/sql",
            json={"sql": statement, "format": "json"},
            headers=self.headers[who],
            timeout=REQUEST_TIMEOUT_S,
        )
        # ASGITransport runs the app in-process and ignores httpx's timeout: bound it here too
        return await asyncio.wait_for(request, REQUEST_TIMEOUT_S + 30)


def health(db: Database) -> str | None:
    """None while the shared engine session still reads with settings and inserts; else why."""
    try:
        db.query("SELECT 1", settings={"max_execution_time": 10})
        db.insert("hostile_health", [[1]], ["n"])
    except Exception as exc:
        return str(exc).strip()[:500]
    return None


def _dossier_rows() -> list[list[Any]]:
    at = datetime(2025, 3, 10, 9)
    return [[f"ev-{code}", site, code, "received", at, at, at] for site, code in DOSSIERS]


@asynccontextmanager
async def open_hostile_world(engine: Any, database: str, root: Path) -> AsyncIterator[World]:
    """The agency world of ``test_agency_access`` on ``database`` (migrated), with ingest tokens,
    dossier events and a secret key file under ``root``; the API on a client that turns an
    unhandled exception into a 500 answer instead of raising it."""
    data_dir, tmp = root / "data", root / "out"
    tmp.mkdir(parents=True, exist_ok=True)
    async with agency_world(engine, database, data_dir=data_dir) as world:
        db: Database = world["db"]
        Settings(data_dir=data_dir).visitor_secret()  # writes DATA_DIR/secret_key
        for site in registry.list_sites(db):
            token = f"ingest-{site.id}-{uuid.uuid4().hex}"
            registry.upsert_site(db, site.model_copy(update={"ingest_token": token}))
        db.insert(
            "dossier_events",
            _dossier_rows(),
            ["event_id", "site", "dossier_code", "status", "ts", "local_ts", "received_ts"],
        )
        db.command(f"CREATE TABLE {database}.hostile_health (n UInt8) ENGINE = Memory")
        raw = [world[who]["Authorization"].removeprefix("Bearer ") for who in ("hn", "hcm")]
        transport = httpx.ASGITransport(app=world["app"], raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", timeout=REQUEST_TIMEOUT_S
        ) as client:
            counts = {
                name: value if isinstance(value, int) else admin_value(db, value)
                for name, value in COUNTS.items()
            }
            yield World(
                client=client,
                db=db,
                headers={"agency": world["hn"], "admin": ADMIN},
                data_dir=data_dir,
                tmp=tmp,
                markers=gather_markers(db, raw, data_dir),
                host_markers=_host_markers(data_dir),
                counts=counts,
            )


# --- the checks ----------------------------------------------------------------------------


def problems(
    entry: dict[str, Any],
    who: str,
    statement: str,
    status: int,
    text: str,
    world_markers: dict[str, str],
    host_markers: dict[str, str],
    counts: dict[str, int],
) -> list[str]:
    """What is wrong with one answer (empty: the answer is as the corpus expects)."""
    expected = entry[who]
    found: list[str] = []
    if status >= 500:
        found.append(f"answered {status}")
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        body = None
    if expected == "refused":
        if status not in (400, 403):
            found.append(f"expected 400 or 403, got {status}")
        if not (isinstance(body, dict) and isinstance(body.get("error"), str)):
            found.append("a refusal without an 'error' string")
        if isinstance(body, dict) and "rows" in body:
            found.append("a refusal with rows")
    elif expected in ("restricted", "ok"):
        if status != 200:
            found.append(f"expected 200, got {status}")
        elif expected == "restricted" and "count" in entry:
            rows = body.get("rows") if isinstance(body, dict) else None
            want = counts[entry["count"]]
            if rows is None or len(rows) != 1 or len(rows[0]) != 1 or int(rows[0][0]) != want:
                found.append(f"expected the single value {want} ({entry['count']}), got {rows}")
    if who == "agency":
        markers = world_markers
    elif expected != "any":
        markers = host_markers
    else:
        markers = {}
    leaked = sorted(
        {where for marker, where in markers.items() if marker not in statement and marker in text}
    )
    if leaked:
        found.append(f"the answer holds {', '.join(leaked)}")
    return found


def _excerpt(text: str) -> str:
    return text if len(text) < 600 else text[:600] + f"… ({len(text)} characters)"


@pytest.fixture(scope="module")
def hostile_database(clickhouse_engine: Any) -> Iterator[str]:
    """A fresh, migrated database for the whole module (the corpus runs ~1,400 requests)."""
    from clickhouse.migrate import migrate

    name = f"t_{uuid.uuid4().hex[:12]}"
    clickhouse_engine.command(f"CREATE DATABASE {name}")
    migrate(clickhouse_engine, name)
    try:
        yield name
    finally:
        clickhouse_engine.command(f"DROP DATABASE IF EXISTS {name} SYNC")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def hostile(
    clickhouse_engine: Any, hostile_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    root = tmp_path_factory.mktemp("hostile")
    async with open_hostile_world(clickhouse_engine, hostile_database, root) as world:
        yield world


_poisoned: list[str] = []


async def _run(world: World, entry: dict[str, Any], who: str) -> None:
    if _poisoned:
        pytest.fail(f"the engine session is unusable since {_poisoned[0]}")
    statement = world.expand(entry["sql"])
    response = await world.post(who, statement)
    found = problems(
        entry,
        who,
        statement,
        response.status_code,
        response.text,
        world.markers,
        world.host_markers,
        world.counts,
    )
    written = sorted(p.name for p in world.tmp.iterdir())
    if written:
        found.append(f"wrote {written} into {{tmp}}")
        for path in world.tmp.iterdir():
            path.unlink()
    broken = await asyncio.to_thread(health, world.db)
    if broken is not None:
        _poisoned.append(entry["id"])
        found.append(f'left the engine session unusable ({broken}): mark it "isolate": true')
    assert not found, f"{entry['id']} ({entry['why']}): {found}; answer: {_excerpt(response.text)}"


def _params(isolated: bool) -> list[Any]:
    return [pytest.param(e, id=e["id"]) for e in CORPUS if bool(e.get("isolate")) == isolated]


# --- the corpus itself ---------------------------------------------------------------------


def test_corpus_is_well_formed_and_complete() -> None:
    ids = [e["id"] for e in CORPUS]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    statements = [e["sql"] for e in CORPUS]
    assert len(statements) == len(set(statements)), [
        s[:80] for s, n in Counter(statements).items() if n > 1
    ]
    for entry in CORPUS:
        assert set(entry) <= _FIELDS, entry["id"]
        assert entry["kind"] in KINDS, entry["id"]
        assert entry["agency"] in ("refused", "restricted"), entry["id"]
        assert entry["admin"] in ("refused", "ok", "any"), entry["id"]
        assert isinstance(entry["why"], str) and entry["why"], entry["id"]
        if "count" in entry:
            assert entry["agency"] == "restricted" and entry["count"] in COUNTS, entry["id"]
    assert {e["kind"] for e in CORPUS} == KINDS
    reproducers = {e["sql"] for e in CORPUS if e.get("reproducer")}
    assert reproducers == ISSUE_12
    assert sum(1 for e in CORPUS if not e.get("reproducer")) >= 200
    # allowed statements are many too, and most of them check a number
    restricted = [e for e in CORPUS if e["agency"] == "restricted"]
    assert len(restricted) >= 100 and sum("count" in e for e in restricted) >= 60


async def test_markers_and_counts_are_real(hostile: World) -> None:
    """The leak checks are not vacuous, and the expected numbers are the admin's numbers."""
    sources = set(hostile.markers.values())
    for source in (
        "sites.ingest_token",
        "api_tokens.token_hash",
        "the admin token",
        "an agency token",
        "/etc/passwd",
        "DATA_DIR/secret_key",
        "another site's id",
        "another agency",
        "another province's visitor",
        "another province's path",
        "another province's dossier code",
    ):
        assert source in sources, source
    assert "hcm" in hostile.markers
    assert sum(v == "sites.ingest_token" for v in hostile.markers.values()) == 3
    if HAS_ENVIRON:
        assert "/proc/self/environ" in sources
    for name, sql in ADMIN_COUNTS.items():
        assert admin_value(hostile.db, sql) == hostile.counts[name], name
    assert hostile.counts["own_rollup_pageviews"] == hostile.counts["own_pageviews"]
    assert hostile.counts["own_rollup_visits"] == hostile.counts["own_visits"]
    assert all(v > 0 for k, v in hostile.counts.items() if k != "zero")


async def test_restricted_statements_spell_no_marker(hostile: World) -> None:
    """A restricted statement that spelled a marker could only prove that the marker is echoed;
    checked case-insensitively."""
    lowered = {m.lower(): where for m, where in hostile.markers.items()}
    spelled = {
        entry["id"]: sorted({w for m, w in lowered.items() if m in statement})
        for entry in CORPUS
        if entry["agency"] == "restricted"
        for statement in [hostile.expand(entry["sql"]).lower()]
    }
    assert {k: v for k, v in spelled.items() if v} == {}


# --- every statement, both tokens ----------------------------------------------------------


@pytest.mark.parametrize("entry", _params(isolated=False))
async def test_agency_token(hostile: World, entry: dict[str, Any]) -> None:
    await _run(hostile, entry, "agency")


@pytest.mark.parametrize("entry", _params(isolated=False))
async def test_admin_token(hostile: World, entry: dict[str, Any]) -> None:
    await _run(hostile, entry, "admin")


@pytest.mark.parametrize("who", ["agency", "admin"])
@pytest.mark.parametrize("entry", _params(isolated=True))
def test_isolated_statement(entry: dict[str, Any], who: str, tmp_path: Path) -> None:
    """A statement that may break the engine session, in a process with its own chDB folder:
    the same checks, then the session must still read with settings and insert."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.integration.hostile_sql_child",
            who,
            json.dumps(entry),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    assert run.returncode == 0, run.stderr[-3000:]
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    found = problems(
        entry,
        who,
        answer["statement"],
        answer["status"],
        answer["text"],
        answer["markers"],
        answer["host_markers"],
        answer["counts"],
    )
    if answer["written"]:
        found.append(f"wrote {answer['written']} into {{tmp}}")
    if answer["health"] is not None:
        found.append(f"left the engine session unusable ({answer['health']})")
    assert not found, f"{entry['id']} ({entry['why']}): {found}; answer: {_excerpt(answer['text'])}"
