"""Channel rules (core/channels.toml) rule by rule, campaign parsing and the rules file's checks.

The expected channels are the passes written at the top of core/channels.toml: medium, then
click ids, then source, then referrer host, then referral / direct."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from core.channels import (
    CHANNELS,
    DEFAULT_PATH,
    MAX_VALUE_CHARS,
    ChannelRulesError,
    campaign,
    channel,
    load_rules,
    parse_rules,
    visit_source,
)

LANDING = "https://dichvucong.hanoi.gov.vn/thu-tuc"


def test_the_shipped_rules_load_and_name_every_ruled_channel() -> None:
    rules = load_rules()
    assert [r.channel for r in rules.ordered] == ["paid", "email", "social", "organic_search"]
    assert set(CHANNELS) == {r.channel for r in rules.ordered} | {"direct", "referral", "internal"}


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        # organic search: Google under any country suffix, Cốc Cốc, Bing and the others
        ("google.com", "organic_search"),
        ("google.com.vn", "organic_search"),
        ("google.co.uk", "organic_search"),
        ("news.google.com", "organic_search"),
        ("coccoc.com", "organic_search"),
        ("bing.com", "organic_search"),
        ("search.yahoo.com", "organic_search"),
        ("duckduckgo.com", "organic_search"),
        ("yandex.ru", "organic_search"),
        ("baidu.com", "organic_search"),
        # social networks, Zalo and the short links of Facebook and YouTube
        ("facebook.com", "social"),
        ("m.facebook.com", "social"),
        ("l.facebook.com", "social"),
        ("fb.com", "social"),
        ("zalo.me", "social"),
        ("chat.zalo.me", "social"),
        ("youtube.com", "social"),
        ("youtu.be", "social"),
        ("tiktok.com", "social"),
        ("t.co", "social"),
        ("linkedin.com", "social"),
        ("pinterest.com.au", "social"),
        # webmail: the big ones and any agency's mail.* host (before search: mail.google.com)
        ("mail.google.com", "email"),
        ("outlook.live.com", "email"),
        ("mail.hanoi.gov.vn", "email"),
        ("webmail.bocongan.gov.vn", "email"),
        # ad servers
        ("googleadservices.com", "paid"),
        ("ad.doubleclick.net", "paid"),
        # anything else is a referral; look-alikes are not matched
        ("baochinhphu.vn", "referral"),
        ("notgoogle.com", "referral"),
        ("google.example.org", "referral"),
        ("facebook.com.evil.net", "referral"),
        ("myfacebook.com", "referral"),
    ],
)
def test_referrer_hosts(host: str, expected: str) -> None:
    assert channel(referrer_host=host) == expected


@pytest.mark.parametrize(
    ("medium", "expected"),
    [
        ("cpc", "paid"),
        ("PPC", "paid"),
        ("paid_social", "paid"),
        ("display", "paid"),
        ("email", "email"),
        ("Newsletter", "email"),
        ("social", "social"),
        ("organic", "organic_search"),
    ],
)
def test_utm_medium_decides_first(medium: str, expected: str) -> None:
    # even over a search engine referrer and a social source
    assert channel("facebook", medium, "google.com") == expected


def test_a_medium_without_a_rule_leaves_it_to_the_next_passes() -> None:
    assert channel("facebook", "referral", "google.com") == "social"  # the source
    assert channel("congbao", "referral", "google.com") == "organic_search"  # the referrer
    assert channel("congbao", "referral", "") == "referral"  # tagged, nothing known


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("google", "organic_search"),
        ("coccoc", "organic_search"),
        ("Cốc Cốc", "organic_search"),
        ("bing", "organic_search"),
        ("facebook", "social"),
        ("fb", "social"),
        ("Zalo", "social"),
        ("youtube", "social"),
        ("tiktok", "social"),
        ("newsletter", "email"),
        ("congbao", "referral"),  # tagged with an unknown source
    ],
)
def test_utm_source_without_medium(source: str, expected: str) -> None:
    assert channel(utm_source=source) == expected


def test_click_ids_come_after_the_medium_and_before_the_source() -> None:
    assert channel(params=frozenset({"gclid"})) == "paid"
    assert channel(params=frozenset({"msclkid"})) == "paid"
    assert channel(referrer_host="google.com", params=frozenset({"gclid"})) == "paid"
    assert channel(params=frozenset({"fbclid"})) == "social"  # a shared link, not an ad
    assert channel(params=frozenset({"zarsrc"})) == "social"  # Zalo's share parameter
    assert channel("newsletter", params=frozenset({"gclid"})) == "paid"
    assert channel(utm_medium="email", params=frozenset({"gclid"})) == "email"


def test_direct_and_referral() -> None:
    assert channel() == "direct"
    assert channel(tagged=True) == "referral"  # e.g. only a campaign name (Matomo _rcn)
    assert channel(referrer_host="dichvucong.gov.vn") == "referral"


def test_campaign_parameters_of_the_landing_url() -> None:
    url = (
        f"{LANDING}?utm_source=Zalo&utm_medium=social&utm_campaign=tet-2026"
        "&utm_term=ho+chieu&utm_content=banner%201#top"
    )
    assert campaign(url) == {
        "utm_source": "Zalo",
        "utm_medium": "social",
        "utm_campaign": "tet-2026",
        "utm_term": "ho chieu",
        "utm_content": "banner 1",
    }
    assert campaign(LANDING) == dict.fromkeys(campaign(url), "")
    # upper-case keys, Matomo's own tags, first value of a repeated key
    assert campaign(f"{LANDING}?UTM_SOURCE=a&utm_source=b")["utm_source"] == "a"
    mtm = campaign(f"{LANDING}?mtm_campaign=c&mtm_keyword=k&pk_source=s&pk_medium=email")
    assert (mtm["utm_campaign"], mtm["utm_term"], mtm["utm_source"], mtm["utm_medium"]) == (
        "c",
        "k",
        "s",
        "email",
    )
    # Matomo's attributed campaign (_rcn / _rck, appended by the collector) only fills gaps
    assert campaign(f"{LANDING}?_rcn=spring&_rck=kw")["utm_campaign"] == "spring"
    assert campaign(f"{LANDING}?_rcn=spring&_rck=kw")["utm_term"] == "kw"
    assert campaign(f"{LANDING}?utm_campaign=own&_rcn=spring")["utm_campaign"] == "own"
    assert len(campaign(f"{LANDING}?utm_campaign={'x' * 500}")["utm_campaign"]) == MAX_VALUE_CHARS
    assert campaign("https://[bad/?utm_source=x")["utm_source"] == "x"  # malformed, still read


def test_visit_source_combines_campaign_and_channel() -> None:
    zalo = visit_source(f"{LANDING}?utm_source=zalo&utm_medium=zalo&zarsrc=30", "")
    assert (zalo["utm_source"], zalo["channel"]) == ("zalo", "social")
    assert visit_source(f"{LANDING}?gclid=abc", "google.com.vn")["channel"] == "paid"
    assert visit_source(LANDING, "coccoc.com")["channel"] == "organic_search"
    assert visit_source(LANDING, "")["channel"] == "direct"
    assert visit_source(f"{LANDING}?_rcn=spring", "")["channel"] == "referral"


def _doc() -> dict[str, object]:
    return tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))


def test_bad_rules_name_the_key() -> None:
    path = Path("x.toml")
    doc = _doc()
    doc["order"] = ["paid", "email", "social"]
    with pytest.raises(ChannelRulesError, match=r"x\.toml: order must list each of"):
        parse_rules(doc, path)
    doc = _doc()
    del doc["email"]
    with pytest.raises(ChannelRulesError, match=r"x.toml: missing table \[email\]"):
        parse_rules(doc, path)
    doc = _doc()
    doc["social"] = {**doc["social"], "hostz": []}  # type: ignore[dict-item]
    with pytest.raises(ChannelRulesError, match=r"\[social\] has unknown keys \['hostz'\]"):
        parse_rules(doc, path)
    doc = _doc()
    doc["social"] = {**doc["social"], "hosts": ["*.facebook.com"]}  # type: ignore[dict-item]
    with pytest.raises(ChannelRulesError, match=r"\[social\].hosts '\*.facebook.com'"):
        parse_rules(doc, path)
    doc = _doc()
    doc["paid"] = {**doc["paid"], "mediums": ["cpc", ""]}  # type: ignore[dict-item]
    with pytest.raises(ChannelRulesError, match=r"\[paid\].mediums must be a list"):
        parse_rules(doc, path)
    with pytest.raises(ChannelRulesError, match=r"nope\.toml"):
        load_rules(Path("/nonexistent/nope.toml"))
