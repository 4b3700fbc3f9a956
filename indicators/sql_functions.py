"""The function allow-list of free SQL (``indicators/sql_functions.tsv``) and the tool that
writes it.

Free SQL (``/api/v1/sql``, named queries) may call only functions that compute on the values
they are given: aggregates, arithmetic, dates, strings, arrays, maps, conditionals, type
conversion, hashes, JSON, URLs … Functions that reach outside the statement's own rows — host
files (``file``), the network, dictionaries (``dictGet*``), other tables (``joinGet``,
``hasColumnInTable``), settings and server introspection (``getSetting``, ``hostName``,
``addressToSymbol``), sleeping (``sleep``) — are not on the list and are refused before the
statement runs (``indicators.sql_guard``).

The list is a data file, reviewed like code: a new engine version adds functions, and they stay
refused until the file is regenerated and the diff read. ``python -m indicators.sql_functions``
writes
it from the engine's own catalogue (``system.functions``): every function of the categories in
``ALLOWED_CATEGORIES`` (less ``DENIED``), the few harmless ones of the engine's "Other" category
in ``ALLOWED_OTHER``, and every alias of an allowed function. Each line is ``name<TAB>ci`` or
``name<TAB>cs`` (the engine matches ``ci`` names in any letter case).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PATH = Path(__file__).with_name("sql_functions.tsv")

ALLOWED_CATEGORIES = frozenset(
    {
        "Aggregate Functions", "Arithmetic", "Arrays", "Bit", "Bitmap", "Comparison",
        "Conditional", "Dates and Times", "Distance", "Encoding", "Financial", "Geo",
        "Geo Polygon", "Hash", "IP Address", "JSON", "Logical", "Map", "Mathematical", "Null",
        "NumericIndexedVector", "QBit", "Random Number", "Rounding", "String", "String Replacement",
        "String Search", "String Splitting", "Time Series", "Time Window", "Tuple",
        "Type Conversion", "URL", "UUID",
    }
)  # fmt: skip

#: Harmless functions of the engine's catch-all "Other" category (that category also holds
#: ``file``, ``getSetting``, ``hostName``, ``sleep``, ``joinGet`` …, so it is not allowed whole).
ALLOWED_OTHER = frozenset(
    {
        "bar", "blockSize", "byteSize", "countDigits", "defaultValueOfArgumentType",
        "defaultValueOfTypeName", "finalizeAggregation", "formatReadableDecimalSize",
        "formatReadableQuantity", "formatReadableSize", "formatReadableTimeDelta",
        "getSizeOfEnumType", "identity", "ignore", "indexHint", "initializeAggregation",
        "isConstant", "isDecimalOverflow", "lowCardinalityIndices", "lowCardinalityKeys",
        "MACNumToString", "MACStringToNum", "MACStringToOUI", "materialize", "neighbor",
        "parseISO8601Duration", "parseReadableSize", "parseReadableSizeOrNull",
        "parseReadableSizeOrZero", "parseTimeDelta", "rowNumberInAllBlocks", "rowNumberInBlock",
        "runningAccumulate", "runningDifference", "runningDifferenceStartingWithFirstValue",
        "throwIf", "toColumnTypeName", "toTypeName", "transform", "variantElement", "variantType",
        "visibleWidth",
    }
)  # fmt: skip

#: Never allowed, whatever their category says.
DENIED = frozenset({"aggThrow", "sleep", "sleepEachRow", "file", "joinGet", "joinGetOrNull"})

#: Names the parser produces for syntax that is not a catalogued function.
SYNTAX = frozenset({"lambda", "exists", "untuple", "grouping"})

#: Aggregate function combinators, longest first (``uniqMergeState`` → ``uniq``).
COMBINATORS = (
    "SimpleState", "MergeState", "OrDefault", "Distinct", "Resample", "ForEach", "ArgMax",
    "ArgMin", "OrNull", "Merge", "State", "Array", "Tuple", "Null", "Map", "If",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Allowed function names: exact (``cs``) and lower-cased case-insensitive ones (``ci``)."""

    exact: frozenset[str]
    any_case: frozenset[str]

    def allows(self, name: str) -> bool:
        """Whether ``name`` (as the parser wrote it) may be called; aggregate combinators are
        stripped one by one (``countIf``, ``uniqCombined64Merge``, ``COUNTDistinct``)."""
        candidates = [name]
        while candidates:
            current = candidates.pop()
            if current in self.exact or current.lower() in self.any_case or current in SYNTAX:
                return current not in DENIED
            for suffix in COMBINATORS:
                if current.endswith(suffix) and len(current) > len(suffix):
                    candidates.append(current[: -len(suffix)])
        return False


def parse(text: str) -> Catalogue:
    """The catalogue of a ``sql_functions.tsv`` text (``#`` lines are comments)."""
    exact: set[str] = set()
    any_case: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, _, mode = line.partition("\t")
        if mode not in ("ci", "cs"):
            raise ValueError(f"{PATH.name} line {number}: expected 'name<TAB>ci|cs'")
        exact.add(name)
        if mode == "ci":
            any_case.add(name.lower())
    return Catalogue(frozenset(exact), frozenset(any_case))


@cache
def catalogue() -> Catalogue:
    """The allow-list shipped with this code."""
    return parse(PATH.read_text(encoding="utf-8"))


def select(rows: list[tuple[str, int, str, str]]) -> list[tuple[str, bool]]:
    """(name, case-insensitive) of the allowed functions among ``system.functions`` rows
    ``(name, case_insensitive, alias_to, categories)``; pure."""
    canonical: set[str] = set()
    for name, _, alias_to, categories in rows:
        if alias_to or name in DENIED:
            continue
        cats = {c.strip() for c in categories.split(",") if c.strip()}
        if cats & ALLOWED_CATEGORIES or name in ALLOWED_OTHER:
            canonical.add(name)
    return sorted(
        (name, bool(ci))
        for name, ci, alias_to, _ in rows
        if name not in DENIED and (name in canonical or (alias_to and alias_to in canonical))
    )


def main() -> int:
    """Regenerate ``sql_functions.tsv`` from the installed engine (chDB, in memory)."""
    import clickhouse_connect

    client = clickhouse_connect.get_client(interface="chdb")
    rows = [
        (str(name), int(ci), str(alias_to), str(categories))
        for name, ci, alias_to, categories in client.query(
            "SELECT name, case_insensitive, alias_to, categories FROM system.functions"
        ).result_rows
    ]
    version = client.query("SELECT version()").result_rows[0][0]
    chosen = select(rows)
    lines = [
        "# Functions free SQL may call (indicators/sql_functions.py). Generated by",
        f"# `python -m indicators.sql_functions` from system.functions of ClickHouse {version};",
        "# review the diff before committing a regenerated file.",
        *(f"{name}\t{'ci' if ci else 'cs'}" for name, ci in chosen),
    ]
    PATH.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {PATH} ({len(chosen)} functions)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
