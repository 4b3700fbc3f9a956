"""The check every free SQL statement passes before it runs, on the engine's own syntax tree.

The engine parses the statement (``parseQueryToJSON``: parsing only — nothing runs, no scalar
subquery is folded, no table is opened) and ``check`` walks every node of the tree:

- node types: only those of ``SELECT`` statements (plus ``EXPLAIN`` and ``SHOW TABLES`` for the
  admin); anything else — ``SETTINGS``, ``FORMAT``, ``INTO OUTFILE``, ``APPLY``, DDL — is refused;
- tables: for an agency token only the warehouse tables its row filter covers (``Policy.
  readable``) and ``system.one``; a ``WITH`` name may not be the name of a table, so a CTE cannot
  stand in for one in another scope; a bare name on the right of ``IN`` is a table too;
- table functions: the generators in ``TABLE_FUNCTIONS`` only (no ``file``, ``url``, ``merge``,
  ``remote``, ``view`` …), for every token;
- functions: the allow-list of ``indicators.sql_functions`` (computations only), for every token.

Refusals raise ``Refused`` (HTTP 403) naming what is not allowed; a statement that is not a read
(a write, DDL, ``INTO OUTFILE``) raises ``NotRead`` and one the engine cannot parse ``Malformed``
(both HTTP 400) with the reason. What runs afterwards is the
statement the engine formats back from the checked tree (``formatQueryFromJSON``), never the
text as sent: no comment or trailing construct of the original can change what was checked.
The pure part (``check``) has no I/O; ``parse`` and ``canonical`` are the two engine calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from clickhouse.client import Database
from indicators.sql import SqlFailed, SqlRefused
from indicators.sql_functions import catalogue

#: Longest statement accepted, in UTF-8 bytes (the engine's own limit is 256 KiB).
MAX_STATEMENT_BYTES = 100_000
#: Deepest syntax tree accepted (the parser stops at 1,000 levels too).
MAX_PARSER_DEPTH = 500

#: Table functions that read no stored data and reach nothing outside the engine.
TABLE_FUNCTIONS = frozenset(
    {"numbers", "numbers_mt", "zeros", "zeros_mt", "values", "generate_series", "generateSeries"}
)
#: Tables outside the warehouse database an agency statement may read.
AGENCY_SYSTEM_TABLES = frozenset({"system.one"})

#: Node types of a SELECT statement.
SELECT_NODES = frozenset(
    {
        "SelectWithUnionQuery", "SelectIntersectExceptQuery", "SelectQuery", "ExpressionList",
        "Literal", "Identifier", "Function", "Asterisk", "QualifiedAsterisk",
        "ColumnsRegexpMatcher", "ColumnsListMatcher", "QualifiedColumnsRegexpMatcher",
        "QualifiedColumnsListMatcher", "ColumnsTransformerList", "ColumnsExceptTransformer",
        "ColumnsReplaceTransformer", "ColumnsReplaceTransformerReplacement", "Subquery",
        "TablesInSelectQuery", "TablesInSelectQueryElement", "TableExpression", "TableIdentifier",
        "TableJoin", "ArrayJoin", "OrderByElement", "WithElement", "WindowDefinition",
        "WindowListElement", "InterpolateElement", "QueryParameter", "SampleRatio",
    }
)  # fmt: skip
#: Statement kinds (the tree's root) per token kind.
AGENCY_ROOTS = frozenset({"SelectWithUnionQuery"})
ADMIN_ROOTS = frozenset({"SelectWithUnionQuery", "ExplainQuery", "ShowTablesQuery"})
#: Statement kinds that read (anything else is a write or DDL: ``NotRead``).
READ_ROOTS = ADMIN_ROOTS
#: Fields of a statement that change where or how it answers, refused wherever they appear.
_REFUSED_FIELDS = {
    "settings": "a SETTINGS clause (use the request's max_rows and timeout_s)",
    "format_ast": "a FORMAT clause (use the request's format)",
}
#: Fields that write somewhere: the statement is not a read.
_WRITING_FIELDS = {"out_file": "INTO OUTFILE", "compression": "INTO OUTFILE … COMPRESSION"}
#: Functions whose second argument, when a bare name, is a table (``x IN sites``).
_IN_FUNCTIONS = re.compile(r"^(global)?(not)?(null)?in(ignoreset)?$", re.IGNORECASE)
#: Admin statements the engine cannot serialise, accepted only in this plain form.
_ADMIN_PLAIN = re.compile(
    r"^\s*(?:DESC|DESCRIBE|SHOW\s+CREATE)(?:\s+TABLE)?\s+"
    r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?\s*;?\s*$",
    re.IGNORECASE,
)
_IN_SCOPE = re.compile(
    r":?\s*In scope SELECT (parseQueryToJSON|formatQueryFromJSON)\(.*", re.DOTALL
)


class Refused(SqlRefused):
    """The statement uses something its token may not use (HTTP 403)."""


class NotRead(SqlRefused):
    """The statement is not a read (a write, DDL, INTO OUTFILE …): HTTP 400, as before the
    syntax-tree check."""


class Malformed(SqlFailed):
    """The engine cannot parse the statement (HTTP 400)."""


@dataclass(frozen=True, slots=True)
class Policy:
    """What one token's statements may read. ``readable`` None means every table (the admin);
    otherwise the bare names of the warehouse tables it may read. ``tables`` are all table
    names of the warehouse database (a ``WITH`` name may not take one of them)."""

    database: str
    readable: frozenset[str] | None
    tables: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return self.readable is None


def _nodes(tree: Any) -> Iterator[tuple[str, Any, dict[str, Any] | None]]:
    """Every dict of the tree with the field it sits in and its parent (iterative: the tree
    can be hundreds of levels deep). Literal values are data, never walked."""
    stack: list[tuple[str, Any, dict[str, Any] | None]] = [("", tree, None)]
    while stack:
        key, node, parent = stack.pop()
        if isinstance(node, list):
            stack.extend((key, item, parent) for item in reversed(node))
            continue
        if not isinstance(node, dict):
            continue
        yield key, node, parent
        if node.get("type") == "Literal":
            continue
        stack.extend((k, v, node) for k, v in reversed(node.items()) if isinstance(v, dict | list))


def _name_parts(node: dict[str, Any]) -> list[str]:
    parts = node.get("name_parts")
    if isinstance(parts, list) and parts and all(isinstance(p, str) for p in parts):
        return parts
    name = node.get("name")
    return [name] if isinstance(name, str) else []


def _check_table(parts: list[str], policy: Policy, ctes: set[str], where: str) -> None:
    shown = ".".join(parts)
    if policy.readable is None:
        return
    if len(parts) == 2:
        database, table = parts
        if (database == policy.database and table in policy.readable) or (
            shown in AGENCY_SYSTEM_TABLES
        ):
            return
    elif len(parts) == 1:
        (table,) = parts
        if table in policy.readable:
            return
        if table in ctes and table not in policy.tables:
            return
        if table in ctes:
            raise Refused(f"sql: the WITH name {table} is the name of a table: rename it")
    if len(parts) == 1:
        shown = f"{policy.database}.{shown}"
    raise Refused(
        f"sql: table {shown} {where}is not available to agency tokens (readable: the "
        "warehouse tables with a site column, and agencies)"
    )


def _check_function(node: dict[str, Any], key: str, policy: Policy, names: set[str]) -> None:
    name = node.get("name")
    if not isinstance(name, str):
        raise Refused("sql: a function without a name")
    if key == "table_function":
        if name not in TABLE_FUNCTIONS:
            raise Refused(
                f"sql: table function {name}() is not allowed (allowed: "
                f"{', '.join(sorted(TABLE_FUNCTIONS))})"
            )
        return
    if not catalogue().allows(name):
        raise Refused(f"sql: function {name}() is not allowed in free SQL")
    if _IN_FUNCTIONS.match(name):
        arguments = node.get("arguments", {}).get("children", [])
        if len(arguments) == 2 and arguments[1].get("type") in ("Identifier", "TableIdentifier"):
            _check_table(_name_parts(arguments[1]), policy, names, "(on the right of IN) ")


def check(tree: Any, policy: Policy) -> None:
    """Raise ``Refused`` naming the first node ``policy`` does not allow; pure."""
    if not isinstance(tree, dict):
        raise Refused("sql: the engine returned no syntax tree for the statement")
    root = tree.get("type")
    roots = ADMIN_ROOTS if policy.is_admin else AGENCY_ROOTS
    if root not in READ_ROOTS:
        raise NotRead(f"sql: only read statements are allowed (SELECT …); got {root}")
    if root not in roots:
        allowed = "SELECT, EXPLAIN, SHOW TABLES" if policy.is_admin else "SELECT"
        raise Refused(f"sql: {root} statements are not allowed (allowed: {allowed})")
    ctes = {
        str(node["name"])
        for _, node, _ in _nodes(tree)
        if node.get("type") == "WithElement" and isinstance(node.get("name"), str)
    }
    # a bare name on the right of IN may also be an expression's alias (WITH [1, 2] AS a)
    names = ctes | {str(n["alias"]) for _, n, _ in _nodes(tree) if isinstance(n.get("alias"), str)}
    for key, node, _ in _nodes(tree):
        if key in _WRITING_FIELDS:
            raise NotRead(f"sql: {_WRITING_FIELDS[key]} is not allowed (read-only SQL)")
        if key in _REFUSED_FIELDS:
            raise Refused(f"sql: {_REFUSED_FIELDS[key]} is not allowed")
        if key == "prewhere" and not policy.is_admin:
            # PREWHERE runs before the engine's row filter: an error raised there (a failed
            # cast) would name values of rows the token may not read
            raise Refused("sql: PREWHERE is not allowed for agency tokens (use WHERE)")
        kind = node.get("type")
        if kind is None or node is tree:
            continue
        if kind not in SELECT_NODES:
            raise Refused(f"sql: the construct {kind} is not allowed in free SQL")
        if kind == "Function":
            _check_function(node, key, policy, names)
        elif kind == "TableIdentifier":
            _check_table(_name_parts(node), policy, ctes, "")


def _engine_message(exc: Exception) -> str:
    text = _IN_SCOPE.sub("", str(exc).strip())
    return text.removesuffix(".").strip()


def parse(db: Database, sql: str) -> Any:
    """The engine's syntax tree of ``sql`` (a JSON value); ``Malformed`` when it cannot be
    parsed, ``Refused`` when it is of a kind the engine cannot serialise."""
    if len(sql.encode("utf-8")) > MAX_STATEMENT_BYTES:
        raise Malformed(f"sql: statement longer than {MAX_STATEMENT_BYTES:,} bytes")
    try:
        result = db.query(
            "SELECT parseQueryToJSON({q:String})",
            parameters={"q": sql},
            settings={"readonly": 1, "max_parser_depth": MAX_PARSER_DEPTH},
        )
    except Exception as exc:
        message = _engine_message(exc)
        if "does not support JSON serialization" in message:
            raise NotRead(f"sql: only read statements are allowed ({message})") from exc
        raise Malformed(f"sql: {message}") from exc
    try:
        return orjson.loads(result.result_rows[0][0])
    except orjson.JSONDecodeError as exc:  # nesting deeper than the decoder takes
        raise Malformed(f"sql: statement nested too deeply ({exc})") from exc


def canonical(db: Database, tree: Any) -> str:
    """The statement the engine formats from the checked ``tree``: what actually runs."""
    try:
        result = db.query(
            "SELECT formatQueryFromJSON({q:String})",
            parameters={"q": orjson.dumps(tree).decode()},
            # the tree of a statement within MAX_STATEMENT_BYTES can be far longer as JSON
            settings={"readonly": 1, "max_query_size": 64 * MAX_STATEMENT_BYTES},
        )
    except Exception as exc:
        raise Malformed(f"sql: {_engine_message(exc)}") from exc
    return str(result.result_rows[0][0])


def checked(db: Database, sql: str, policy: Policy) -> str:
    """The statement to run for ``sql`` under ``policy``: parsed (one statement only: the
    parser refuses a second), checked, formatted back.
    The admin's ``DESCRIBE t`` and ``SHOW CREATE TABLE t`` (plain names only) pass as sent:
    the engine has no syntax tree in JSON for them."""
    if not sql.strip().rstrip(";").strip():
        raise Malformed("sql: empty statement")
    if policy.is_admin and _ADMIN_PLAIN.match(sql):
        return sql.strip().rstrip(";").rstrip()
    tree = parse(db, sql)
    check(tree, policy)
    return canonical(db, tree)
