"""The provincial quarterly statistics of online public services (báo cáo quý) as JSON, with
``rows``: section 6 of the official table (``indicators.quarterly_rows``; the XLSX and DOCX are
``indicators.forms.quarterly_form`` written by ``api.form_files``).

Why its own module: the report mixes catalog numbers, dossier numbers and per-level on-time
rates into one fixed layout that people file; keeping the layout here keeps it stable.
Definitions (README "Quarterly report"):
- full-process online rate (tỷ lệ hồ sơ trực tuyến toàn trình) = online dossiers received for
  level-4 services / all dossiers received for level-4 services;
- partial online rate (tỷ lệ hồ sơ trực tuyến một phần) = the same for level 3;
- 6.2 "Tỷ lệ DVC có phát sinh hồ sơ nộp trực tuyến (toàn trình + một phần)" (seed 004,
  section 6) = 6.2.2 "Số DVCTT có phát sinh hồ sơ trực tuyến" (online services — level 3 or 4
  in the default catalog — that received an online dossier in the quarter) / 6.2.1 "Tổng số
  DVCTT có phát sinh hồ sơ (gồm các DVCTT có phát sinh hồ sơ trực tuyến hoặc trực tiếp hoặc
  cả 2 hình thức)" (online services that received any dossier in it, whatever the channel);
  not over every online service in the catalog (``online_services``, shown apart);
- procedures with fees = services whose dossiers report a fee (fee_paid_online known, or a
  payment request); accepting online payment = of those, services with a fee paid online;
- on-time rate by administrative level = resolved on or before the due time / resolved with a
  known due time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from clickhouse.client import Database
from indicators.change import percent
from indicators.dossiers import by_level, catalog_counts, period_numbers
from indicators.periods import Period
from indicators.quarterly_rows import section6_rows


def quarter_period(year: int, quarter: int) -> Period:
    """The inclusive dates of ``quarter`` (1–4) of ``year``."""
    first_month = 3 * (quarter - 1) + 1
    start = date(year, first_month, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, first_month + 3, 1)
    return Period(start, date.fromordinal(end.toordinal() - 1))


def quarterly(
    db: Database,
    sites: Sequence[str],
    tzs: Mapping[str, str],
    year: int,
    quarter: int,
    *,
    dossier_agency: str = "",
    agency: str = "",
) -> dict[str, Any]:
    """The quarterly report of ``sites`` (only dossiers whose own ``agency`` field is
    ``dossier_agency`` when given). ``agency`` is the registered agency whose subtree the
    sites are, printed on the report; it does not filter."""
    period = quarter_period(year, quarter)
    n = {k: (v or 0) for k, v in period_numbers(db, sites, tzs, period, dossier_agency).items()}
    catalog = catalog_counts(db, sites)
    online_services = catalog["l4_services"] + catalog["l3_services"]
    # 6.2.1: online services with a dossier received in the quarter, any channel
    with_any = n.get("l4_services_received", 0) + n.get("l3_services_received", 0)
    # 6.2.2: of those, the ones with an online dossier
    with_dossiers = n.get("l4_services_received_online", 0) + n.get(
        "l3_services_received_online", 0
    )
    levels = by_level(db, sites, tzs, period, dossier_agency)
    return {
        "sites": list(sites),
        "agency": agency or None,
        "dossier_agency": dossier_agency or None,
        "year": year,
        "quarter": quarter,
        "period": period.as_json(),
        "rows": section6_rows(n, catalog),  # the official rows (seed 004, section 6)
        "received": int(n.get("received", 0)),
        "received_online": int(n.get("received_online", 0)),
        "resolved": int(n.get("resolved", 0)),
        "full_process_online_rate_pct": percent(
            n.get("received_online_l4", 0), n.get("received_l4", 0), 1
        ),
        "partial_online_rate_pct": percent(
            n.get("received_online_l3", 0), n.get("received_l3", 0), 1
        ),
        "online_services": online_services,
        "online_services_with_dossiers": int(with_any),  # 6.2.1
        "services_with_online_dossiers": int(with_dossiers),  # 6.2.2
        "services_with_online_dossiers_pct": percent(with_dossiers, with_any, 1),  # 6.2
        "procedures_with_fees": int(n.get("services_with_fees", 0)),
        "procedures_with_online_payment": int(n.get("services_paid_online", 0)),
        "procedures_with_online_payment_pct": percent(
            n.get("services_paid_online", 0), n.get("services_with_fees", 0), 1
        ),
        "on_time_rate_pct": percent(n.get("resolved_on_time", 0), n.get("resolved", 0), 1),
        "by_admin_level": levels,
    }
