"""The tracker scripts served by the collector (size budget, caching) and the Matomo tracking
protocol, through the collector's HTTP layer with a fake producer (no sockets)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from core.channels import campaign
from core.settings import Settings
from ingest.app import create_app
from ingest.matomo import parse_cdt, translate
from ingest.requests import RequestError
from ingest.sites import SiteCache
from schemas.sites import Site, SiteType
from tests.unit.ingest.test_app import FakeProducer

SITES = [
    Site(
        id="hn",
        name="Hà Nội",
        type=SiteType.PORTAL,
        domains=("hanoi.gov.vn",),
        ingest_token="tok-hn",
        matomo_id=12,
    ),
    Site(id="dvc", name="DVC", type=SiteType.DVC, domains=("dichvucong.hanoi.gov.vn",)),
]
BY_ID = {s.id: s for s in SITES}
UA = {"User-Agent": "Mozilla/5.0 Firefox/120"}


@pytest.fixture()
def producer() -> FakeProducer:
    return FakeProducer()


@pytest.fixture()
def client(producer: FakeProducer, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(admin_token="adm", secret_key="sk", data_dir=tmp_path, topic_prefix="p.")  # type: ignore[arg-type]
    app = create_app(settings, producer=producer, sites=SiteCache.static(SITES))
    with TestClient(app) as test_client:
        yield test_client


# --- scripts ------------------------------------------------------------------------------


def test_emc_js_core_fits_the_size_budget(client: TestClient) -> None:
    response = client.get("/emc.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    gzipped = len(gzip.compress(response.content, compresslevel=9))
    assert gzipped <= 1024, f"emc.js is {gzipped} bytes gzipped, budget 1024"


def test_emc_js_does_what_it_promises(client: TestClient) -> None:
    """A static reading of the script: the parts the issue asks for are there and no cookie
    is ever touched (the browser tests would exercise them; see README)."""
    text = client.get("/emc.js").text
    for needle in ("sendBeacon", "keepalive", "pushState", "popstate", "doNotTrack", "data-links"):
        assert needle in text, needle
    code = "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith(("/*", "<", "data-"))
    )
    assert "cookie" not in code.lower()


def test_scripts_are_cacheable_and_revalidate(client: TestClient) -> None:
    first = client.get("/emc-compat.js")
    assert first.headers["cache-control"] == "public, max-age=3600"
    assert first.headers["access-control-allow-origin"] == "*"
    etag = first.headers["etag"]
    again = client.get("/emc-compat.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/matomo.js").content == first.content
    assert client.get("/emc.js").headers["etag"] != etag
    assert "set-cookie" not in first.headers


def test_compat_script_implements_the_snippet_commands(client: TestClient) -> None:
    text = client.get("/emc-compat.js").text
    for command in (
        "setTrackerUrl",
        "setSiteId",
        "trackPageView",
        "setCustomUrl",
        "setDocumentTitle",
        "trackEvent",
        "enableLinkTracking",
        "trackDVC",
        "trackSiteSearch",
        "_govaq",
        "_paq",
    ):
        assert command in text, command


# --- Matomo translation -------------------------------------------------------------------


def _q(**over: str) -> dict[str, str]:
    base = {"idsite": "12", "rec": "1", "url": "https://hanoi.gov.vn/tin-tuc"}
    base.update(over)
    return base


def test_translate_maps_the_parameters() -> None:
    t = translate(
        _q(urlref="https://google.com/", action_name="Tin tức", _id="abcdef0123456789",
           res="1366x768", h="10", m="5", s="3"),
        BY_ID, "adm",
    )  # fmt: skip
    assert t.site.id == "hn"
    assert t.params == {
        "s": "hn",
        "u": "https://hanoi.gov.vn/tin-tuc",
        "r": "https://google.com/",
        "t": "p",
        "n": "Tin tức",
        "v": "abcdef0123456789",
        "w": 1366,
    }
    assert (t.ip, t.ua, t.ts_ms) == (None, None, None)


@pytest.mark.parametrize(
    ("extra", "kind", "name"),
    [
        ({"e_c": "dvc", "e_a": "submit", "e_n": "1.00123"}, "e", "dvc/submit/1.00123"),
        ({"e_c": "video", "e_a": "play"}, "e", "video/play"),
        ({"link": "https://other.vn/x"}, "e", "outbound:https://other.vn/x"),
        ({"download": "https://hanoi.gov.vn/a.pdf"}, "e", "download:https://hanoi.gov.vn/a.pdf"),
        ({"ping": "1"}, "g", None),
    ],
)
def test_translate_event_kinds(extra: dict[str, str], kind: str, name: str | None) -> None:
    t = translate(_q(**extra), BY_ID, "adm")
    assert t.params["t"] == kind and t.params.get("n") == name


def test_the_attributed_campaign_rides_on_the_page_url() -> None:
    """Issue 17 item 2: Matomo's _rcn / _rck reach the visit's campaign through the URL."""
    t = translate(_q(_rcn="Tết 2026", _rck="hộ chiếu"), BY_ID, "adm")
    assert t.params["u"] == (
        "https://hanoi.gov.vn/tin-tuc?_rcn=T%E1%BA%BFt+2026&_rck=h%E1%BB%99+chi%E1%BA%BFu"
    )
    found = campaign(t.params["u"])
    assert (found["utm_campaign"], found["utm_term"]) == ("Tết 2026", "hộ chiếu")
    tagged = translate(_q(url="https://hanoi.gov.vn/a?utm_campaign=own#x", _rcn="c"), BY_ID, "")
    assert tagged.params["u"] == "https://hanoi.gov.vn/a?utm_campaign=own&_rcn=c#x"
    assert campaign(tagged.params["u"])["utm_campaign"] == "own"  # the URL's own tag wins
    assert translate(_q(_rcn=" "), BY_ID, "adm").params["u"] == "https://hanoi.gov.vn/tin-tuc"


def test_visitor_id_precedence() -> None:
    assert (
        translate(_q(_id="a1", uid="u", cid="c"), BY_ID, "")["v" if False else 0] if False else True
    )
    assert translate(_q(_id="a1", uid="u", cid="c"), BY_ID, "").params["v"] == "c"
    assert translate(_q(_id="a1", uid="u"), BY_ID, "").params["v"] == "u"


def test_overrides_need_a_valid_token() -> None:
    over = {"cip": "203.0.113.9", "ua": "Importer", "cdt": "2025-03-10 02:00:00"}
    untrusted = translate(_q(**over), BY_ID, "adm")
    assert (untrusted.ip, untrusted.ua, untrusted.ts_ms) == (None, None, None)
    wrong = translate(_q(**over, token_auth="tok-other"), BY_ID, "adm")
    assert wrong.ip is None
    for token in ("tok-hn", "adm"):
        trusted = translate(_q(**over, token_auth=token), BY_ID, "adm")
        assert trusted.ip == "203.0.113.9" and trusted.ua == "Importer"
        assert trusted.ts_ms == 1_741_572_000_000
    # a bulk request's shared token counts for its lines
    assert translate(_q(**over), BY_ID, "adm", token="tok-hn").ip == "203.0.113.9"
    # another site's ingest token is not valid for this site
    dvc = translate(
        _q(idsite="dvc", url="https://dichvucong.hanoi.gov.vn/", **over, token_auth="tok-hn"),
        BY_ID,
        "adm",
    )
    assert dvc.ip is None


def test_parse_cdt_forms() -> None:
    assert parse_cdt("1741572000") == 1_741_572_000_000
    assert parse_cdt("1741572000.5") == 1_741_572_000_500
    for bad in ("yesterday", "1e400", "-5", "nan", "inf"):
        with pytest.raises(RequestError, match="cdt:"):
            parse_cdt(bad)


@pytest.mark.parametrize(
    ("q", "status", "start"),
    [
        ({"idsite": "12", "url": "https://hanoi.gov.vn/"}, 400, "rec:"),
        ({"rec": "1", "url": "https://hanoi.gov.vn/"}, 400, "idsite:"),
        ({"idsite": "99", "rec": "1", "url": "https://hanoi.gov.vn/"}, 422, "idsite:"),
        ({"idsite": "12", "rec": "1"}, 400, "url:"),
    ],
)
def test_translate_errors_name_the_parameter(q: dict[str, str], status: int, start: str) -> None:
    with pytest.raises(RequestError) as info:
        translate(q, BY_ID, "adm")
    assert info.value.status == status and info.value.error.startswith(start)


# --- HTTP ---------------------------------------------------------------------------------


def test_get_pixel_and_send_image_0(client: TestClient, producer: FakeProducer) -> None:
    pixel = client.get("/matomo.php", params=_q(action_name="Home"), headers=UA)
    assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
    quiet = client.get("/tracking", params=_q(send_image="0"), headers=UA)
    assert quiet.status_code == 204
    hits = producer.messages()
    assert [h["site"] for h in hits] == ["hn", "hn"]
    assert hits[0]["type"] == "pageview" and hits[0]["name"] == "Home"
    assert hits[0]["ua"] == UA["User-Agent"]


def test_post_form_body(client: TestClient, producer: FakeProducer) -> None:
    response = client.post(
        "/matomo.php",
        content=b"idsite=12&rec=1&url=https%3A%2F%2Fhanoi.gov.vn%2Fa&e_c=dvc&e_a=view&e_n=2.001",
        headers={"Content-Type": "application/x-www-form-urlencoded", **UA},
    )
    assert response.status_code == 200
    hit = producer.messages()[0]
    assert (hit["type"], hit["name"], hit["url"]) == (
        "event",
        "dvc/view/2.001",
        "https://hanoi.gov.vn/a",
    )


def test_foreign_domain_is_refused(client: TestClient, producer: FakeProducer) -> None:
    response = client.get("/tracking", params=_q(url="https://evil.example/"), headers=UA)
    assert response.status_code == 422
    assert response.json()["error"].startswith("host 'evil.example'")
    assert producer.messages() == []


def test_bulk_with_token_and_a_bad_line(client: TestClient, producer: FakeProducer) -> None:
    body = {
        "requests": [
            "?idsite=12&rec=1&url=https%3A%2F%2Fhanoi.gov.vn%2F1&cip=198.51.100.7&cdt=1741572000&ua=Imp",
            "?idsite=12&url=https%3A%2F%2Fhanoi.gov.vn%2F2",
            "?idsite=dvc&rec=1&url=https%3A%2F%2Fdichvucong.hanoi.gov.vn%2F&e_c=dvc&e_a=submit&e_n=1.1",
        ],
        "token_auth": "adm",
    }
    response = client.post("/matomo.php", content=orjson.dumps(body), headers=UA)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert (answer["tracked"], answer["invalid"]) == (2, 1)
    assert answer["invalid_requests"][0]["line"] == 2
    assert answer["invalid_requests"][0]["error"].startswith("rec:")
    first, second = producer.messages()
    assert (first["ip"], first["ua"], first["ts"]) == ("198.51.100.7", "Imp", 1_741_572_000_000)
    assert second["site"] == "dvc" and second["ts"] != 1_741_572_000_000


def test_bulk_errors(client: TestClient) -> None:
    assert client.post("/matomo.php", content=b"{nope").status_code == 400
    bad = client.post("/matomo.php", content=b'{"requests": "x"}')
    assert bad.status_code == 400 and "requests" in bad.json()["error"]
    none_valid = client.post("/matomo.php", content=b'{"requests": ["?idsite=12"]}')
    assert none_valid.status_code == 400 and none_valid.json()["invalid"] == 1


def test_non_utf8_query_strings_are_not_5xx(tmp_path: Path) -> None:
    """Regression (found by the hostile-input fuzzing): a script request with a non-UTF-8
    query string must still be served."""
    from tests.unit.ingest.test_hostile_input import Harness

    harness = Harness(tmp_path)
    try:
        status, _, body = harness.call("GET", "/emc.js", [], [], b"\x80")
        assert status == 200 and b"sendBeacon" in body
        status, headers, body = harness.call("GET", "/matomo.php", [], [], b"idsite=\x80&rec=1")
        assert status == 422 and headers["content-type"].startswith("application/json")
    finally:
        harness.close()


def test_site_index_follows_the_registry_copy() -> None:
    from ingest.matomo import SiteIndex, site_for

    first = SiteIndex.of(BY_ID, None)
    assert SiteIndex.of(BY_ID, first) is first  # same registry copy: reused
    refreshed = {**BY_ID, "new": Site(id="new", name="N", type=SiteType.PORTAL, matomo_id=99)}
    second = SiteIndex.of(refreshed, first)
    assert second is not first and site_for("99", second).id == "new"
    assert site_for("12", first).id == "hn" and site_for("dvc", first).id == "dvc"
