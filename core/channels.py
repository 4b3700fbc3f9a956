"""Channels and campaigns of a visit (issue 17 item 2): pure functions over one data file.

Contract: ``campaign(url)`` reads the campaign parameters of a landing URL; ``channel(...)``
classifies a visit by the rules of ``core/channels.toml`` (the passes are written at the top of
that file; ``load_rules`` checks it and names the wrong key); ``visit_source(url,
referrer_host)`` gives both for the sessionizer, which stores them on the visit's row
(``sessions`` columns ``utm_*`` and ``channel``). No I/O but reading the data file once.

Campaign parameters: ``utm_source|medium|campaign|term|content``; Matomo's own tags
``mtm_source|medium|campaign|keyword|content`` and ``pk_source|medium|campaign|keyword|
content`` (``pk_kwd`` too) fill what the ``utm_*`` ones leave empty; Matomo's tracker sends the
campaign it attributed the visitor to as request parameters ``_rcn`` (name) / ``_rck``
(keyword), which the collector appends to the page URL (``ingest/matomo.py``), read here as
campaign and term when the URL has none of its own. Values are cut to ``MAX_VALUE_CHARS``;
sources and mediums are kept as sent (case too) but compared lower case.

Why here (``core``): the sessionizer (``streams``) writes the channel and the indicators read
the channel names; both import ``core``, neither may import the other.

Channel ids are English snake case (``direct``, ``organic_search``, ``social``, ``email``,
``paid``, ``referral``; ``internal`` only at query time), the dashboard shows them in
Vietnamese ("Trực tiếp", "Tìm kiếm tự nhiên", "Mạng xã hội", ...).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DEFAULT_PATH = Path(__file__).resolve().parent / "channels.toml"
#: Every channel id: the stored ones, then ``internal`` (query time, from the agency registry).
DIRECT = "direct"
REFERRAL = "referral"
INTERNAL = "internal"
RULED = ("paid", "email", "social", "organic_search")
CHANNELS = (DIRECT, "organic_search", "social", "email", "paid", REFERRAL, INTERNAL)
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
MAX_VALUE_CHARS = 200

#: Where each campaign field is read from, in order of preference (first non-empty wins).
_PARAMS = {
    "utm_source": ("utm_source", "mtm_source", "pk_source"),
    "utm_medium": ("utm_medium", "mtm_medium", "pk_medium"),
    "utm_campaign": ("utm_campaign", "mtm_campaign", "pk_campaign", "_rcn"),
    "utm_term": ("utm_term", "mtm_keyword", "pk_keyword", "pk_kwd", "_rck"),
    "utm_content": ("utm_content", "mtm_content", "pk_content"),
}
_KEYS = ("mediums", "sources", "hosts", "host_prefixes")
_WILDCARD_TAIL = re.compile(r"^[a-z]{2,3}(\.[a-z]{2,3})?$")


class ChannelRulesError(ValueError):
    """The rules file is wrong; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Rule:
    channel: str
    mediums: frozenset[str]
    sources: frozenset[str]
    hosts: tuple[str, ...]
    host_prefixes: tuple[str, ...]
    click_ids: frozenset[str]

    def host_matches(self, host: str) -> bool:
        if any(host.startswith(p) for p in self.host_prefixes):
            return True
        return any(_host_matches(host, entry) for entry in self.hosts)


def _host_matches(host: str, entry: str) -> bool:
    """``entry`` = ``name.tld``: the host or a subdomain of it; ``name.*``: the label ``name``
    followed by one or two short suffix labels (``google.com``, ``google.com.vn``,
    ``google.de``), with any subdomain before it."""
    if entry.endswith(".*"):
        labels = host.split(".")
        name = entry[:-2]
        return any(
            label == name and _WILDCARD_TAIL.match(".".join(labels[i + 1 :])) is not None
            for i, label in enumerate(labels)
        )
    return host == entry or host.endswith("." + entry)


@dataclass(frozen=True, slots=True)
class Rules:
    ordered: tuple[Rule, ...]

    def rule(self, channel: str) -> Rule:
        return next(r for r in self.ordered if r.channel == channel)


def _strings(path: Path, where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ChannelRulesError(f"{path}: {where} must be a list of non-empty strings")
    return [v.lower() for v in value]


def parse_rules(data: dict[str, Any], path: Path = DEFAULT_PATH) -> Rules:
    """The rules of a parsed TOML document; ``ChannelRulesError`` naming the key otherwise."""
    order = _strings(path, "order", data.get("order"))
    if sorted(order) != sorted(RULED):
        raise ChannelRulesError(f"{path}: order must list each of {', '.join(RULED)} once")
    ordered = []
    for name in order:
        table = data.get(name)
        if not isinstance(table, dict):
            raise ChannelRulesError(f"{path}: missing table [{name}]")
        unknown = set(table) - {*_KEYS, "click_ids"}
        if unknown:
            raise ChannelRulesError(f"{path}: [{name}] has unknown keys {sorted(unknown)}")
        lists = {k: _strings(path, f"[{name}].{k}", table.get(k, [])) for k in _KEYS}
        for entry in lists["hosts"]:
            if "*" in entry and not re.fullmatch(r"[a-z0-9-]+\.\*", entry):
                raise ChannelRulesError(
                    f"{path}: [{name}].hosts {entry!r}: a wildcard is one label and '.*'"
                )
        ordered.append(
            Rule(
                channel=name,
                mediums=frozenset(lists["mediums"]),
                sources=frozenset(lists["sources"]),
                hosts=tuple(lists["hosts"]),
                host_prefixes=tuple(lists["host_prefixes"]),
                click_ids=frozenset(
                    _strings(path, f"[{name}].click_ids", table.get("click_ids", []))
                ),
            )
        )
    return Rules(tuple(ordered))


@cache
def load_rules(path: Path = DEFAULT_PATH) -> Rules:
    """The rules of ``path`` (read once per process)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ChannelRulesError(f"{path}: {exc}") from exc
    return parse_rules(data, path)


def campaign(url: str) -> dict[str, str]:
    """The campaign fields (``UTM_FIELDS``) of a landing URL, '' where absent."""
    out = dict.fromkeys(UTM_FIELDS, "")
    query = _query(url)
    if not query:
        return out
    for field, names in _PARAMS.items():
        for name in names:
            value = query.get(name, "").strip()
            if value:
                out[field] = value[:MAX_VALUE_CHARS]
                break
    return out


def _query(url: str) -> dict[str, str]:
    """The query parameters of ``url`` (first value of each, keys lower case)."""
    if "?" not in url:
        return {}
    try:
        text = urlsplit(url).query
    except ValueError:
        text = url.split("?", 1)[1].split("#", 1)[0]
    return {k.lower(): v for k, v in reversed(parse_qsl(text, keep_blank_values=True))}


def click_ids(url: str) -> frozenset[str]:
    """The names (lower case) of the query parameters of ``url``: the click-id pass reads them."""
    return frozenset(_query(url))


@lru_cache(maxsize=8192)
def channel(
    utm_source: str = "",
    utm_medium: str = "",
    referrer_host: str = "",
    params: frozenset[str] = frozenset(),
    tagged: bool = False,
) -> str:
    """The channel of a visit by the passes of ``core/channels.toml``: ``utm_source`` /
    ``utm_medium`` of the landing URL, the external ``referrer_host`` (lower case, no
    ``www.``; '' = none), the landing URL's parameter names ``params`` (click ids) and whether
    the URL carries any campaign tag (``tagged``)."""
    rules = load_rules()
    medium, source = utm_medium.strip().lower(), utm_source.strip().lower()
    if medium:
        for rule in rules.ordered:
            if medium in rule.mediums:
                return rule.channel
    if params:
        for name in ("paid", "social"):
            if params & rules.rule(name).click_ids:
                return name
    if source:
        for rule in rules.ordered:
            if source in rule.sources:
                return rule.channel
    if referrer_host:
        for rule in rules.ordered:
            if rule.host_matches(referrer_host):
                return rule.channel
        return REFERRAL
    return REFERRAL if (tagged or source or medium) else DIRECT


def visit_source(url: str, referrer_host: str) -> dict[str, str]:
    """The ``utm_*`` fields and the ``channel`` of a visit that landed on ``url`` from
    ``referrer_host``: the columns the sessionizer stores on the visit's row."""
    fields = campaign(url)
    known = load_rules().rule("paid").click_ids | load_rules().rule("social").click_ids
    names = click_ids(url) & known if "?" in url else frozenset()
    tagged = any(fields.values())
    fields["channel"] = channel(
        fields["utm_source"], fields["utm_medium"], referrer_host, names, tagged
    )
    return fields
