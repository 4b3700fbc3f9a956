"""The national (1–10) and EMC push (0–3) status code tables."""

from __future__ import annotations

import pytest

from schemas.dossier_status import (
    EMC_PUSH,
    NATIONAL,
    RANK,
    from_emc_push,
    from_national,
    seen_mask,
)
from schemas.dossiers import DossierStatus as S


def test_every_lifecycle_status_has_exactly_one_national_code() -> None:
    assert sorted(NATIONAL) == list(range(1, 11))
    assert sorted(c.status for c in NATIONAL.values()) == sorted(S)


@pytest.mark.parametrize(
    ("code", "status"),
    [(1, S.SUBMITTED), (2, S.RECEIVED), (3, S.REJECTED), (4, S.PROCESSING),
     (5, S.SUPPLEMENT_REQUESTED), (6, S.PAYMENT_REQUESTED), (7, S.WITHDRAWN), (8, S.STOPPED),
     (9, S.RESOLVED), (10, S.RETURNED)],
)  # fmt: skip
def test_national_codes(code: int, status: S) -> None:
    assert from_national(code) is status


@pytest.mark.parametrize(
    ("code", "status"), [(0, S.PROCESSING), (1, S.RECEIVED), (2, S.PROCESSING), (3, S.RETURNED)]
)
def test_emc_push_codes(code: int, status: S) -> None:
    assert from_emc_push(code) is status
    assert EMC_PUSH[code].name_vi


@pytest.mark.parametrize("code", [-1, 0, 11])
def test_unknown_national_code_is_refused(code: int) -> None:
    with pytest.raises(ValueError, match="1–10"):
        from_national(code)


@pytest.mark.parametrize("code", [-1, 4, 10])
def test_unknown_push_code_is_refused(code: int) -> None:
    with pytest.raises(ValueError, match="0, 1, 2, 3"):
        from_emc_push(code)


def test_ranks_follow_the_lifecycle_and_match_the_migration() -> None:
    from clickhouse.migrate import discover

    assert RANK[S.SUBMITTED] < RANK[S.RECEIVED] < RANK[S.RESOLVED] < RANK[S.RETURNED]
    sql = next(m for m in discover() if m.name == "dossier_state").sql
    names = ", ".join(f"'{s.value}'" for s in sorted(RANK, key=RANK.__getitem__))
    assert names.replace(", ", "") in sql.replace("\n", "").replace(" ", "").replace(",", "")
    assert seen_mask(S.SUBMITTED, S.RETURNED) == (1 << 1) | (1 << 10)
