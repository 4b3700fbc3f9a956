"""Demo traffic: realistic portal visits and dossier events posted through the real HTTP path.

Several Vietnamese ministry and province portals, a day/night rhythm in Vietnam time, a
Vietnam-heavy IP mix, real browser user agents (Chrome, Safari, Cốc Cốc, Zalo, Samsung, bots),
multi-page visits with pauses, custom events and dossiers that move through their lifecycle.

The simulation is a pure generator (``DemoTraffic.tick``) driven by a clock, so it is testable
without a network; ``run_demo`` posts what it yields to the collector's ``/v1/hits`` and
``/v1/dossiers`` endpoints with the admin token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from schemas.sites import Site, SiteType

log = logging.getLogger("emc.demo")

DEMO_SITES: tuple[Site, ...] = (
    Site(
        id="demo-mic",
        name="Cổng TTĐT Bộ Thông tin và Truyền thông (demo)",
        type=SiteType.PORTAL,
        domains=("mic.gov.vn", "*.mic.gov.vn"),
    ),
    Site(
        id="demo-hanoi",
        name="Cổng TTĐT thành phố Hà Nội (demo)",
        type=SiteType.PORTAL,
        domains=("hanoi.gov.vn", "*.hanoi.gov.vn"),
    ),
    Site(
        id="demo-hcm",
        name="Cổng TTĐT Thành phố Hồ Chí Minh (demo)",
        type=SiteType.PORTAL,
        domains=("hochiminhcity.gov.vn", "*.hochiminhcity.gov.vn"),
    ),
    Site(
        id="demo-danang",
        name="Cổng TTĐT thành phố Đà Nẵng (demo)",
        type=SiteType.PORTAL,
        domains=("danang.gov.vn",),
    ),
    Site(
        id="demo-dvc-hanoi",
        name="Cổng Dịch vụ công Hà Nội (demo)",
        type=SiteType.DVC,
        domains=("dichvucong.hanoi.gov.vn",),
    ),
    Site(
        id="demo-mcdt-hanoi",
        name="Hệ thống một cửa điện tử Hà Nội (demo)",
        type=SiteType.ONESTOP,
        domains=("motcua.hanoi.gov.vn",),
    ),
)

#: Relative traffic weight of each portal.
_SITE_WEIGHTS = {
    "demo-mic": 3,
    "demo-hanoi": 5,
    "demo-hcm": 6,
    "demo-danang": 2,
    "demo-dvc-hanoi": 4,
}

_PAGES: dict[str, tuple[str, ...]] = {
    "demo-mic": (
        "/",
        "/tin-tuc",
        "/tin-tuc/chuyen-doi-so-quoc-gia",
        "/van-ban-phap-luat",
        "/thu-tuc-hanh-chinh",
        "/lien-he",
        "/chinh-phu-so",
        "/bao-chi-xuat-ban",
    ),
    "demo-hanoi": (
        "/",
        "/tin-tuc-su-kien",
        "/chinh-quyen",
        "/du-lich",
        "/quy-hoach",
        "/van-ban",
        "/hoi-dap",
        "/thong-bao",
    ),
    "demo-hcm": (
        "/",
        "/tin-tuc",
        "/gioi-thieu",
        "/thu-tuc-hanh-chinh",
        "/quy-hoach-do-thi",
        "/dau-tu",
        "/lich-cong-tac",
        "/english",
    ),
    "demo-danang": ("/", "/tin-tuc", "/du-lich-da-nang", "/dau-tu", "/van-ban", "/lien-he"),
    "demo-dvc-hanoi": (
        "/",
        "/dich-vu-cong-truc-tuyen",
        "/tra-cuu-ho-so",
        "/thanh-toan",
        "/huong-dan",
        "/dang-nhap",
        "/thu-tuc/1.004227",
        "/thu-tuc/2.000889",
    ),
}

_REFERRERS = (
    "",
    "",
    "",
    "https://www.google.com/",
    "https://www.google.com.vn/",
    "https://www.facebook.com/",
    "https://coccoc.com/search",
    "https://zalo.me/",
    "https://dichvucong.gov.vn/",
)

#: (user agent, weight). Real strings from current browsers; bots at the end.
USER_AGENTS: tuple[tuple[str, int], ...] = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        26,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.6778.104 Mobile Safari/537.36",
        18,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
        14,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "coc_coc_browser/135.0.202 Chrome/129.0.6668.202 Safari/537.36",
        9,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; CPH2211 Build/TP1A.220905.001; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/130.0.6723.102 Mobile Safari/537.36 Zalo android/"
        "12100623 ZaloTheme/light ZaloLanguage/vn",
        7,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Mobile/15E148 Zalo iOS/24.10.1 ZaloTheme/light ZaloLanguage/vn",
        5,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
        5,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.6 Safari/605.1.15",
        5,
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.6 Mobile/15E148 Safari/604.1",
        3,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        4,
    ),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", 2),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 2),
    ("curl/8.5.0", 1),
    ("python-requests/2.32.3", 1),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/131.0.0.0 Safari/537.36",
        1,
    ),
)

#: (first octets, weight): Vietnamese ISPs dominate; a few foreign networks.
_IP_PREFIXES: tuple[tuple[str, int], ...] = (
    ("14.160", 12),
    ("14.161", 6),
    ("113.160", 8),
    ("113.190", 5),  # VNPT
    ("27.64", 8),
    ("171.224", 8),
    ("116.96", 5),
    ("125.235", 4),  # Viettel
    ("42.112", 6),
    ("118.69", 6),
    ("1.52", 4),  # FPT
    ("123.20", 3),
    ("183.80", 2),  # other VN
    ("8.8", 2),
    ("23.20", 2),
    ("126.15", 2),
    ("121.130", 1),
    ("175.45", 1),  # US, JP, KR, SG
    ("81.2", 1),
    ("5.10", 1),  # Europe
)

#: Visits-per-hour shape over the local (Vietnam) day, 0 = midnight.
_HOURLY_SHAPE = (
    0.15,
    0.08,
    0.05,
    0.05,
    0.08,
    0.2,
    0.45,
    0.8,
    1.0,
    1.0,
    0.95,
    0.85,
    0.6,
    0.7,
    0.95,
    1.0,
    0.95,
    0.8,
    0.6,
    0.7,
    0.8,
    0.7,
    0.5,
    0.3,
)

_PROCEDURES = (
    ("1.004227", "Cấp giấy phép xây dựng", 4),
    ("2.000889", "Đăng ký kinh doanh hộ cá thể", 4),
    ("1.001612", "Cấp bản sao trích lục hộ tịch", 3),
    ("2.001193", "Chứng thực bản sao", 3),
    ("1.000656", "Đăng ký khai sinh", 4),
    ("1.010726", "Cấp đổi giấy phép lái xe", 3),
)
_DOSSIER_FLOW = ("submitted", "received", "processing", "resolved", "returned")
_VN = timedelta(hours=7)


@dataclass
class _Visit:
    site: str
    ip: str
    ua: str
    referrer: str
    pages_left: int
    next_ms: int
    last_url: str = ""


@dataclass
class _Dossier:
    code: str
    procedure: tuple[str, str, int]
    channel: str
    step: int
    next_ms: int
    received_ms: int = 0


@dataclass
class DemoTraffic:
    """Pure traffic simulation. ``tick(now_ms, dt_s)`` returns the hit and dossier lines due."""

    rate_per_s: float = 20.0
    seed: int = 7
    visits: list[_Visit] = field(default_factory=list)
    dossiers: list[_Dossier] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._ua_pop = [ua for ua, _ in USER_AGENTS]
        self._ua_w = [w for _, w in USER_AGENTS]
        self._ip_pop = [p for p, _ in _IP_PREFIXES]
        self._ip_w = [w for _, w in _IP_PREFIXES]
        self._sites = list(_SITE_WEIGHTS)
        self._site_w = list(_SITE_WEIGHTS.values())
        self._hosts = {s.id: s.domains[0] for s in DEMO_SITES}

    def _rhythm(self, now_ms: int) -> float:
        local = datetime.fromtimestamp(now_ms / 1000, tz=UTC) + _VN
        a, b = _HOURLY_SHAPE[local.hour], _HOURLY_SHAPE[(local.hour + 1) % 24]
        return a + (b - a) * local.minute / 60

    def _ip(self) -> str:
        prefix = self._rng.choices(self._ip_pop, self._ip_w)[0]
        return f"{prefix}.{self._rng.randint(0, 255)}.{self._rng.randint(1, 254)}"

    def _start_visit(self, now_ms: int) -> None:
        site = self._rng.choices(self._sites, self._site_w)[0]
        pages = 1 if self._rng.random() < 0.4 else min(12, 1 + int(self._rng.expovariate(1 / 3)))
        self.visits.append(
            _Visit(
                site=site,
                ip=self._ip(),
                ua=self._rng.choices(self._ua_pop, self._ua_w)[0],
                referrer=self._rng.choice(_REFERRERS),
                pages_left=pages,
                next_ms=now_ms,
            )
        )

    def tick(self, now_ms: int, dt_s: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Advance by ``dt_s`` seconds ending at ``now_ms``; return (hits, dossier events)."""
        # Visits start at rate / mean pageviews per visit (~2.6), shaped by the local hour.
        expected = self.rate_per_s / 2.6 * self._rhythm(now_ms) * dt_s
        starts = int(expected) + (1 if self._rng.random() < expected - int(expected) else 0)
        for _ in range(starts):
            self._start_visit(now_ms)
        hits: list[dict[str, Any]] = []
        still: list[_Visit] = []
        for visit in self.visits:
            if visit.next_ms <= now_ms:
                hits.extend(self._visit_hits(visit, now_ms))
            if visit.pages_left > 0:
                still.append(visit)
        self.visits = still
        return hits, self._dossier_events(now_ms, dt_s)

    def _visit_hits(self, visit: _Visit, now_ms: int) -> list[dict[str, Any]]:
        host = self._hosts[visit.site]
        url = f"https://{host}{self._rng.choice(_PAGES[visit.site])}"
        referrer = visit.last_url or visit.referrer
        out = [
            {
                "site": visit.site,
                "url": url,
                "referrer": referrer,
                "type": "pageview",
                "ts": now_ms,
                "ip": visit.ip,
                "ua": visit.ua,
                "event_id": uuid.uuid4().hex,
            }
        ]
        if self._rng.random() < 0.06:
            out.append(
                {
                    "site": visit.site,
                    "url": url,
                    "type": "event",
                    "name": self._rng.choice(("download", "outbound", "search")),
                    "ts": now_ms + 1500,
                    "ip": visit.ip,
                    "ua": visit.ua,
                    "event_id": uuid.uuid4().hex,
                }
            )
        visit.last_url = url
        visit.pages_left -= 1
        visit.next_ms = now_ms + int(self._rng.uniform(8, 150) * 1000)
        return out

    def _dossier_events(self, now_ms: int, dt_s: float) -> list[dict[str, Any]]:
        if self._rng.random() < min(1.0, self.rate_per_s / 40 * self._rhythm(now_ms) * dt_s):
            proc = self._rng.choice(_PROCEDURES)
            channel = "online" if self._rng.random() < (0.8 if proc[2] == 4 else 0.45) else "direct"
            day = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
            code = f"H{day:%y%m%d}-{self._rng.randint(0, 999999):06d}"
            self.dossiers.append(
                _Dossier(code=code, procedure=proc, channel=channel, step=0, next_ms=now_ms)
            )
        events: list[dict[str, Any]] = []
        still: list[_Dossier] = []
        for dossier in self.dossiers:
            if dossier.next_ms <= now_ms:
                events.append(self._dossier_event(dossier, now_ms))
                dossier.step += 1
                dossier.next_ms = now_ms + int(self._rng.uniform(5, 60) * 1000)
            if dossier.step < len(_DOSSIER_FLOW):
                still.append(dossier)
        self.dossiers = still
        return events

    def _dossier_event(self, dossier: _Dossier, now_ms: int) -> dict[str, Any]:
        status = _DOSSIER_FLOW[dossier.step]
        if status == "received":
            dossier.received_ms = now_ms
        event: dict[str, Any] = {
            "event_id": uuid.uuid4().hex,
            "site": "demo-mcdt-hanoi",
            "dossier_code": dossier.code,
            "procedure_code": dossier.procedure[0],
            "procedure_name": dossier.procedure[1],
            "status": status,
            "ts": now_ms,
            "channel": dossier.channel,
            "source": "dvc_portal" if dossier.channel == "online" else "other",
            "submitted_by": "citizen" if self._rng.random() < 0.85 else "officer",
            "admin_level": self._rng.choice(("province", "district", "commune")),
        }
        if dossier.received_ms:
            event["received_at"] = dossier.received_ms
            event["due_at"] = dossier.received_ms + 3 * 60_000
        if status == "received":
            # three dossiers in four digitised (Decision 766 "số hóa hồ sơ"), from the code's
            # last digit so that the demo's random sequence stays as it was
            event["digitized"] = int(dossier.code[-1]) % 4 != 0
        if status == "resolved":
            event["resolved_at"] = now_ms
        if status == "returned":
            event["returned_at"] = now_ms
            event["fee_paid_online"] = dossier.channel == "online"
        return event


async def _post(client: httpx.AsyncClient, path: str, lines: list[dict[str, Any]]) -> int:
    if not lines:
        return 0
    try:
        response = await client.post(path, json=lines)
    except httpx.HTTPError as exc:
        log.warning("demo: %s unreachable (%s); will retry with the next tick", path, exc)
        return 0
    if response.status_code >= 400 and response.status_code != 422:
        log.warning("demo: %s answered %s: %s", path, response.status_code, response.text[:300])
        return 0
    body = response.json()
    for rejected in body.get("rejected", [])[:3]:
        log.warning("demo: %s rejected a line: %s", path, rejected)
    return int(body.get("accepted", 0))


async def run_demo(
    collector_url: str,
    token: str,
    *,
    rate_per_s: float,
    duration_s: float | None = None,
    tick_s: float = 1.0,
    stop: asyncio.Event | None = None,
) -> tuple[int, int]:
    """Post demo traffic until ``duration_s`` passes or ``stop`` is set; returns (hits, dossier
    events) accepted by the collector."""
    stop = stop or asyncio.Event()
    traffic = DemoTraffic(rate_per_s=rate_per_s, seed=random.randrange(1 << 30))
    loop = asyncio.get_running_loop()
    started = loop.time()
    hits_total = dossiers_total = 0
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=collector_url, headers=headers, timeout=30) as client:
        while not stop.is_set() and (duration_s is None or loop.time() - started < duration_s):
            now_ms = int(datetime.now(tz=UTC).timestamp() * 1000)
            hits, dossiers = traffic.tick(now_ms, tick_s)
            hits_total += await _post(client, "/v1/hits", hits)
            dossiers_total += await _post(client, "/v1/dossiers", dossiers)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=tick_s)
    return hits_total, dossiers_total


def expected_visit_share(hour: int) -> float:
    """The demo's relative visit rate for a local hour (used by tests and docs)."""
    return _HOURLY_SHAPE[hour % 24] / max(_HOURLY_SHAPE)
