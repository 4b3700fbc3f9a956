"""Browser, OS and device from the UA on the Rust resolver; Vietnamese browsers."""

from __future__ import annotations

import pytest

from bench.enrich_bench import _summary, ua_corpus
from streams.enrich.useragent import UAInfo, UserAgentParser, device_from_screen, user_agent
from tests.integration import scenario

ZALO_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 Zalo iOS/24.07.01 ZaloTheme/dark ZaloLanguage/vn"
)
SAMSUNG = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"
)
COC_COC_ANDROID = (
    "Mozilla/5.0 (Linux; Android 12; SM-A525F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "coc_coc_browser/114.0.208 Mobile Chrome/108.0.5359.208 Mobile Safari/537.36"
)


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        (scenario.UA_CHROME, UAInfo("Chrome", "131.0.0", "Windows", "10", "desktop", False)),
        (scenario.UA_IPHONE, UAInfo("Mobile Safari", "17.6", "iOS", "17.6", "mobile", False)),
        (scenario.UA_IPAD, UAInfo("Mobile Safari", "17.6", "iOS", "17.6", "tablet", False)),
        (scenario.UA_COCCOC, UAInfo("Coc Coc", "135.0.202", "Windows", "10", "desktop", False)),
        (COC_COC_ANDROID, UAInfo("Coc Coc", "114.0.208", "Android", "12", "mobile", False)),
        (scenario.UA_ZALO, UAInfo("Zalo", "12100623", "Android", "13", "mobile", False)),
        (ZALO_IOS, UAInfo("Zalo", "24.07.01", "iOS", "17.5.1", "mobile", False)),
        (SAMSUNG, UAInfo("Samsung Internet", "26.0", "Android", "14", "mobile", False)),
    ],
)
def test_browsers_os_and_devices(ua: str, expected: UAInfo) -> None:
    assert UserAgentParser().parse(ua) == expected


def test_unknown_ua_has_empty_names_not_other() -> None:
    info = UserAgentParser().parse("SomethingUnheardOf")
    assert (info.browser, info.os, info.device) == ("", "", "")


def test_results_are_cached_by_ua_string() -> None:
    parser = UserAgentParser(cache_size=8)
    first = parser.parse(scenario.UA_CHROME)
    assert parser.parse(scenario.UA_CHROME) is first


def test_rust_resolver_answers_exactly_like_user_agents_own_parser() -> None:
    corpus = [*ua_corpus(300), scenario.UA_ZALO, ZALO_IOS, SAMSUNG, "", "curl/8.5.0", "x"]
    for ua in corpus:
        assert _summary(user_agent(ua, "rust")) == _summary(user_agent(ua, "python")), ua


def test_python_backend_gives_the_same_info() -> None:
    fast, slow = UserAgentParser(), UserAgentParser(backend="python")
    for ua in (scenario.UA_CHROME, scenario.UA_ZALO, scenario.UA_IPAD, SAMSUNG):
        assert fast.parse(ua) == slow.parse(ua)


@pytest.mark.parametrize(
    ("width", "device"), [(None, ""), (0, ""), (390, "mobile"), (800, "tablet"), (1920, "desktop")]
)
def test_screen_width_fallback(width: int | None, device: str) -> None:
    assert device_from_screen(width) == device
