"""Browser, OS and device type from the user-agent string.

user-agents 2.2 classifies (``is_mobile``, ``is_tablet``, ``is_pc``, ``is_bot``) on top of
ua-parser, but its ``UserAgent.__init__`` calls ``ua_parser.user_agent_parser.Parse`` — the
legacy pure-Python API that runs every regex with ``re`` (~1,700 UAs/s here). ua-parser 1.0 also
ships a Rust resolver (``ua_parser.regex.Resolver`` over ``ua_parser_rs``, installed by the
``ua-parser[regex]`` extra) built from the same uap-core rules. ``_FastUserAgent`` feeds that
resolver's answer, reshaped into the legacy dict, to user-agents' own ``parse_*`` helpers, so
every user-agents property keeps its exact logic; ``python -m bench.enrich_bench`` checks
that both paths give identical answers on a corpus and measures the speed-up.

Vietnamese specifics: Cốc Cốc (``coc_coc_browser``) is reported as "Coc Coc", the Zalo in-app
browser (``Zalo`` in the UA; Android shows as Chrome Mobile WebView, iOS as WKWebView) as
"Zalo". Results are cached by UA string (LRU).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from user_agents.parsers import (
    UserAgent,
    parse_browser,
    parse_device,
    parse_operating_system,
)

Backend = Literal["rust", "python"]

_COC_COC_RE = re.compile(r"coc_coc_browser/([\d.]+)")
_ZALO_RE = re.compile(r"Zalo(?:\s+(?:android|iOS|PC))?/([\w.]+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class UAInfo:
    """What the pipeline keeps of a parsed UA. ``device`` is ``desktop``, ``mobile``,
    ``tablet`` or "" (unknown); ``is_spider`` is user-agents' ``is_bot``."""

    browser: str
    browser_version: str
    os: str
    os_version: str
    device: str
    is_spider: bool


class _FastUserAgent(UserAgent):  # type: ignore[misc]
    """user-agents' ``UserAgent`` built from an already parsed legacy-shaped dict (the same
    three assignments as ``UserAgent.__init__``, minus its call to the slow parser)."""

    def __init__(self, ua_string: str, parsed: dict[str, dict[str, Any]]) -> None:
        self.ua_string = ua_string
        self.os = parse_operating_system(**parsed["os"])
        self.browser = parse_browser(**parsed["user_agent"])
        self.device = parse_device(**parsed["device"])


def _rust_parse() -> Callable[[str], dict[str, dict[str, Any]]]:
    """A function returning ``ua_parser.user_agent_parser.Parse``'s dict, computed by the Rust
    resolver. Legacy defaults are reproduced: families default to "Other", browser versions
    turn "" into None (``v1 or None``), OS and device values are passed through."""
    from ua_parser import Domain, load_lazy_builtins
    from ua_parser.regex import Resolver

    resolver = Resolver(load_lazy_builtins())

    def parse(ua: str) -> dict[str, dict[str, Any]]:
        result = resolver(ua, Domain.ALL)
        agent, os, device = result.user_agent, result.os, result.device
        return {
            "user_agent": {
                "family": agent.family if agent else "Other",
                "major": (agent.major or None) if agent else None,
                "minor": (agent.minor or None) if agent else None,
                "patch": (agent.patch or None) if agent else None,
            },
            "os": {
                "family": os.family if os else "Other",
                "major": os.major if os else None,
                "minor": os.minor if os else None,
                "patch": os.patch if os else None,
                "patch_minor": os.patch_minor if os else None,
            },
            "device": {
                "family": device.family if device else "Other",
                "brand": device.brand if device else None,
                "model": device.model if device else None,
            },
        }

    return parse


def user_agent(ua: str, backend: Backend = "rust") -> UserAgent:
    """user-agents' ``UserAgent`` for ``ua`` (uncached): ``rust`` uses the fast resolver,
    ``python`` the library's own path (for comparisons)."""
    if backend == "python":
        return UserAgent(ua)
    return _FastUserAgent(ua, _rust_parser()(ua))


@lru_cache(maxsize=1)
def _rust_parser() -> Callable[[str], dict[str, dict[str, Any]]]:
    return _rust_parse()


def _device(agent: UserAgent) -> str:
    if agent.is_tablet:
        return "tablet"
    if agent.is_mobile:
        return "mobile"
    if agent.is_pc:
        return "desktop"
    return ""


def _info(ua: str, agent: UserAgent) -> UAInfo:
    browser, version = agent.browser.family, agent.browser.version_string
    if "coc_coc_browser" in ua:
        browser = "Coc Coc"
        match = _COC_COC_RE.search(ua)
        version = match.group(1) if match else version
    elif "Zalo" in ua:
        browser = "Zalo"
        match = _ZALO_RE.search(ua)
        version = match.group(1) if match else ""
    os_name = agent.os.family
    return UAInfo(
        browser="" if browser == "Other" else browser,
        browser_version=version,
        os="" if os_name == "Other" else os_name,
        os_version=agent.os.version_string,
        device=_device(agent),
        is_spider=bool(agent.is_bot),
    )


class UserAgentParser:
    """Parses UA strings into ``UAInfo`` with an LRU cache of ``cache_size`` strings."""

    def __init__(self, cache_size: int = 20_000, backend: Backend = "rust") -> None:
        self.backend: Backend = backend

        def parse(ua: str) -> UAInfo:
            return _info(ua, user_agent(ua, self.backend))

        self.parse: Callable[[str], UAInfo] = lru_cache(maxsize=cache_size)(parse)


def device_from_screen(screen_width: int | None) -> str:
    """Fallback device type from the beacon's screen width when the UA does not say
    (Plausible's breakpoints: < 576 px mobile, < 992 px tablet, else desktop)."""
    if not screen_width:
        return ""
    if screen_width < 576:
        return "mobile"
    if screen_width < 992:
        return "tablet"
    return "desktop"
