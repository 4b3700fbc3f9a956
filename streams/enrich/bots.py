"""Bot detection from the user-agent string alone: cheap, so it runs before UA parsing and
GeoIP. ``bot_reason(ua)`` names why a UA is a bot, or returns "" for a browser.

Reasons (``kind:name``):
- ``empty_ua`` — no user agent at all;
- ``script:<client>`` — HTTP libraries and command-line tools (curl, Wget, python-requests,
  python-httpx, aiohttp, Go-http-client, Java/, okhttp, …);
- ``headless:<tool>`` — headless and automated browsers (HeadlessChrome, PhantomJS, Puppeteer,
  Playwright, Selenium, …);
- ``crawler:<name>`` — search engines, SEO tools, link previews and anything calling itself a
  bot, crawler or spider.

user-agents' own ``is_bot`` (ua-parser device family ``Spider``) is applied after parsing, as
a second step (``useragent.UAInfo.is_spider``): this module catches what it misses.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: (regex, reason) in order; the first match names the reason. Case-insensitive.
_SCRIPT = (
    ("curl", r"\bcurl/|^curl\b|\blibcurl\b"),
    ("wget", r"\bwget\b"),
    ("python-requests", r"python-requests"),
    ("python-httpx", r"python-httpx"),
    ("python-urllib", r"python-urllib"),
    ("aiohttp", r"\baiohttp\b"),
    ("go-http-client", r"go-http-client"),
    ("java", r"^java/|\bjava/\d|apache-httpclient"),
    ("okhttp", r"\bokhttp\b"),
    ("libwww-perl", r"libwww-perl"),
    ("httpie", r"\bhttpie/"),
    ("axios", r"^axios/"),
    ("node-fetch", r"node-fetch|^undici\b|^node\b"),
    ("scrapy", r"\bscrapy\b"),
    ("postman", r"postmanruntime"),
    ("powershell", r"windowspowershell"),
    ("k6", r"\bk6/"),
)
_HEADLESS = (
    ("headless-chrome", r"headlesschrome"),
    ("phantomjs", r"phantomjs"),
    ("puppeteer", r"puppeteer"),
    ("playwright", r"playwright"),
    ("selenium", r"selenium|webdriver"),
    ("electron-headless", r"\bheadless\b"),
    ("lighthouse", r"chrome-lighthouse|\blighthouse\b"),
)
_KNOWN_CRAWLERS = (
    "googlebot",
    "google-inspectiontool",
    "googleother",
    "mediapartners-google",
    "adsbot-google",
    "feedfetcher-google",
    "bingbot",
    "bingpreview",
    "yandex.com/bots",
    "baiduspider",
    "duckduckbot",
    "slurp",
    "applebot",
    "coccocbot",
    "facebookexternalhit",
    "facebookcatalog",
    "twitterbot",
    "linkedinbot",
    "telegrambot",
    "whatsapp",
    "zalo-bot",
    "bytespider",
    "petalbot",
    "ahrefsbot",
    "semrushbot",
    "mj12bot",
    "dotbot",
    "gptbot",
    "claudebot",
    "ccbot",
    "amazonbot",
    "uptimerobot",
    "pingdom",
    "statuscake",
    "site24x7",
)
#: Device makers whose names end in "bot" (a phone is not a crawler).
_NOT_CRAWLERS = frozenset({"cubot"})


def _alternation(pairs: tuple[tuple[str, str], ...]) -> re.Pattern[str]:
    return re.compile(
        "|".join(f"(?P<g{i}>{pattern})" for i, (_, pattern) in enumerate(pairs)), re.IGNORECASE
    )


_SCRIPT_RE = _alternation(_SCRIPT)
_HEADLESS_RE = _alternation(_HEADLESS)
_KNOWN_RE = re.compile("|".join(re.escape(name) for name in _KNOWN_CRAWLERS), re.IGNORECASE)
_GENERIC_RE = re.compile(r"(?<![a-z0-9])[a-z0-9_\-]*(?:bot|crawler|spider)(?![a-z])", re.IGNORECASE)


def _named(match: re.Match[str], pairs: tuple[tuple[str, str], ...]) -> str:
    group = match.lastgroup or "g0"
    return pairs[int(group[1:])][0]


@lru_cache(maxsize=16_384)
def bot_reason(ua: str) -> str:
    """Why ``ua`` is a bot (``kind:name``), or "" when it looks like a person's browser."""
    text = ua.strip()
    if not text:
        return "empty_ua"
    if match := _SCRIPT_RE.search(text):
        return f"script:{_named(match, _SCRIPT)}"
    if match := _HEADLESS_RE.search(text):
        return f"headless:{_named(match, _HEADLESS)}"
    if match := _KNOWN_RE.search(text):
        return f"crawler:{match.group(0).lower()}"
    for match in _GENERIC_RE.finditer(text):
        word = match.group(0).lower()
        if word not in _NOT_CRAWLERS:
            return f"crawler:{word}"
    return ""
