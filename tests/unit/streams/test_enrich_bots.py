"""Bot detection from the UA string, and the parser-based ``is_spider`` second opinion."""

from __future__ import annotations

import pytest

from streams.enrich.bots import bot_reason
from streams.enrich.useragent import UserAgentParser
from tests.integration import scenario

HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("ua", "reason"),
    [
        ("", "empty_ua"),
        ("   ", "empty_ua"),
        ("curl/8.5.0", "script:curl"),
        ("Wget/1.21.4", "script:wget"),
        ("python-requests/2.31.0", "script:python-requests"),
        ("python-httpx/0.28.1", "script:python-httpx"),
        ("Python/3.11 aiohttp/3.9.1", "script:aiohttp"),
        ("Go-http-client/2.0", "script:go-http-client"),
        ("Java/17.0.2", "script:java"),
        ("okhttp/4.12.0", "script:okhttp"),
        (HEADLESS, "headless:headless-chrome"),
        (
            "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 PhantomJS/2.1.1",
            "headless:phantomjs",
        ),
        ("Mozilla/5.0 Chrome/120.0 Safari/537.36 Puppeteer", "headless:puppeteer"),
        ("Mozilla/5.0 Chrome/120.0 Safari/537.36 Playwright/1.40", "headless:playwright"),
        ("Mozilla/5.0 (Windows NT 10.0) Selenium/4.15", "headless:selenium"),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "crawler:googlebot",
        ),
        (
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            "crawler:bingbot",
        ),
        (
            "Mozilla/5.0 (compatible; coccocbot-web/1.0; +http://help.coccoc.com/searchengine)",
            "crawler:coccocbot",
        ),
        (
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "crawler:facebookexternalhit",
        ),
        ("Mozilla/5.0 (compatible; SomeNewBot/0.1)", "crawler:somenewbot"),
        ("MyCrawler/1.0 (+https://example.org)", "crawler:mycrawler"),
    ],
)
def test_scripts_headless_browsers_and_crawlers_are_named(ua: str, reason: str) -> None:
    assert bot_reason(ua) == reason


@pytest.mark.parametrize(
    "ua",
    [
        scenario.UA_CHROME,
        scenario.UA_IPHONE,
        scenario.UA_IPAD,
        scenario.UA_ZALO,
        scenario.UA_COCCOC,
        # a phone whose maker's name ends in "bot"
        "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36",
    ],
)
def test_browsers_are_not_bots(ua: str) -> None:
    assert bot_reason(ua) == ""
    assert not UserAgentParser().parse(ua).is_spider


def test_ua_parser_spiders_are_recognised_by_the_parser() -> None:
    # a crawler the string rules do not name still has ua-parser's "Spider" device family
    assert UserAgentParser().parse("Mozilla/5.0 (compatible; Googlebot/2.1)").is_spider
