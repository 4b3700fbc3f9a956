"""Status code tables: the national dossier status codes 1–10 and the EMC push statuses 0–3,
both mapped onto OpenEMC's ``DossierStatus`` lifecycle.

Why a table in code (and the same table in README "Dossier lifecycle"): one-stop systems speak
numeric codes, the warehouse speaks lifecycle steps, and the mapping decides which dossiers count
as received, resolved or returned — it must be written down once, tested, and shown to users.

``RANK`` orders the steps; ``clickhouse/migrations/0020_dossier_state.sql`` uses the same ranks
to break ties between two events of one dossier in the same millisecond (the later step wins).
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.dossiers import DossierStatus

S = DossierStatus


@dataclass(frozen=True, slots=True)
class Code:
    """One numeric code: its number, the Vietnamese name senders know, and our status."""

    code: int
    name_vi: str
    status: DossierStatus


#: National status codes (trạng thái hồ sơ, Cổng DVC quốc gia), 1–10.
NATIONAL: dict[int, Code] = {
    c.code: c
    for c in (
        Code(1, "Mới đăng ký", S.SUBMITTED),
        Code(2, "Được tiếp nhận", S.RECEIVED),
        Code(3, "Không được tiếp nhận", S.REJECTED),
        Code(4, "Đang xử lý", S.PROCESSING),
        Code(5, "Yêu cầu bổ sung giấy tờ", S.SUPPLEMENT_REQUESTED),
        Code(6, "Yêu cầu thực hiện nghĩa vụ tài chính", S.PAYMENT_REQUESTED),
        Code(7, "Công dân yêu cầu rút hồ sơ", S.WITHDRAWN),
        Code(8, "Dừng xử lý", S.STOPPED),
        Code(9, "Đã xử lý xong", S.RESOLVED),
        Code(10, "Đã trả kết quả", S.RETURNED),
    )
}

#: EMC push statuses (``POST /TrackingMCDT`` field ``Status``), 0–3. 0 ("other") is a state
#: change that is neither reception nor result: it becomes ``processing``, which sets no
#: received/resolved/returned time and counts as no submission.
EMC_PUSH: dict[int, Code] = {
    c.code: c
    for c in (
        Code(0, "Khác", S.PROCESSING),
        Code(1, "Tiếp nhận", S.RECEIVED),
        Code(2, "Đang xử lý", S.PROCESSING),
        Code(3, "Trả kết quả", S.RETURNED),
    )
}

#: Lifecycle rank of each status (tie-break for events in the same millisecond; the bit of
#: ``statuses_seen`` in ``dossier_state``). Equal to the national code of the status.
RANK: dict[DossierStatus, int] = {c.status: c.code for c in NATIONAL.values()}


def from_national(code: int) -> DossierStatus:
    """The status of a national code 1–10; ``ValueError`` naming the allowed codes."""
    try:
        return NATIONAL[code].status
    except KeyError:
        raise ValueError(f"national status code {code} is not one of 1–10") from None


def from_emc_push(code: int) -> DossierStatus:
    """The status of an EMC push status 0–3; ``ValueError`` naming the allowed codes."""
    try:
        return EMC_PUSH[code].status
    except KeyError:
        raise ValueError(f"EMC push status {code} is not one of 0, 1, 2, 3") from None


def seen_mask(*statuses: DossierStatus) -> int:
    """The ``statuses_seen`` bitmask of a set of statuses (bit = rank)."""
    mask = 0
    for status in statuses:
        mask |= 1 << RANK[status]
    return mask
