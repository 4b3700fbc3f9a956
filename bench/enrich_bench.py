"""Micro-benchmarks of the stream worker's pure code: ``python -m bench.enrich_bench``.

1. User agents: user-agents' own (pure-Python ua-parser) path against the Rust resolver path
   of ``useragent.py`` on a corpus of distinct UA strings; fails if any answer differs.
2. The pure hit path of the worker (``HitHandler.handle``: decode JSON → enrichment pipeline →
   sessionizer → encode outputs), bytes in and bytes out, on one core.

Numbers depend on the machine; run it on the target machine.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

_TEMPLATES = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{a}.0.{b}.{c} Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_{d}) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{a}.0.{b}.{c} Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{a}.0.{b}.{c} Safari/537.36",
    "Mozilla/5.0 (Linux; Android {e}; SM-A{c}5F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{a}.0.{b}.{c} Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android {e}; Redmi Note {d}) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{a}.0.{b}.{c} Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android {e}; SM-X{c}0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{a}.0.{b}.{c} Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS {f}_{d} like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/{f}.{d} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS {f}_{d} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/{f}.{d} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_{d}) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/{f}.{d} Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{a}.0) Gecko/20100101 Firefox/{a}.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{a}.0.0.0 Safari/537.36 Edg/{a}.0.{b}.{c}",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{a}.0.0.0 Safari/537.36 OPR/{d}{e}.0.0.0",
    "Mozilla/5.0 (Linux; Android {e}; SM-S{c}B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/{d}.0 Chrome/{a}.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "coc_coc_browser/{a}.0.{c} Chrome/{a}.0.{b}.{c} Safari/537.36",
    "Mozilla/5.0 (Linux; Android {e}; CPH2{c}) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/{a}.0.{b}.{c} Mobile Safari/537.36 Zalo android/121{c}623 "
    "ZaloTheme/light ZaloLanguage/vn",
    "Mozilla/5.0 (iPhone; CPU iPhone OS {f}_{d} like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Mobile/15E148 Zalo iOS/24.{d}.{e} ZaloTheme/dark ZaloLanguage/vn",
    "Mozilla/5.0 (iPhone; CPU iPhone OS {f}_{d} like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/{a}.0.0.{c};FBBV/{b}]",
    "Mozilla/5.0 (Linux; U; Android {e}; vi-vn; M{c}J) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/{a}.0.{b}.{c} Mobile Safari/537.36 XiaoMi/MiuiBrowser/{d}.{e}.0",
    "Mozilla/5.0 (compatible; Googlebot/2.{d}; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.{d}; +http://www.bing.com/bingbot.htm)",
)


def ua_corpus(size: int, seed: int = 7) -> list[str]:
    """``size`` distinct, realistic UA strings."""
    rng = random.Random(seed)
    seen: set[str] = set()
    while len(seen) < size:
        template = rng.choice(_TEMPLATES)
        seen.add(
            template.format(
                a=rng.randint(90, 135),
                b=rng.randint(1000, 7000),
                c=rng.randint(10, 250),
                d=rng.randint(1, 9),
                e=rng.randint(8, 15),
                f=rng.randint(12, 18),
            )
        )
    return sorted(seen)


def _summary(agent: Any) -> tuple[Any, ...]:
    return (
        agent.browser,
        agent.os,
        agent.device,
        agent.is_mobile,
        agent.is_tablet,
        agent.is_pc,
        agent.is_bot,
        agent.is_touch_capable,
        agent.is_email_client,
    )


def bench_user_agents(size: int) -> dict[str, float]:
    """Identical answers on ``size`` distinct UAs, and uncached UAs/s of both backends."""
    from streams.enrich.useragent import user_agent

    corpus = ua_corpus(size)
    user_agent(corpus[0], "rust")  # load the rules outside the timing
    user_agent(corpus[0], "python")
    timings: dict[str, float] = {}
    answers: dict[str, list[tuple[Any, ...]]] = {}
    for backend in ("python", "rust"):
        started = time.perf_counter()
        answers[backend] = [_summary(user_agent(ua, backend)) for ua in corpus]
        timings[backend] = len(corpus) / (time.perf_counter() - started)
    differing = [
        ua for ua, p, r in zip(corpus, answers["python"], answers["rust"], strict=True) if p != r
    ]
    if differing:
        raise AssertionError(f"{len(differing)} UAs parse differently, e.g. {differing[0]!r}")
    return {"uas": len(corpus), "python_per_s": timings["python"], "rust_per_s": timings["rust"]}


def _raw_hits(count: int, visitors: int, seed: int = 11) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) of ``count`` raw hits from ``visitors`` visitors, in time order."""
    rng = random.Random(seed)
    uas = ua_corpus(300)
    people = [
        (uuid.uuid4().hex, f"14.160.{rng.randint(0, 255)}.{rng.randint(1, 254)}", rng.choice(uas))
        for _ in range(visitors)
    ]
    ts = 1_795_000_000_000
    for i in range(count):
        key, ip, ua = rng.choice(people)
        ts += rng.randint(0, 400)
        hit = {
            "event_id": f"bench-{i}",
            "site": "bench",
            "tz": "Asia/Ho_Chi_Minh",
            "ts": ts,
            "received_ms": ts + 5,
            "type": "pageview" if rng.random() < 0.8 else "engagement",
            "url": f"https://bench.gov.vn/tin-tuc/{rng.randint(1, 500)}?utm=x",
            "referrer": rng.choice(["", "https://www.google.com/", "https://bench.gov.vn/"]),
            "ip": ip,
            "ua": ua,
            "visitor_id": key[:32],
            "source": "beacon",
        }
        yield f"bench|{key}".encode(), orjson.dumps(hit)


def bench_hit_path(count: int, visitors: int) -> dict[str, float]:
    """Hits/s of ``HitHandler.handle`` with an in-memory dict as the visitor table."""
    from core.settings import Settings
    from streams.app import HitHandler, Incoming
    from streams.enrich.geoip import GeoIP
    from streams.enrich.metrics import StreamCounters
    from streams.enrich.pipeline import build_pipeline
    from streams.enrich.useragent import UserAgentParser

    with tempfile.TemporaryDirectory() as tmp:
        try:  # a tiny database when run from a checkout, else the configured one
            from tests.mmdb_builder import build_country_mmdb

            geo = GeoIP(build_country_mmdb(Path(tmp) / "geo.mmdb", {"14.160.0.0/16": "VN"}))
        except ImportError:
            geo = GeoIP(Settings().geoip_path)
        counters = StreamCounters()
        handler = HitHandler(
            Settings(data_dir=Path(tmp)), build_pipeline(geo, UserAgentParser(), counters), counters
        )
        messages = list(_raw_hits(count, visitors))
        table: dict[bytes, Any] = {}
        started = time.perf_counter()
        produced = 0
        for offset, (key, value) in enumerate(messages):
            outcome = handler.handle(Incoming("t", 0, offset, key, value), table.get(key), offset)
            if outcome.state is not None:
                table[key] = outcome.state
            produced += len(outcome.messages)
        elapsed = time.perf_counter() - started
    steps = {
        name: counters.step_ns[name] / counters.step_calls[name] / 1000
        for name in counters.step_calls
    }
    return {
        "hits": count,
        "hits_per_s": count / elapsed,
        "messages_out": produced,
        **{f"us_{name}": us for name, us in steps.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uas", type=int, default=3000)
    parser.add_argument("--hits", type=int, default=100_000)
    parser.add_argument("--visitors", type=int, default=5_000)
    args = parser.parse_args()
    print("user agents:", {k: round(v) for k, v in bench_user_agents(args.uas).items()})
    result = bench_hit_path(args.hits, args.visitors)
    print("hit path:", {k: round(v, 2) for k, v in result.items()})


if __name__ == "__main__":
    main()
