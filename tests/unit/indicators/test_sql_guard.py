"""The syntax-tree check of free SQL (``indicators.sql_guard.check``) and its function allow-list, on
trees shaped like the engine's ``parseQueryToJSON`` output (the engine itself is exercised by
``tests/integration/test_sql_security.py`` and the hostile corpus)."""

from __future__ import annotations

from typing import Any

import pytest

from indicators.sql import SqlRefused
from indicators.sql_functions import DENIED, catalogue, parse, select
from indicators.sql_guard import NotRead, Policy, Refused, check

AGENCY = Policy(
    "emc",
    frozenset({"pageviews", "agencies"}),
    frozenset({"pageviews", "agencies", "sites", "api_tokens"}),
)
ADMIN = Policy("emc", None)


def fn(name: str, *args: Any, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Function",
        "name": name,
        "arguments": {"type": "ExpressionList", "children": list(args)},
        **extra,
    }


def lit(value: Any) -> dict[str, Any]:
    return {"type": "Literal", "value": {"field_type": "String", "value": value}}


def table(*parts: str) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "TableIdentifier", "name": ".".join(parts)}
    if len(parts) > 1:
        node["name_parts"] = list(parts)
    return node


def select_(
    *columns: Any, source: Any = None, with_: list[Any] | None = None, **extra: Any
) -> dict[str, Any]:
    query: dict[str, Any] = {
        "type": "SelectQuery",
        "select": {"type": "ExpressionList", "children": list(columns)},
        **extra,
    }
    if with_:
        query["with"] = {"type": "ExpressionList", "children": with_}
    if source is not None:
        key = "table_function" if source["type"] == "Function" else "database_and_table_name"
        if source["type"] == "Subquery":
            key = "subquery"
        query["tables"] = {
            "type": "TablesInSelectQuery",
            "children": [
                {
                    "type": "TablesInSelectQueryElement",
                    "table_expression": {"type": "TableExpression", key: source},
                }
            ],
        }
    return {
        "type": "SelectWithUnionQuery",
        "list_of_selects": {"type": "ExpressionList", "children": [query]},
    }


def sub(query: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "Subquery", "children": [query], **extra}


COUNT = fn("count")


def test_allowed_tables_functions_and_generators_pass() -> None:
    check(select_(COUNT, source=table("pageviews")), AGENCY)
    check(select_(COUNT, source=table("emc", "pageviews")), AGENCY)
    check(select_(COUNT, source=table("system", "one")), AGENCY)
    check(select_(fn("countIf", lit("x")), source=fn("numbers", lit(10))), AGENCY)
    check(
        select_(sub(select_(fn("uniqCombined64Merge", lit(1)), source=table("pageviews")))), AGENCY
    )


@pytest.mark.parametrize(
    ("tree", "named"),
    [
        (select_(fn("file", lit("/etc/passwd"))), "file"),
        (select_(fn("FILE", lit("/etc/passwd"))), "FILE"),
        (select_(sub(select_(fn("file", lit("/etc/passwd"))))), "file"),
        (
            select_(fn("arrayMap", fn("lambda", fn("tuple"), fn("file", lit("x"))), lit("a"))),
            "file",
        ),
        (select_(COUNT, source=fn("file", lit("/etc/passwd"))), "file"),
        (select_(COUNT, source=fn("merge", lit("emc"), lit("^pageviews$"))), "merge"),
        (select_(COUNT, source=fn("url", lit("http://x"))), "url"),
        (select_(fn("dictGetString", lit("d"))), "dictGetString"),
        (select_(fn("hostName")), "hostName"),
        (select_(fn("sleep", lit(3))), "sleep"),
        (select_(fn("joinGetOrNull", lit("sites"))), "joinGetOrNull"),
    ],
)
def test_functions_off_the_list_are_refused_for_every_token(
    tree: dict[str, Any], named: str
) -> None:
    for policy in (AGENCY, ADMIN):
        with pytest.raises(Refused, match=named):
            check(tree, policy)


@pytest.mark.parametrize(
    ("tree", "named"),
    [
        (select_(sub(select_(COUNT, source=table("sites")))), "sites"),
        (select_(COUNT, source=table("emc", "api_tokens")), "api_tokens"),
        (select_(COUNT, source=table("system", "tables")), "system.tables"),
        (select_(COUNT, source=table("other", "pageviews")), "other.pageviews"),
        (select_(fn("in", lit("x"), {"type": "Identifier", "name": "sites"})), "sites"),
        (
            select_(fn("globalNotIn", lit("x"), {"type": "Identifier", "name": "api_tokens"})),
            "api_tokens",
        ),
        # a WITH name may not take a table's name: it would stand for the table in other scopes
        (
            select_(
                COUNT,
                source=table("sites"),
                with_=[{"type": "WithElement", "name": "sites", "subquery": sub(select_(lit(1)))}],
            ),
            "sites",
        ),
    ],
)
def test_agency_tables_out_of_scope_are_refused(tree: dict[str, Any], named: str) -> None:
    with pytest.raises(Refused, match=named):
        check(tree, AGENCY)
    check(tree, ADMIN)  # the admin reads every table


def test_cte_and_alias_names_pass_when_they_shadow_no_table() -> None:
    cte = {
        "type": "WithElement",
        "name": "mine",
        "subquery": sub(select_(COUNT, source=table("pageviews"))),
    }
    check(select_(COUNT, source=table("mine"), with_=[cte]), AGENCY)
    arr = {"type": "Literal", "value": {"field_type": "Array", "value": []}, "alias": "wanted"}
    check(
        select_(fn("in", lit("x"), {"type": "Identifier", "name": "wanted"}), with_=[arr]), AGENCY
    )
    with pytest.raises(Refused, match="unknown_table"):
        check(select_(COUNT, source=table("unknown_table")), AGENCY)


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        (
            "settings",
            {"type": "SetQuery", "changes": [{"name": "readonly", "value": 0}]},
            "SETTINGS",
        ),
        ("format_ast", {"type": "Identifier", "name": "JSON"}, "FORMAT"),
        ("out_file", lit("/tmp/x"), "OUTFILE"),
    ],
)
def test_clauses_that_change_the_answer_are_refused(field: str, value: Any, named: str) -> None:
    tree = select_(COUNT, source=table("pageviews"))
    tree[field] = value
    for policy in (AGENCY, ADMIN):
        # INTO OUTFILE writes: NotRead (400); SETTINGS / FORMAT: Refused (403); both refuse
        with pytest.raises(SqlRefused, match=named):
            check(tree, policy)


def test_statement_kinds() -> None:
    explain = {
        "type": "ExplainQuery",
        "kind": "EXPLAIN",
        "query": select_(COUNT, source=table("pageviews")),
    }
    check(explain, ADMIN)
    check({"type": "ShowTablesQuery"}, ADMIN)
    for tree in (explain, {"type": "ShowTablesQuery"}):
        with pytest.raises(Refused, match="statements are not allowed"):
            check(tree, AGENCY)
    for policy in (AGENCY, ADMIN):
        with pytest.raises(NotRead, match="InsertQuery"):
            check({"type": "InsertQuery"}, policy)
    # an unknown construct anywhere is refused (fail closed)
    with pytest.raises(Refused, match="ColumnsApplyTransformer"):
        check(
            select_(
                {
                    "type": "Asterisk",
                    "transformers": {"type": "ColumnsApplyTransformer", "func_name": "file"},
                }
            ),
            ADMIN,
        )


def test_literals_are_data_never_walked() -> None:
    # a string that looks like a node is a value, not a function call
    check(select_({"type": "Literal", "value": {"type": "Function", "name": "file"}}), AGENCY)


def test_a_deep_tree_is_walked_without_recursion() -> None:
    node: dict[str, Any] = lit("x")
    for _ in range(5000):
        node = fn("plus", node, lit(1))
    check(select_(node), AGENCY)
    node = fn("file", lit("x"))
    for _ in range(5000):
        node = fn("plus", node, lit(1))
    with pytest.raises(Refused, match="file"):
        check(select_(node), AGENCY)


def test_catalogue_strips_combinators_and_honours_letter_case() -> None:
    functions = catalogue()
    for name in [
        "count",
        "COUNT",
        "COUNTDistinct",
        "countIf",
        "sumIf",
        "uniqCombined64Merge",
        "uniqCombined64MergeState",
        "quantilesIfOrNull",
        "argMaxState",
        "toStartOfMonth",
        "arrayMap",
        "lambda",
        "tuple",
        "in",
        "notIn",
        "like",
        "multiIf",
        "CAST",
        "if",
        "IF",
    ]:
        assert functions.allows(name), name
    for name in [
        "file",
        "url",
        "dictGet",
        "joinGet",
        "getSetting",
        "hostName",
        "sleep",
        "sleepEachRow",
        "currentUser",
        "addressToSymbol",
        "fileIf",
        "sleepState",
        "toStartofMonth",
        "merge",
        "remote",
        "hasColumnInTable",
        "aiGenerate",
    ]:
        assert not functions.allows(name), name


def test_select_takes_categories_aliases_and_denials() -> None:
    rows = [
        ("sum", 1, "", "Aggregate Functions"),
        ("SUM_ALIAS", 1, "sum", ""),
        ("file", 0, "", "Other"),
        ("identity", 0, "", "Other"),
        ("dictGet", 0, "", "Dictionary"),
        ("dg", 0, "dictGet", ""),
        ("sleep", 0, "", "Arithmetic"),  # denied whatever its category
    ]
    assert select(rows) == [("SUM_ALIAS", True), ("identity", False), ("sum", True)]
    assert DENIED.isdisjoint(n for n, _ in select(rows))


def test_the_shipped_list_parses_and_holds_no_denied_function() -> None:
    text = "# comment\nsum\tci\nabs\tcs\n"
    parsed = parse(text)
    assert parsed.allows("SUM") and parsed.allows("abs") and not parsed.allows("ABS")
    with pytest.raises(ValueError, match="line 2"):
        parse("sum\tci\nbroken\n")
    shipped = catalogue()
    assert len(shipped.exact) > 1000
    assert DENIED.isdisjoint(shipped.exact)
