"""URL parts: host, path without query string and fragment, external referrer host."""

from __future__ import annotations

import pytest

from streams.enrich.urls import url_parts, url_path


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://a.gov.vn/tin-tuc?id=1&x=2", "/tin-tuc"),
        ("https://a.gov.vn/tin-tuc#phan-2", "/tin-tuc"),
        ("https://a.gov.vn", "/"),
        ("https://a.gov.vn/thu-tuc/", "/thu-tuc/"),
        ("/relative/path?q=1", "/relative/path"),
        ("https://a.gov.vn/v%C4%83n-b%E1%BA%A3n", "/v%C4%83n-b%E1%BA%A3n"),
    ],
)
def test_path_drops_query_and_fragment(url: str, path: str) -> None:
    assert url_path(url) == path


def test_host_is_lower_case_without_port() -> None:
    parts = url_parts("https://WWW.A.Gov.VN:8443/x", "")
    assert parts.host == "www.a.gov.vn"
    assert parts.referrer_host == ""


def test_external_referrer_host_without_www() -> None:
    assert url_parts("https://a.gov.vn/", "https://www.Google.com/search?q=x").referrer_host == (
        "google.com"
    )
    assert url_parts("https://a.gov.vn/", "android-app://com.zing.zalo/").referrer_host == (
        "com.zing.zalo"
    )


@pytest.mark.parametrize(
    ("url", "referrer"),
    [
        ("https://a.gov.vn/b", "https://a.gov.vn/a"),
        ("https://a.gov.vn/b", "https://www.a.gov.vn/a"),
        ("https://www.a.gov.vn/b", "http://A.GOV.VN:80/"),
    ],
)
def test_referrer_from_the_same_host_is_internal(url: str, referrer: str) -> None:
    assert url_parts(url, referrer).referrer_host == ""


def test_subdomain_referrer_is_external() -> None:
    assert url_parts("https://a.gov.vn/", "https://dichvucong.a.gov.vn/").referrer_host == (
        "dichvucong.a.gov.vn"
    )


def test_malformed_url_keeps_a_path_and_no_host() -> None:
    parts = url_parts("http://[::1/trang?x=1", "http://[bad")
    assert parts == type(parts)(host="", path="/trang", referrer_host="")
