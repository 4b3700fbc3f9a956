"""E-mailed reports and lost-connection alerts (issue 18 items 5, 6) end to end: a real SMTP
server (aiosmtpd) started by the test, the warehouse app and its mailer on real chDB.

Known answers come from the datasets of two other tests, whose numbers are counted by hand
there: ``test_report_forms`` (one-stop site ``bg`` of "Tỉnh Bắc Giang", Q1 2026: 30 dossiers
received, 13 online from the portals, 27 resolved, 20 of them before or on the due date —
seed 004 footnote 5's rate 20 / 27 = 74,07 %) and ``test_portal_api`` (site ``hn``: in the week
of 10–16 March 2025, two visits, u1 with two pageviews and u8 with one).
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
import pytest_asyncio
from docx import Document
from openpyxl import load_workbook

from api.app import create_app
from api.mailer import Mailer
from api.ops import instrument
from clickhouse import agencies, catalog, mail_store, registry, tokens
from clickhouse.client import Database
from core.settings import Settings
from schemas.agencies import Agency, AgencyKind
from schemas.sites import Site, SiteType
from tests.integration.smtp_server import SmtpServer, serve_smtp
from tests.integration.test_portal_api import BOTS, VISITS, load
from tests.integration.test_report_forms import CATALOG, HN, SPEC, _events, _store

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TOKEN = "mail-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
CREATED = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture()
def smtp() -> Iterator[SmtpServer]:
    yield from serve_smtp()


def _settings(database: str, port: int, **extra: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        clickhouse_database=database,
        admin_token=TOKEN,
        smtp_url=f"smtp://127.0.0.1:{port}",
        smtp_from="OpenEMC <bao-cao@openemc.test>",
        smtp_timeout_s=5,
        mail_retry_base_s=60,
        **extra,
    )


class World:
    def __init__(self, db: Database, settings: Settings, clock: list[float]) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.mailer = Mailer(settings, db, lambda: clock[0], settle_s=0)
        app = create_app(settings, db, clock=lambda: clock[0], mailer=self.mailer)
        asgi, _ = instrument(app, None, settings)
        self.api = httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://t")
        self.tokens: dict[str, dict[str, str]] = {}

    def at(self, moment: datetime) -> None:
        self.clock[0] = moment.timestamp()

    def tick(self, moment: datetime) -> list[mail_store.Delivery]:
        self.at(moment)
        return self.mailer.tick(moment)


def _build(db: Database) -> None:
    agencies.load(db, [
        Agency(id="p-bg", name="Tỉnh Bắc Giang", kind=AgencyKind.PROVINCE),
        Agency(id="p-hn", name="Thành phố Hà Nội", kind=AgencyKind.PROVINCE),
        Agency(id="d-hn", name="Sở Y tế Hà Nội", kind=AgencyKind.DEPARTMENT, parent_id="p-hn"),
        Agency(id="p-hcm", name="Thành phố Hồ Chí Minh", kind=AgencyKind.PROVINCE),
    ])  # fmt: skip
    placement = {"bg": ("p-bg", SiteType.ONESTOP), "hn": ("d-hn", SiteType.PORTAL),
                 "hcm": ("p-hcm", SiteType.PORTAL)}  # fmt: skip
    for site, (agency, kind) in placement.items():
        registry.upsert_site(
            db, Site(id=site, name=f"Cổng {site}", type=kind, agency_id=agency,
                     domains=(f"{site}.gov.vn",))
        )  # fmt: skip
    catalog.import_catalog(db, "bg", CATALOG, file_name="c", sha256="", make_default=True)
    _store(db, _events("bg", SPEC) + _events("hcm", HN))
    load(db, VISITS, BOTS)


@pytest_asyncio.fixture(loop_scope="session")
async def world(clickhouse_engine: Any, ch_database: str, smtp: SmtpServer) -> AsyncIterator[World]:
    db = Database(clickhouse_engine, ch_database)
    _build(db)
    found = World(db, _settings(ch_database, smtp.port), [CREATED.timestamp()])
    for name, agency, role in (
        ("bg-editor", "p-bg", "editor"),
        ("bg-viewer", "p-bg", "viewer"),
        ("hn-editor", "p-hn", "editor"),
        ("hn-viewer", "p-hn", "viewer"),
    ):
        _, token = tokens.create_token(db, agency, name, role)
        found.tokens[name] = {"Authorization": f"Bearer {token}"}  # fmt: skip
    async with found.api:
        yield found


def _attachments(message: EmailMessage) -> dict[str, bytes]:
    out = {}
    for part in message.iter_attachments():
        name = part.get_filename()
        assert name is not None
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        out[name] = payload
    return out


def _body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def _sheet(content: bytes) -> list[tuple[Any, ...]]:
    return list(load_workbook(io.BytesIO(content)).worksheets[0].iter_rows(values_only=True))


async def test_quarterly_report_mailed_once_with_numbers_and_forms(
    world: World, smtp: SmtpServer
) -> None:
    """A quarterly schedule of the province: after 31 March (local) the Q1 report goes to its
    two addresses with the key numbers in the body and each form attached as XLSX and DOCX;
    further rounds, a restarted mailer and a second poller send nothing more."""
    world.at(datetime(2026, 3, 15, tzinfo=UTC))
    response = await world.api.post("/api/v1/report-schedules", headers=ADMIN, json={
        "id": "bg-q", "agency_id": "p-bg", "period": "quarterly",
        "recipients": ["so-tttt@bacgiang.gov.vn", "vp-ubnd@bacgiang.gov.vn"],
        "forms": ["resolution", "sources", "quarterly"],
    })  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["timezone"] == "Asia/Ho_Chi_Minh"
    # 23:30 local on 31 March: the quarter has not closed yet
    assert world.tick(datetime(2026, 3, 31, 16, 30, tzinfo=UTC)) == []
    assert smtp.inbox.messages == []
    done = world.tick(datetime(2026, 4, 1, 2, 0, tzinfo=UTC))
    assert [(d.id, d.status, d.attempts) for d in done] == [("report:bg-q:2026-01-01", "sent", 1)]
    assert len(smtp.inbox.messages) == 1
    recipients, message = smtp.inbox.messages[0]
    assert recipients == ["so-tttt@bacgiang.gov.vn", "vp-ubnd@bacgiang.gov.vn"]
    assert message["Subject"] == "[OpenEMC] Báo cáo quý I năm 2026: Tỉnh Bắc Giang"
    assert message["From"] == "OpenEMC <bao-cao@openemc.test>"
    body = _body(message)
    assert "(từ ngày 01/01/2026 đến ngày 31/03/2026)" in body
    # test_report_forms' hand counts: received 30 (every channel), 13 online (both portals),
    # 43,3 % online; resolved 27, 20 before or on the due date, 74,1 %
    for line in (
        "- Tổng số hồ sơ tiếp nhận (dossiers received, all channels): 30",
        "- Hồ sơ tiếp nhận trực tuyến (received online): 13",
        "- Tỷ lệ hồ sơ trực tuyến, % (online rate): 43,3",
        "- Hồ sơ đã giải quyết (resolved): 27",
        "- Giải quyết trước và đúng hạn (resolved on time): 20",
        "- Tỷ lệ giải quyết đúng hạn, % (on-time rate): 74,1",
        "- Lượt truy cập (visits): 0",
    ):
        assert line in body, body
    files = _attachments(message)
    assert sorted(files) == [
        "quarterly-2026-Q1.docx", "quarterly-2026-Q1.xlsx", "resolution-2026-Q1.docx",
        "resolution-2026-Q1.xlsx", "sources-2026-Q1.docx", "sources-2026-Q1.xlsx",
    ]  # fmt: skip
    rows = _sheet(files["resolution-2026-Q1.xlsx"])
    assert rows[0][0] == "TÊN ĐƠN VỊ BÁO CÁO: Tỉnh Bắc Giang"
    total = next(r for r in rows if r[1] == "Tổng")
    assert total[2:4] == (30, 27) and total[9] == 74.07
    grid = [[c.text for c in r.cells] for r in Document(io.BytesIO(files["quarterly-2026-Q1.docx"])).tables[1].rows]  # fmt: skip
    assert {r[0]: r[3] for r in grid[1:]}["6.3.1"] == "15"
    # a second round, a restarted mailer (new claimant, no memory) and a second poller
    world.tick(datetime(2026, 4, 1, 3, 0, tzinfo=UTC))
    again = Mailer(world.settings, world.db, time.time, settle_s=0)
    again.tick(datetime(2026, 4, 2, tzinfo=UTC))
    assert len(smtp.inbox.messages) == 1
    log = (await world.api.get("/api/v1/report-deliveries", headers=ADMIN)).json()
    assert [(d["id"], d["status"], d["subject"]) for d in log] == [
        ("report:bg-q:2026-01-01", "sent", message["Subject"])
    ]
    assert log[0]["period"] == {"from": "2026-01-01", "to": "2026-03-31"}
    metrics = (await world.api.get("/metrics", headers=ADMIN)).text
    assert 'emc_mail_sent_total{kind="report"} 1.0' in metrics


async def test_weekly_site_report_has_its_portal_numbers(world: World, smtp: SmtpServer) -> None:
    """A weekly schedule of site ``hn`` (week Monday 10 – Sunday 16 March 2025, local): two
    visits and three pageviews (test_portal_api: u1 /a /e on the 10th, u8 /a on the 11th; the
    bot hit counts nowhere); no dossiers, so the rates have no data."""
    world.at(datetime(2025, 3, 10, 1, 0, tzinfo=UTC))  # Monday 08:00 local
    response = await world.api.post("/api/v1/report-schedules", headers=ADMIN, json={
        "id": "hn-w", "site": "hn", "period": "weekly", "recipients": "a@hn.gov.vn",
    })  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["forms"] == ["resolution", "sources"]
    world.tick(datetime(2025, 3, 17, 2, 0, tzinfo=UTC))
    # the week of 3–9 March closed (Monday 00:00 local) before the schedule existed
    assert [m["Subject"] for _, m in smtp.inbox.messages] == [
        "[OpenEMC] Báo cáo tuần 11 năm 2025: Cổng hn"
    ]
    body = _body(smtp.inbox.messages[0][1])
    assert "- Lượt truy cập (visits): 2" in body
    assert "- Lượt xem trang (pageviews): 3" in body
    assert "- Tỷ lệ hồ sơ trực tuyến, % (online rate): không có số liệu" in body
    rows = _sheet(_attachments(smtp.inbox.messages[0][1])["resolution-2025-W11.xlsx"])
    assert rows[4][0] == "Kỳ báo cáo: Tuần 11 năm 2025 (từ ngày 10/03/2025 đến ngày 16/03/2025)"


async def test_failing_server_is_retried_counted_then_delivered(
    world: World, smtp: SmtpServer
) -> None:
    """The server answers 451, then is down: each failed attempt is counted and waits its
    backoff (60 s, then 120 s); when the server is back the e-mail goes, once."""
    await world.api.post("/api/v1/report-schedules", headers=ADMIN, json={
        "id": "bg-m", "agency_id": "p-bg", "period": "monthly", "recipients": ["x@bg.gov.vn"],
    })  # fmt: skip
    start = datetime(2025, 2, 1, 1, 0, tzinfo=UTC)  # January closed (created 1 January)
    smtp.inbox.fail = "451 4.3.0 try again later"
    [first] = world.tick(start)
    assert (first.status, first.attempts) == ("retry", 1)
    assert "451" in first.last_error
    assert first.next_attempt_at == start + timedelta(seconds=60)
    assert world.tick(start + timedelta(seconds=59)) == []  # still waiting
    smtp.stop()  # now the server is down altogether
    [second] = world.tick(start + timedelta(seconds=60))
    assert (second.status, second.attempts) == ("retry", 2)
    assert "Connection refused" in second.last_error or "111" in second.last_error
    assert second.next_attempt_at == start + timedelta(seconds=180)
    smtp.inbox.fail = ""
    smtp.start()
    [third] = world.tick(start + timedelta(seconds=180))
    assert (third.status, third.attempts, third.last_error) == ("sent", 3, "")
    assert len(smtp.inbox.messages) == 1
    assert "số liệu tháng 1 năm 2025 (từ ngày 01/01/2025" in _body(smtp.inbox.messages[0][1])
    metrics = (await world.api.get("/metrics", headers=ADMIN)).text
    assert 'emc_mail_failed_total{kind="report"} 2.0' in metrics
    assert 'emc_mail_retried_total{kind="report"} 2.0' in metrics
    assert 'emc_mail_sent_total{kind="report"} 1.0' in metrics
    assert 'emc_mail_given_up_total{kind="report"} 0.0' in metrics


async def test_given_up_after_max_attempts(
    clickhouse_engine: Any, ch_database: str, smtp: SmtpServer
) -> None:
    db = Database(clickhouse_engine, ch_database)
    _build(db)
    settings = _settings(ch_database, smtp.port, mail_max_attempts=2)
    mailer = Mailer(settings, db, time.time, settle_s=0)
    schedule = mail_store.Schedule("s", "p-bg", "", "monthly", ("x@bg.gov.vn",), ("sources",),
                                   "Asia/Ho_Chi_Minh", "admin", CREATED)  # fmt: skip
    mail_store.save_schedule(db, schedule)
    smtp.inbox.fail = "452 mailbox full"
    start = datetime(2025, 2, 1, 1, 0, tzinfo=UTC)
    assert [d.status for d in mailer.tick(start)] == ["retry"]
    assert [d.status for d in mailer.tick(start + timedelta(hours=1))] == ["failed"]
    assert mailer.tick(start + timedelta(days=2)) == []  # failed is final
    assert mailer.counts["given_up"]["report"] == 1
    assert mailer.counts["failed"]["report"] == 2


async def test_two_pollers_send_a_report_once(
    clickhouse_engine: Any, ch_database: str, smtp: SmtpServer
) -> None:
    """Two mailers (two API processes) run the same round at the same moment: the claim
    lets one of them send."""
    db = Database(clickhouse_engine, ch_database)
    _build(db)
    settings = _settings(ch_database, smtp.port)
    schedule = mail_store.Schedule("s2", "p-bg", "", "monthly", ("x@bg.gov.vn",), ("sources",),
                                   "Asia/Ho_Chi_Minh", "admin", CREATED)  # fmt: skip
    mail_store.save_schedule(db, schedule)
    pollers = [Mailer(settings, db, time.time, settle_s=0.3) for _ in range(2)]
    moment = datetime(2025, 2, 1, 1, 0, tzinfo=UTC)
    barrier = threading.Barrier(2)

    def run(mailer: Mailer) -> None:
        barrier.wait()
        mailer.tick(moment)

    threads = [threading.Thread(target=run, args=(m,)) for m in pollers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(smtp.inbox.messages) == 1
    assert sum(m.counts["sent"]["report"] for m in pollers) == 1


#: Receipt hours (UTC) of the sites of the silence test: ``hn`` (agency d-hn) sent 08–11 UTC
#: on 16–18 April 2025 and stopped; ``hcm`` keeps sending.
NOW = datetime(2025, 4, 20, 12, 30, tzinfo=UTC)


def _receipts(db: Database, site: str, hours: list[datetime]) -> None:
    rows = []
    for n, hour in enumerate(hours):
        moment = (hour + timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
        rows.append(
            f"('{site}-r{n}-{hour:%d%H}', '{site}', '{moment}', '{moment}', '{moment}', 'v')"
        )
    db.command(
        "INSERT INTO pageviews (event_id, site, ts, local_ts, received_ts, visitor_id) VALUES "
        + ", ".join(rows)
    )


async def test_silent_site_alerts_its_contacts_once_per_episode(
    world: World, smtp: SmtpServer
) -> None:
    """``hn`` (of the department d-hn, which has no contacts) falls silent: the province's
    contacts that take alerts get one e-mail with the draft letter; later rounds send nothing
    more; when the site comes back and falls silent again, a new episode is alerted."""
    hours = [datetime(2025, 4, d, h, tzinfo=UTC) for d in (16, 17, 18) for h in (8, 9, 10, 11)]
    _receipts(world.db, "hn", hours)
    _receipts(world.db, "hcm", [NOW - timedelta(hours=h) for h in range(0, 72)])
    for body in (
        {"id": "c1", "name": "Nguyễn Văn A", "email": "a@hanoi.gov.vn", "title": "Trưởng phòng"},
        {"id": "c2", "name": "Trần B", "email": "b@hanoi.gov.vn", "silence_alerts": False},
    ):
        response = await world.api.post(
            "/api/v1/agencies/p-hn/contacts", headers=world.tokens["hn-editor"], json=body
        )
        assert response.status_code == 201, response.text
    done = world.tick(NOW)
    silence = [d for d in done if d.kind == "silence"]
    assert [(d.site, d.agency_id, d.status) for d in silence] == [("hn", "p-hn", "sent")]
    alerts = [(r, m) for r, m in smtp.inbox.messages if "Mất kết nối" in str(m["Subject"])]
    assert len(alerts) == 1
    recipients, message = alerts[0]
    assert recipients == ["a@hanoi.gov.vn"]
    # last receipt 18 April 11:05 UTC = 18:05 local
    assert message["Subject"] == (
        "[OpenEMC] Mất kết nối: Cổng hn không gửi dữ liệu từ 18:05 ngày 18/04/2025"
    )
    assert "đã 49 giờ" in _body(message)
    [(name, letter)] = _attachments(message).items()
    assert name == "don-doc-ket-noi-p-hn-20250420.docx"
    rows = [[c.text for c in r.cells] for r in Document(io.BytesIO(letter)).tables[1].rows]
    assert [r[1] for r in rows[1:]] == ["Cổng hn (hn)"]
    for later in (NOW + timedelta(minutes=5), NOW + timedelta(hours=3)):
        world.tick(later)
    assert sum("Mất kết nối" in str(m["Subject"]) for _, m in smtp.inbox.messages) == 1
    episodes = (await world.api.get(
        "/api/v1/agencies/p-hn/silence-alerts", headers=world.tokens["hn-viewer"]
    )).json()  # fmt: skip
    assert [(e["site"], e["last_event"], e["recipients"]) for e in episodes] == [
        ("hn", "2025-04-18T11:05:00+00:00", ["a@hanoi.gov.vn"])
    ]
    # back for an hour, then silent again: a new episode
    _receipts(world.db, "hn", [NOW + timedelta(hours=4)])
    world.tick(NOW + timedelta(hours=5))
    world.tick(NOW + timedelta(days=4))
    subjects = [
        str(m["Subject"]) for _, m in smtp.inbox.messages if "Mất kết nối" in str(m["Subject"])
    ]
    assert subjects[1:] == [
        "[OpenEMC] Mất kết nối: Cổng hn không gửi dữ liệu từ 23:35 ngày 20/04/2025"
    ]


async def test_connection_letter_docx(world: World) -> None:
    """Seed 000's layout: "V/v đôn đốc kết nối …" under the issuer, "Kính gửi" the agency, the
    body, the table with a row per silent site and its last-seen time (local), the closing,
    "Nơi nhận" and the signer."""
    hours = [datetime(2025, 4, d, h, tzinfo=UTC) for d in (16, 17, 18) for h in (8, 9, 10, 11)]
    _receipts(world.db, "hn", hours)
    world.at(NOW)
    response = await world.api.get(
        "/api/v1/agencies/p-hn/connection-letter.docx", headers=world.tokens["hn-viewer"]
    )
    assert response.status_code == 200, response.text
    assert (
        'filename="don-doc-ket-noi-p-hn-20250420.docx"' in response.headers["content-disposition"]
    )
    document = Document(io.BytesIO(response.content))
    heading, table, signature = (
        [[c.text for c in r.cells] for r in t.rows] for t in document.tables
    )
    assert heading[0][1] == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert heading[2][0].startswith("V/v đôn đốc kết nối Hệ thống thu thập")
    assert heading[2][1] == "Hà Nội, ngày 20 tháng 04 năm 2025"
    paragraphs = [p.text for p in document.paragraphs]
    assert "Kính gửi: Thành phố Hà Nội" in paragraphs
    assert any("bị ngắt trong thời gian vừa qua" in p for p in paragraphs)
    assert table[0][:4] == ["STT", "Hệ thống (mã)", "Tên miền", "Dữ liệu nhận lần cuối"]
    assert table[1][:5] == ["1", "Cổng hn (hn)", "hn.gov.vn", "18:05 18/04/2025", "49"]
    assert table[1][5].endswith("giờ)")  # the gaps of the last 30 days, local times
    assert signature[0] == ["Nơi nhận:", "THỦ TRƯỞNG ĐƠN VỊ"]
    # another agency's token: 404 as for an unknown agency
    other = await world.api.get(
        "/api/v1/agencies/p-hn/connection-letter.docx", headers=world.tokens["bg-viewer"]
    )
    assert other.status_code == 404


async def test_send_now_and_mail_off(world: World, smtp: SmtpServer) -> None:
    await world.api.post("/api/v1/report-schedules", headers=ADMIN, json={
        "id": "bg-now", "agency_id": "p-bg", "period": "monthly", "recipients": ["n@bg.gov.vn"],
    })  # fmt: skip
    world.at(datetime(2026, 4, 15, tzinfo=UTC))
    response = await world.api.post(
        "/api/v1/report-schedules/bg-now/send-now",
        headers=world.tokens["bg-editor"],
        json={"day": "2026-02-10"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "sent"
    assert response.json()["period"] == {"from": "2026-02-01", "to": "2026-02-28"}
    assert [str(m["Subject"]) for _, m in smtp.inbox.messages] == [
        "[OpenEMC] Báo cáo tháng 2 năm 2026: Tỉnh Bắc Giang"
    ]
    off = Settings(clickhouse_database=world.settings.clickhouse_database, admin_token=TOKEN)  # type: ignore[arg-type]
    app = create_app(off, world.db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as api:
        refused = await api.post("/api/v1/report-schedules/bg-now/send-now", headers=ADMIN)
    assert refused.status_code == 503
    assert "EMC_SMTP_URL" in refused.json()["error"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"agency_id": "p-bg", "period": "daily", "recipients": ["a@b.vn"]}, 422, "period:"),
        ({"agency_id": "p-bg", "period": "weekly", "recipients": ["a@b.vn", "nope"]}, 422,
         "recipients[1]: 'nope' is not an e-mail address"),
        ({"agency_id": "p-bg", "period": "weekly", "recipients": ["a@b.vn"],
          "forms": ["quarterly"]}, 422, "forms[0]: the quarterly form"),
        ({"agency_id": "p-bg", "site": "bg", "period": "weekly", "recipients": ["a@b.vn"]},
         422, "agency_id: give exactly one"),
        ({"site": "nowhere", "period": "weekly", "recipients": ["a@b.vn"]}, 404, "site:"),
        ({"agency_id": "p-bg", "period": "weekly", "recipients": ["a@b.vn"],
          "timezone": "Mars/Base"}, 422, "timezone:"),
    ],
)  # fmt: skip
async def test_schedule_bad_input(
    world: World, body: dict[str, Any], status: int, message: str
) -> None:
    response = await world.api.post("/api/v1/report-schedules", headers=ADMIN, json=body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


async def test_isolation_of_every_route(world: World) -> None:
    """Each new route: no token 401; another agency's token 404 (like an unknown id); a viewer
    403 on the editor routes; the own editor allowed; lists show only the token's subtree."""
    await world.api.post(
        "/api/v1/report-schedules",
        headers=ADMIN,
        json={"id": "hn-s", "site": "hn", "period": "monthly", "recipients": ["a@hn.gov.vn"]},
    )
    await world.api.post("/api/v1/agencies/p-hn/contacts", headers=ADMIN, json={
        "id": "c1", "email": "a@hanoi.gov.vn"})  # fmt: skip
    bg, bgv, hn, hnv = (world.tokens[k] for k in ("bg-editor", "bg-viewer", "hn-editor",
                                                  "hn-viewer"))  # fmt: skip
    new = {"site": "hn", "period": "weekly", "recipients": ["z@hn.gov.vn"]}
    routes: list[tuple[str, str, Any]] = [
        ("GET", "/api/v1/report-schedules/hn-s", None),
        ("DELETE", "/api/v1/report-schedules/hn-s", None),
        ("POST", "/api/v1/report-schedules/hn-s/send-now", None),
        ("POST", "/api/v1/report-schedules", new),
        ("GET", "/api/v1/agencies/p-hn/contacts", None),
        ("POST", "/api/v1/agencies/p-hn/contacts", {"email": "q@hn.gov.vn"}),
        ("DELETE", "/api/v1/agencies/p-hn/contacts/c1", None),
        ("GET", "/api/v1/agencies/p-hn/silence-alerts", None),
        ("GET", "/api/v1/agencies/p-hn/connection-letter.docx", None),
        ("GET", "/api/v1/report-deliveries?schedule=hn-s", None),
    ]
    editor_only = {("DELETE", "/api/v1/report-schedules/hn-s"),
                   ("POST", "/api/v1/report-schedules/hn-s/send-now"),
                   ("POST", "/api/v1/report-schedules"),
                   ("POST", "/api/v1/agencies/p-hn/contacts"),
                   ("DELETE", "/api/v1/agencies/p-hn/contacts/c1")}  # fmt: skip
    for method, path, body in routes:
        nobody = await world.api.request(method, path, json=body)
        assert nobody.status_code == 401, (method, path)
        outsider = await world.api.request(method, path, json=body, headers=bg)
        assert outsider.status_code == 404, (method, path, outsider.text)
        viewer = await world.api.request(method, path, json=body, headers=hnv if (
            method, path) in editor_only else bgv)  # fmt: skip
        assert viewer.status_code == (403 if (method, path) in editor_only else 404), (
            method, path, viewer.text)  # fmt: skip
    # the own viewer reads, the own editor writes
    assert (await world.api.get("/api/v1/report-schedules/hn-s", headers=hnv)).status_code == 200
    assert (await world.api.get("/api/v1/agencies/p-hn/contacts", headers=hnv)).json()[0][
        "email"] == "a@hanoi.gov.vn"  # fmt: skip
    made = await world.api.post("/api/v1/report-schedules", headers=hn, json={**new, "id": "n1"})
    assert made.status_code == 201 and made.json()["created_by"] == "agency:p-hn"
    listed = (await world.api.get("/api/v1/report-schedules", headers=bgv)).json()
    assert listed == []
    assert {s["id"] for s in (await world.api.get("/api/v1/report-schedules", headers=hnv)).json()} == {"hn-s", "n1"}  # fmt: skip
    assert (await world.api.delete("/api/v1/agencies/p-hn/contacts/c1", headers=hn)).status_code == 200  # fmt: skip
    assert (await world.api.delete("/api/v1/report-schedules/n1", headers=hn)).json() == {"deleted": "n1"}  # fmt: skip
    assert (await world.api.get("/api/v1/report-schedules/n1", headers=hnv)).status_code == 404
