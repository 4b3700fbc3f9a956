"""Imports only go down the layers (ARCHITECTURE.md):

    emc            the `emc` command (CLI, supervisor, demo, local Kafka, downloads)
    api            HTTP of the warehouse: app, routes, query strings, exports, dashboard
    indicators     computations without HTTP; ingest, streams, sink: the other processes
    clickhouse, broker   storage and Kafka administration
    core           settings, metric declarations, errors
    schemas        wire contracts

The test walks every module's imports with ``ast`` (including imports inside functions) and
fails naming the module, the line and the import that climbs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = (
    "schemas",
    "core",
    "broker",
    "clickhouse",
    "ingest",
    "streams",
    "sink",
    "indicators",
    "api",
    "emc",
)

#: What each package may import of ours (besides itself).
ALLOWED: dict[str, set[str]] = {
    "schemas": set(),
    "core": {"schemas"},
    "broker": {"core", "schemas"},
    "clickhouse": {"core", "schemas"},
    "ingest": {"core", "schemas", "broker"},
    "streams": {"core", "schemas", "broker"},
    "sink": {"core", "schemas", "clickhouse"},
    "indicators": {"core", "schemas", "clickhouse"},
    "api": {"core", "schemas", "clickhouse", "broker", "sink", "indicators"},
    "emc": set(OURS) - {"emc"},
}
#: Third-party modules a package may not import.
FORBIDDEN_THIRD_PARTY = {
    "indicators": {"starlette", "uvicorn", "httpx", "fastapi"},
    "schemas": {"aiokafka", "faust", "clickhouse_connect", "chdb", "starlette"},
    "core": {"aiokafka", "faust", "clickhouse_connect", "chdb", "starlette"},
}


def imports_of(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every import in ``path`` (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return found


def violations(root: Path = ROOT) -> list[str]:
    problems = []
    for package in OURS:
        for path in sorted((root / package).rglob("*.py")):
            for line, module in imports_of(path, root):
                top = module.split(".")[0]
                where = f"{path.relative_to(root)}:{line} imports {module}"
                if top in OURS and top != package and top not in ALLOWED[package]:
                    problems.append(
                        f"{where} ({package} may import {sorted(ALLOWED[package]) or 'nothing of ours'})"
                    )
                if top in FORBIDDEN_THIRD_PARTY.get(package, set()):
                    problems.append(f"{where} ({package} may not import {top})")
    return problems


def test_imports_only_go_down() -> None:
    assert violations() == []


def test_every_package_is_placed() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(OURS), "a new top-level package needs its place in ALLOWED"


@pytest.mark.parametrize(
    ("package", "source", "bad"),
    [
        ("core", "from clickhouse.client import Database\n", True),
        ("streams", "def f():\n    from clickhouse import named\n", True),
        ("indicators", "import starlette.responses\n", True),
        ("clickhouse", "from api.sql import x\n", True),
        ("sink", "from clickhouse.client import Database\n", False),
    ],
)
def test_the_walk_sees_every_kind_of_import(
    tmp_path: Path, package: str, source: str, bad: bool
) -> None:
    for name in OURS:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / package / "mod.py").write_text(source)
    assert bool(violations(tmp_path)) is bad
