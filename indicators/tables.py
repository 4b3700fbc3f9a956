"""A flat table (columns and rows of plain values): the shape every table-like indicator answer
also takes, so ``api.export`` can write it as CSV or XLSX without knowing the indicator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Table:
    """A flat table: ``columns`` names and ``rows`` of plain values (str, int, float, None)."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
