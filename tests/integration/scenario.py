"""Hits whose true numbers are known by construction (used by the end-to-end tests).

Site ``e2e`` in Asia/Ho_Chi_Minh (UTC+7). Report day D = 2026-11-20 (local).

| visitor | network | browser | hits (local time) | visits on D | pageviews of its visits | bounce | duration |
|---|---|---|---|---|---|---|---|
| A | VN | Chrome desktop | pv 23:50, pv 23:58, pv 00:05 (D+1) | 1 (across midnight) | 3 | no | 900 s |
| B | US | Safari iPhone | pv 10:00, pv 10:31 (31-min gap) | 2 | 1 + 1 | yes, yes | 0 + 0 |
| C | VN | Zalo Android | pv 14:00:00, event 14:00:10 | 1 | 1 | no (event) | 10 s |
| D | VN | Cốc Cốc desktop | pv 09:00:00, engagement 09:00:40 | 1 | 1 | yes (pings do not count) | 40 s |
| E | VN | Safari iPad | pv 15:00, pv 15:30 (exactly 30 min) | 1 | 2 | no | 1800 s |
| bot | VN | curl | pv 11:00 | – | – | – | – |

On D: visits 6; pageviews by hit time 8 (A's 00:05 belongs to D+1); pageviews of the visits
counted 9 → pages per visit 1.5; bounces 3 → bounce rate 50 %; total duration 2750 s; unique
visitors 5; bot hits 1. Visits by country VN 4, US 2; by device desktop 2, mobile 3, tablet 1.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

SITE = "e2e"
DOMAIN = "e2e.gov.vn"
TZ = timezone(timedelta(hours=7))
DAY = datetime(2026, 11, 20, tzinfo=TZ)

UA_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
UA_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.6 Mobile/15E148 Safari/604.1"
)
UA_ZALO = (
    "Mozilla/5.0 (Linux; Android 13; CPH2211 Build/TP1A.220905.001; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/130.0.6723.102 Mobile Safari/537.36 Zalo android/"
    "12100623 ZaloTheme/light ZaloLanguage/vn"
)
UA_COCCOC = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "coc_coc_browser/135.0.202 Chrome/129.0.6668.202 Safari/537.36"
)
UA_IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Mobile/15E148 Safari/604.1"
)
UA_CURL = "curl/8.5.0"

#: GeoIP ranges of the tiny test database: network → ISO country.
GEO_NETWORKS = {
    "14.160.0.0/16": "VN",
    "27.64.0.0/16": "VN",
    "171.224.0.0/16": "VN",
    "42.112.0.0/16": "VN",
    "8.8.8.0/24": "US",
}


def _at(hour: int, minute: int, second: int = 0, day_offset: int = 0) -> str:
    moment = DAY + timedelta(days=day_offset, hours=hour, minutes=minute, seconds=second)
    return moment.isoformat()


def _hit(
    visitor: str, ip: str, ua: str, ts: str, path: str, type_: str = "pageview", name: str = ""
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "site": SITE,
        "url": f"https://{DOMAIN}{path}",
        "ts": ts,
        "ip": ip,
        "ua": ua,
        "type": type_,
        "event_id": f"e2e-{visitor}-{ts}-{type_}",
    }
    if name:
        line["name"] = name
    return line


def hits() -> list[dict[str, Any]]:
    """The scenario's hit lines for ``POST /v1/hits``."""
    return [
        _hit("A", "14.160.1.1", UA_CHROME, _at(23, 50), "/"),
        _hit("A", "14.160.1.1", UA_CHROME, _at(23, 58), "/tin-tuc?id=1"),
        _hit("A", "14.160.1.1", UA_CHROME, _at(0, 5, day_offset=1), "/van-ban"),
        _hit("B", "8.8.8.8", UA_IPHONE, _at(10, 0), "/"),
        _hit("B", "8.8.8.8", UA_IPHONE, _at(10, 31), "/lien-he"),
        _hit("C", "27.64.1.1", UA_ZALO, _at(14, 0), "/thu-tuc"),
        _hit("C", "27.64.1.1", UA_ZALO, _at(14, 0, 10), "/thu-tuc", "event", "download"),
        _hit("D", "171.224.1.1", UA_COCCOC, _at(9, 0), "/"),
        _hit("D", "171.224.1.1", UA_COCCOC, _at(9, 0, 40), "/", "engagement"),
        _hit("E", "42.112.1.1", UA_IPAD, _at(15, 0), "/"),
        _hit("E", "42.112.1.1", UA_IPAD, _at(15, 30), "/tin-tuc"),
        _hit("bot", "14.160.9.9", UA_CURL, _at(11, 0), "/"),
    ]


EXPECTED_DAY = {
    "visits": 6,
    "pageviews_by_hit_time": 8,
    "visit_pageviews": 9,
    "bounces": 3,
    "duration_s": 2750,
    "unique_visitors": 5,
    "bot_hits": 1,
}
EXPECTED_COUNTRY_VISITS = {"VN": 4, "US": 2}
EXPECTED_DEVICE_VISITS = {"desktop": 2, "mobile": 3, "tablet": 1}
