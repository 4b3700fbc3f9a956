"""The demo's world as data: sites, pages, visitors, traffic sources, campaigns and services.

Everything ``emc.demo`` draws from lives here so the generator stays about behaviour and the
numbers a demo shows can be read (and changed) in one place. Nothing here does I/O.

Why these shapes: the dashboard's screens only say something when the data has the structure
real portals have — a Vietnam-time day/night rhythm, quieter weekends, search and Zalo/Facebook
traffic beside direct visits, a few tagged campaigns that run for some weeks, procedure pages
on the public-service portal that lead to online submissions, and a service catalog whose
procedure codes are exactly the ones the dossiers use (levels 4, 3 and 0, one code missing on
purpose so ``unknown_procedures`` has an example).
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.agencies import Agency, AgencyKind
from schemas.sites import Site, SiteType

#: The one-stop system and the public-service portal whose numbers the official forms read.
ONESTOP_SITE = "demo-mcdt-hanoi"
DVC_SITE = "demo-dvc-hanoi"
#: The Matomo ``idsite`` of the public-service portal: its live page views and ``trackDVC``
#: events go through the EMC-compatible tracker endpoint, as ``_govaq`` sends them.
DVC_MATOMO_ID = 9001

#: The agencies the demo sites belong to: a ministry and three provinces, so rankings, agency
#: reports and "another site of the same agency" (the Internal channel) have data.
DEMO_AGENCIES: tuple[Agency, ...] = (
    Agency(id="demo-bo-tttt", name="Bộ Thông tin và Truyền thông (demo)", kind=AgencyKind.MINISTRY),
    Agency(id="demo-tp-ha-noi", name="UBND thành phố Hà Nội (demo)", kind=AgencyKind.PROVINCE),
    Agency(id="demo-tp-hcm", name="UBND Thành phố Hồ Chí Minh (demo)", kind=AgencyKind.PROVINCE),
    Agency(id="demo-tp-da-nang", name="UBND thành phố Đà Nẵng (demo)", kind=AgencyKind.PROVINCE),
)

DEMO_SITES: tuple[Site, ...] = (
    Site(
        id="demo-mic",
        agency_id="demo-bo-tttt",
        name="Cổng TTĐT Bộ Thông tin và Truyền thông (demo)",
        type=SiteType.PORTAL,
        domains=("mic.gov.vn", "*.mic.gov.vn"),
    ),
    Site(
        id="demo-hanoi",
        agency_id="demo-tp-ha-noi",
        name="Cổng TTĐT thành phố Hà Nội (demo)",
        type=SiteType.PORTAL,
        domains=("hanoi.gov.vn", "*.hanoi.gov.vn"),
    ),
    Site(
        id="demo-hcm",
        agency_id="demo-tp-hcm",
        name="Cổng TTĐT Thành phố Hồ Chí Minh (demo)",
        type=SiteType.PORTAL,
        domains=("hochiminhcity.gov.vn", "*.hochiminhcity.gov.vn"),
    ),
    Site(
        id="demo-danang",
        agency_id="demo-tp-da-nang",
        name="Cổng TTĐT thành phố Đà Nẵng (demo)",
        type=SiteType.PORTAL,
        domains=("danang.gov.vn",),
    ),
    Site(
        id=DVC_SITE,
        agency_id="demo-tp-ha-noi",
        name="Cổng Dịch vụ công Hà Nội (demo)",
        type=SiteType.DVC,
        domains=("dichvucong.hanoi.gov.vn",),
        matomo_id=DVC_MATOMO_ID,
    ),
    Site(
        id=ONESTOP_SITE,
        agency_id="demo-tp-ha-noi",
        name="Hệ thống một cửa điện tử Hà Nội (demo)",
        type=SiteType.ONESTOP,
        domains=("motcua.hanoi.gov.vn",),
    ),
)

#: Relative traffic weight of each site that receives page views.
SITE_WEIGHTS = {"demo-mic": 3, "demo-hanoi": 5, "demo-hcm": 6, "demo-danang": 2, DVC_SITE: 4}

#: Pages per site, the first (home) drawn most often as a landing page.
PAGES: dict[str, tuple[str, ...]] = {
    "demo-mic": (
        "/",
        "/tin-tuc",
        "/tin-tuc/chuyen-doi-so-quoc-gia",
        "/van-ban-phap-luat",
        "/thu-tuc-hanh-chinh",
        "/lien-he",
        "/chinh-phu-so",
        "/bao-chi-xuat-ban",
        "/tim-kiem",
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
        "/tim-kiem",
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
    DVC_SITE: (
        "/",
        "/dich-vu-cong-truc-tuyen",
        "/tra-cuu-ho-so",
        "/thanh-toan",
        "/huong-dan",
        "/dang-nhap",
    ),
}

#: Documents a page may offer for download (``download:PATH`` events, as emc.js sends them).
DOWNLOADS = (
    "/files/van-ban/quyet-dinh-766-qd-ttg.pdf",
    "/files/bieu-mau/to-khai-dang-ky-khai-sinh.docx",
    "/files/bao-cao/bao-cao-quy-3-2026.xlsx",
    "/files/quy-hoach/ban-do-quy-hoach.pdf",
)
#: Links out of the site (``outbound:URL`` events).
OUTBOUND = (
    "https://dichvucong.gov.vn/p/home/dvc-trang-chu.html",
    "https://chinhphu.vn/",
    "https://zalo.me/hanoi.gov.vn",
    "https://www.facebook.com/congthongtindientuhanoi",
    "https://vneid.gov.vn/",
)

#: Custom events (``emc("name", {props})``): (name, property name, values).
CUSTOM_EVENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("search", "query", ("khai sinh", "giấy phép xây dựng", "học phí", "lịch tiếp dân")),
    ("share", "network", ("zalo", "facebook", "email")),
    ("video_play", "video", ("huong-dan-nop-ho-so", "ban-tin-tuan")),
    ("newsletter_signup", "topic", ("tin-tuc", "van-ban")),
    ("feedback_sent", "topic", ("thu-tuc", "website")),
)


@dataclass(frozen=True, slots=True)
class Source:
    """Where a visit comes from: its referrer and the utm tags on its landing URL."""

    referrer: str = ""
    utm: tuple[tuple[str, str], ...] = ()


#: (source, weight) of a visit that is not part of a campaign. Internal = another site of the
#: same city (hanoi.gov.vn → dichvucong.hanoi.gov.vn).
SOURCES: tuple[tuple[Source, int], ...] = (
    (Source(), 30),
    (Source("https://www.google.com/"), 18),
    (Source("https://www.google.com.vn/"), 8),
    (Source("https://coccoc.com/search?query=th%E1%BB%A7+t%E1%BB%A5c"), 8),
    (Source("https://www.bing.com/"), 2),
    (Source("https://www.facebook.com/"), 5),
    (Source("https://m.facebook.com/"), 3),
    (Source("https://zalo.me/"), 6),
    (Source("https://www.youtube.com/"), 1),
    (Source("https://chinhphu.vn/"), 3),
    (Source("https://baochinhphu.vn/"), 2),
    (Source("https://dichvucong.gov.vn/p/home/dvc-trang-chu.html"), 3),
    (Source("https://vnexpress.net/"), 2),
    (Source("https://hanoi.gov.vn/"), 2),
    (Source("https://dichvucong.hanoi.gov.vn/"), 1),
)


@dataclass(frozen=True, slots=True)
class Campaign:
    """A tagged push that runs for ``days`` days, ending ``ends_days_ago`` days before now;
    while it runs it brings ``share`` of the visits of ``sites``."""

    source: Source
    sites: tuple[str, ...]
    ends_days_ago: int
    days: int
    share: float


def _utm(source: str, medium: str, campaign: str) -> tuple[tuple[str, str], ...]:
    return (("utm_source", source), ("utm_medium", medium), ("utm_campaign", campaign))


CAMPAIGNS: tuple[Campaign, ...] = (
    Campaign(
        Source("https://zalo.me/", _utm("zalo", "social", "dvc-toan-trinh")),
        (DVC_SITE, "demo-hanoi"),
        ends_days_ago=0,
        days=30,
        share=0.08,
    ),
    Campaign(
        Source("", _utm("newsletter", "email", "ban-tin-thang-10")),
        ("demo-mic",),
        ends_days_ago=40,
        days=14,
        share=0.12,
    ),
    Campaign(
        Source("https://www.facebook.com/", _utm("facebook", "cpc", "khao-sat-hai-long")),
        ("demo-hcm", "demo-danang", DVC_SITE),
        ends_days_ago=10,
        days=21,
        share=0.06,
    ),
    Campaign(
        Source("https://www.google.com/", _utm("google", "cpc", "du-lich-da-nang")),
        ("demo-danang",),
        ends_days_ago=55,
        days=20,
        share=0.15,
    ),
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
IP_PREFIXES: tuple[tuple[str, int], ...] = (
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
HOURLY_SHAPE = (
    0.15, 0.08, 0.05, 0.05, 0.08, 0.2, 0.45, 0.8, 1.0, 1.0, 0.95, 0.85,
    0.6, 0.7, 0.95, 1.0, 0.95, 0.8, 0.6, 0.7, 0.8, 0.7, 0.5, 0.3,
)  # fmt: skip
#: Traffic of each weekday (Monday = 0) relative to a working day: government portals are
#: quiet at the weekend.
WEEKDAY_SHAPE = (1.0, 1.0, 0.97, 0.95, 0.9, 0.55, 0.45)


@dataclass(frozen=True, slots=True)
class Procedure:
    """A public service of the demo catalog. ``fee``: the dossier asks for a payment;
    ``days``: the promised processing time; ``weight``: how often it is used."""

    code: str
    name: str
    level: int
    days: int
    weight: int
    fee: bool = False


#: The catalog imported for the DVC portal and the one-stop system (``ID MCDT`` = code).
PROCEDURES: tuple[Procedure, ...] = (
    Procedure("1.001193", "Đăng ký khai sinh", 4, 1, 14),
    Procedure("1.000894", "Đăng ký kết hôn", 3, 3, 6),
    Procedure("2.000635", "Cấp bản sao trích lục hộ tịch", 4, 1, 9),
    Procedure("2.000720", "Đăng ký thành lập hộ kinh doanh", 4, 3, 8, fee=True),
    Procedure("2.000889", "Đăng ký thay đổi nội dung đăng ký hộ kinh doanh", 4, 3, 4, fee=True),
    Procedure("1.009972", "Cấp giấy phép xây dựng nhà ở riêng lẻ", 3, 15, 5, fee=True),
    Procedure("1.004227", "Đăng ký biến động quyền sử dụng đất", 3, 10, 6, fee=True),
    Procedure("2.001193", "Chứng thực bản sao từ bản chính", 3, 1, 10, fee=True),
    Procedure("1.010726", "Cấp đổi giấy phép lái xe", 4, 5, 7, fee=True),
    Procedure("1.001612", "Đăng ký thường trú", 4, 7, 6),
    Procedure("1.000656", "Đăng ký khai tử", 4, 1, 2),
    Procedure("2.000930", "Công nhận báo cáo viên pháp luật", 0, 7, 1),
    Procedure("1.003003", "Cấp giấy phép khai thác khoáng sản", 0, 30, 1, fee=True),
)
#: A code the one-stop system sends that is missing from the catalog, so the one-stop screen's
#: "unknown procedures" list has an example (about one dossier in a hundred).
UNKNOWN_PROCEDURE = Procedure("1.012999", "Thủ tục chưa có trong danh mục", 3, 5, 0)

#: Share of dossiers received online, by level.
ONLINE_SHARE = {4: 0.8, 3: 0.45, 0: 0.0}

#: The goals and funnels of issue 17 item 4 that the demo traffic supports, per site. Page
#: patterns use ``*`` for any text; an event is the exact event name the demo sends. The goals
#: are defined through ``/api/v1/sites/{site}/goals`` when the demo starts
#: (``emc.demo_run.define_goals``); a funnel is a query (``/api/v1/portal/funnel?step=…``).
DEMO_GOALS: tuple[dict[str, str], ...] = (
    {"site": DVC_SITE, "id": "nop-ho-so", "name": "Nộp hồ sơ trực tuyến",
     "page": "/nop-ho-so/*/hoan-thanh"},
    {"site": DVC_SITE, "id": "tra-cuu", "name": "Tra cứu hồ sơ", "page": "/tra-cuu-ho-so"},
    {"site": "demo-mic", "id": "ban-tin", "name": "Đăng ký bản tin", "event": "newsletter_signup"},
    {"site": "demo-hanoi", "id": "gop-y", "name": "Gửi góp ý", "event": "feedback_sent"},
    {"site": "demo-hcm", "id": "dau-tu", "name": "Xem trang đầu tư", "page": "/dau-tu"},
)  # fmt: skip
DEMO_FUNNELS: tuple[dict[str, object], ...] = (
    {
        "site": DVC_SITE,
        "name": "Nộp hồ sơ trực tuyến",
        "steps": ("/thu-tuc/*", "/nop-ho-so/*", "/nop-ho-so/*/hoan-thanh"),
    },
)
