"""DVC online submissions counted once from both sources (issue 16; EMC II.2–4).

Seed 000 (Phụ lục 2, II.2) defines "Tổng lượt nộp hồ sơ trực tuyến" as "Tổng số lần người dùng
thực hiện chức năng nộp hồ sơ trực tuyến trên Cổng dịch vụ công trực tuyến" — the times users
perform the online-submission function on the portal; II.3 / II.4 are the same "đối với các dịch
vụ công trực tuyến mức độ 4 (3)". Two sources see those acts:

- the portal's tracker: an event ``dvc/submit/PROCEDURE[/DOSSIER]`` (``trackDVC``, ``_govaq``),
  named query ``dvc_tracker_submissions``;
- the dossiers the portal pushes under its own site with a submission time (``dossier_procedures``,
  column ``submitted``).

The matching rule, per site and procedure code over the period (pure, ``merge``):

1. A tracker event that names a dossier code is the submission of the pushed dossier of the
   same site with that code, if there is one: counted once, as the pushed dossier (its
   procedure and its submission time decide), and marked ``both``. Events repeating a code
   (a double click, a resent beacon) are one submission.
2. A coded event whose dossier was never pushed is a submission only the tracker saw
   (``tracker_only``), once per code.
3. Events without a dossier code cannot be matched one by one: they stand for the pushed
   dossiers of the same site and procedure not already matched by code, as far as there are
   such (``both``); events beyond those are submissions only the tracker saw, pushed dossiers
   beyond the events are submissions only the push reported (``pushed_only``).

So submissions = pushed + tracker-only, and neither source alone can raise the count above
what the other explains. Levels come from the site's default catalog by procedure code (ID
MCDT), as for the pushed dossiers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: Where each submission count came from (``merge``'s extra columns).
SOURCES = ("both", "pushed_only", "tracker_only")

#: Columns of a ``dossier_procedures`` row that a tracker-only procedure row holds as 0.
_ZERO = (
    "submitted", "submitted_or_received", "received", "received_online",
    "received_online_sources", "fee_reported",
    "paid_online", "finished", "processing_s_total", "resolved", "resolved_on_time",
    "resolved_with_due", "overdue_open",
)  # fmt: skip


def split(pushed: int, uncoded: int, coded_only: int, confirmed: int) -> dict[str, int]:
    """The sources of one (site, procedure)'s submissions (rule in the module docstring):
    ``pushed`` dossiers submitted in the period, of which ``confirmed`` were named by a
    tracker event; ``uncoded`` events without a code; ``coded_only`` codes never pushed."""
    unmatched = max(pushed - confirmed, 0)
    paired = min(uncoded, unmatched)
    both = min(confirmed, pushed) + paired
    return {
        "both": both,
        "pushed_only": pushed - both,
        "tracker_only": coded_only + uncoded - paired,
    }


def merge(
    procedure_rows: Sequence[Mapping[str, Any]], tracker_rows: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """``dossier_procedures`` rows of one period with ``submitted`` = the submissions counted
    once from both sources and the columns ``both``, ``pushed_only``, ``tracker_only``; a
    procedure only the tracker saw gets a row of its own (every dossier count 0 but these)."""
    tracker = {(str(r["site"]), str(r["procedure_code"])): r for r in tracker_rows}
    out: list[dict[str, Any]] = []
    for row in procedure_rows:
        key = (str(row["site"]), str(row["procedure_code"]))
        t = tracker.pop(key, {})
        parts = split(
            int(row["submitted"] or 0),
            int(t.get("uncoded") or 0),
            int(t.get("coded_only") or 0),
            int(t.get("confirmed") or 0),
        )
        extra = parts["tracker_only"]
        out.append(
            {
                **row,
                **parts,
                "submitted": int(row["submitted"] or 0) + extra,
                "submitted_or_received": int(row["submitted_or_received"] or 0) + extra,
            }
        )
    for (site, code), t in sorted(tracker.items()):
        parts = split(0, int(t["uncoded"] or 0), int(t["coded_only"] or 0), 0)
        if parts["tracker_only"] == 0:
            continue  # only confirmed codes of dossiers submitted in another period
        out.append(
            {
                **dict.fromkeys(_ZERO, 0),
                "site": site,
                "procedure_code": code,
                "procedure_name": "",
                "level": t.get("level"),
                "catalog_name": t.get("catalog_name") or "",
                **parts,
                "submitted": parts["tracker_only"],
                "submitted_or_received": parts["tracker_only"],
            }
        )
    return out


def by_level(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """The sources of the submissions (all, level 4, level 3) of merged rows: ``{"submissions":
    {"both": …, "pushed_only": …, "tracker_only": …}, "submissions_l4": …, …}``."""
    out = {name: dict.fromkeys(SOURCES, 0) for name in ("submissions", "submissions_l4",
                                                         "submissions_l3")}  # fmt: skip
    for r in rows:
        names = ["submissions"]
        if r["level"] in (3, 4):
            names.append(f"submissions_l{r['level']}")
        for name in names:
            for source in SOURCES:
                out[name][source] += int(r.get(source) or 0)
    return out
