"""Soak run: the whole stack (`emc up --no-demo`) at a steady rate for minutes; is memory flat,
is lag flat?

Every ``--sample-every`` seconds it records the RSS of each stack process (collector, stream
worker, warehouse, Kafka broker JVM; VmRSS from /proc), the lag of the streams and sink
consumer groups (messages and age of the oldest pending message, `broker.lag`), the collector's
accepted hits/s, rejected lines and 5xx answers (its /metrics), the rows in `pageviews` and the
visitor states the stream worker holds (its /metrics) and the machine's 1-minute load
average (the machine may be shared). At the end: the table of samples and a
verdict per series with its threshold beside it (definitions in `bench.soak_stats`; never
asserted). Exit code 0 unless the stack failed to start (1) or a process died (2, named).

    .venv/bin/python -m bench.soak --rate 500 --duration 600 --csv soak.csv
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.soak_stats import (
    FINAL_LAG_S,
    LAG_SLOPE_PCT,
    MEMORY_FLAT_PCT,
    lag_verdict,
    memory_verdict,
)
from bench.stack import ROLES, LoadCounts, Stack, load_parser, start_stack, steady_load
from broker.lag import measure
from core.metrics_auth import probe_headers

NAN = float("nan")


@dataclass
class Sample:
    """One row of the soak table (rates are over the interval since the previous sample)."""

    t: float
    rss_mb: dict[str, float]
    cpu_pct: dict[str, float]
    lag_messages: dict[str, float]
    lag_seconds: dict[str, float]
    end_offsets: dict[str, float]
    accepted_per_s: float
    rejected: float
    http_5xx: float
    client_errors: float
    pageviews: float
    visitor_states: float
    streams_in_per_s: float
    load1: float
    totals: dict[str, float] = field(default_factory=dict)

    def row(self) -> dict[str, float]:
        out = {"t_s": round(self.t, 1)}
        out |= {f"rss_mb_{k}": round(v, 1) for k, v in self.rss_mb.items()}
        out |= {f"cpu_pct_{k}": round(v, 1) for k, v in self.cpu_pct.items()}
        for group in self.lag_messages:
            out[f"lag_{group}_msgs"] = self.lag_messages[group]
            out[f"lag_{group}_s"] = round(self.lag_seconds[group], 2)
            out[f"end_{group}"] = self.end_offsets[group]
        out |= {
            "accepted_per_s": round(self.accepted_per_s, 1),
            "rejected": self.rejected,
            "http_5xx": self.http_5xx,
            "client_errors": self.client_errors,
            "pageviews_rows": self.pageviews,
            "visitor_states": self.visitor_states,
            "streams_in_per_s": round(self.streams_in_per_s, 1),
            "load1": round(self.load1, 2),
        }
        return out


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB (NaN when the process is gone)."""
    try:
        for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return NAN


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far, in seconds (NaN when the process is gone)."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return NAN
    fields = stat[stat.rfind(")") + 2 :].split()
    # fields 14 and 15 of proc(5) (utime, stime) are at 11 and 12 after the command name
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as dead)."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def metric_sums(text: str) -> dict[str, float]:
    """Prometheus text → value per sample name summed over labels; ``http_5xx`` is the sum of
    ``emc_http_requests_total`` with a 5xx status."""
    sums: dict[str, float] = {"http_5xx": 0.0}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            sums[s.name] = sums.get(s.name, 0.0) + s.value
            if s.name == "emc_http_requests_total" and s.labels.get("status", "").startswith("5"):
                sums["http_5xx"] += s.value
    return sums


async def _scrape(
    client: httpx.AsyncClient, url: str, headers: Mapping[str, str]
) -> dict[str, float]:
    try:
        response = await client.get(url, headers=headers, timeout=10)
        response.raise_for_status()
    except httpx.HTTPError:
        return {}
    return metric_sums(response.text)


async def _pageviews(client: httpx.AsyncClient, stack: Stack) -> float:
    try:
        response = await client.post(
            f"{stack.api_url}/api/v1/sql",
            json={"sql": "SELECT count() FROM pageviews"},
            headers={"Authorization": f"Bearer {stack.token}"},
            timeout=30,
        )
        return float(response.json()["rows"][0][0])
    except (httpx.HTTPError, KeyError, IndexError, ValueError):
        return NAN


async def take_sample(
    stack: Stack,
    client: httpx.AsyncClient,
    pids: dict[str, int],
    t: float,
    previous: Sample | None,
    counts: LoadCounts,
) -> Sample:
    rss = {role: rss_mb(pid) for role, pid in pids.items()}
    groups = stack.groups()
    lag_m, lag_s = dict.fromkeys(groups, NAN), dict.fromkeys(groups, NAN)
    ends = dict.fromkeys(groups, NAN)
    try:
        rows = await measure(
            stack.settings.bootstrap_servers, {g: topics for g, topics in groups.values()}
        )
    except Exception as exc:  # Kafka gone or slow: this sample has no lag, the run goes on
        print(f"  lag not measured: {exc!r}", flush=True)
        rows = []
    for name, (group, _) in groups.items():
        mine = [r for r in rows if r.group == group]
        if mine:
            lag_m[name] = float(sum(r.lag for r in mine))
            lag_s[name] = max(r.lag_s for r in mine)
            ends[name] = float(sum(r.end for r in mine))
    ops = probe_headers(stack.settings)  # EMC_METRICS_TOKEN, when the environment sets it
    collector = await _scrape(client, f"{stack.collector_url}/metrics", ops)
    streams = await _scrape(client, f"{stack.streams_url}/metrics", ops)
    totals = {
        **{f"cpu_{role}": cpu_seconds(pid) for role, pid in pids.items()},
        # an absent counter is 0 when the scrape answered (nothing counted yet), else unknown
        "streams_in": streams.get("emc_stream_messages_total", 0.0 if streams else NAN),
        "accepted": collector.get("emc_collector_accepted_total", 0.0 if collector else NAN),
        "rejected": collector.get("emc_collector_rejected_total", 0.0),
        "http_5xx": collector.get("http_5xx", NAN),
        "client_errors": float(counts.errors + sum(counts.statuses.values())),
    }
    # the first sample is the baseline: its deltas and rates are 0
    before = previous.totals if previous else totals
    dt = t - previous.t if previous else 0.0
    delta = {k: v - before[k] for k, v in totals.items()}
    per_s = {k: v / dt if dt > 0 else 0.0 for k, v in delta.items()}
    return Sample(
        t=t,
        rss_mb=rss,
        cpu_pct={role: 100.0 * per_s[f"cpu_{role}"] for role in pids},
        lag_messages=lag_m,
        lag_seconds=lag_s,
        end_offsets=ends,
        accepted_per_s=per_s["accepted"],
        rejected=delta["rejected"],
        http_5xx=delta["http_5xx"],
        client_errors=delta["client_errors"],
        pageviews=await _pageviews(client, stack),
        visitor_states=streams.get("emc_stream_visitor_states", NAN),
        streams_in_per_s=per_s["streams_in"],
        load1=os.getloadavg()[0],
        totals=totals,
    )


def _fmt(v: float) -> str:
    if isinstance(v, float) and math.isnan(v):
        return "-"
    return f"{v:,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:,.1f}"


def print_table(samples: list[Sample]) -> None:
    rows = [s.row() for s in samples]
    header = [k for k in rows[0] if not k.startswith(("end_", "cpu_pct_"))]
    cells = [[_fmt(r[k]) for k in header] for r in rows]
    short = [h.replace("rss_mb_", "MB ").replace("lag_", "lag ") for h in header]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(short)]
    print("  ".join(h.rjust(w) for h, w in zip(short, widths, strict=True)))
    for c in cells:
        print("  ".join(v.rjust(w) for v, w in zip(c, widths, strict=True)))


def print_verdicts(samples: list[Sample], rate: float) -> None:
    ts = [s.t for s in samples]
    print(
        f"\nmemory (mean RSS per third of the run; flat = last third < {MEMORY_FLAT_PCT:g} % "
        "above the middle third):"
    )
    for role in ROLES:
        series = [s.rss_mb.get(role, NAN) for s in samples]
        if any(math.isnan(v) for v in series):
            print(f"  {role:<10} not measured in every sample")
            continue
        m = memory_verdict(ts, series)
        print(
            f"  {role:<10} {m.first_mb:7.1f} → {m.middle_mb:7.1f} → {m.last_mb:7.1f} MB; "
            f"first→last {m.growth_mb:+.1f} MB ({m.growth_pct:+.1f} %), "
            f"middle→last {m.late_growth_pct:+.1f} % (< {MEMORY_FLAT_PCT:g} %): "
            f"{'flat' if m.flat else 'GROWING'}"
        )
    busy = samples[1:]
    if busy:
        cpu = ", ".join(
            f"{role} {sum(s.cpu_pct[role] for s in busy) / len(busy):.0f} %" for role in ROLES
        )
        print(f"\ncpu (mean % of one core over the run; the machine has {os.cpu_count()}): {cpu}")
        inflow = [s.streams_in_per_s for s in busy if not math.isnan(s.streams_in_per_s)] or [NAN]
        print(
            f"stream worker consumed {min(inflow):,.0f}–{max(inflow):,.0f} msgs/s per interval "
            f"(mean {sum(inflow) / len(inflow):,.0f}); machine load average (1 min) "
            f"{min(s.load1 for s in samples):.1f}–{max(s.load1 for s in samples):.1f}"
        )
    print(
        f"\nlag (slope by least squares over the second half; flat = slope < {LAG_SLOPE_PCT:g} % "
        f"of the group's arrivals per minute and final lag ≤ {FINAL_LAG_S:g} s of arrivals):"
    )
    for group in samples[0].lag_messages:
        measured = [s for s in samples if not math.isnan(s.lag_messages[group])]
        if len(measured) < 2:
            print(f"  {group:<10} lag measured in fewer than 2 samples")
            continue
        v = lag_verdict(
            [s.t for s in measured],
            [s.lag_messages[group] for s in measured],
            [s.lag_seconds[group] for s in measured],
            [s.end_offsets[group] for s in measured],
        )
        print(
            f"  {group:<10} slope {v.slope_per_min:+,.0f} msgs/min "
            f"(< {v.slope_limit_per_min:,.0f}); final {v.final_messages:,.0f} msgs "
            f"(≤ {v.final_limit_messages:,.0f}), oldest pending {v.final_seconds:.1f} s; "
            f"arrivals {v.arrival_per_s:,.0f} msgs/s: {'flat' if v.flat else 'GROWING'}"
        )
    steady = [s.accepted_per_s for s in samples[1:]]
    if steady:
        print(
            f"\nload: asked {rate:g} hits/s, accepted {min(steady):,.0f}–{max(steady):,.0f} "
            f"hits/s per interval; rejected {sum(s.rejected for s in samples):,.0f}, "
            f"5xx {sum(s.http_5xx for s in samples):,.0f}, "
            f"client-side failures {sum(s.client_errors for s in samples):,.0f}"
        )


def write_csv(path: Path, samples: list[Sample]) -> None:
    rows = [s.row() for s in samples]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"samples written to {path}")


def _dead(stack: Stack, pids: dict[str, int]) -> list[str]:
    dead = [role for role, pid in pids.items() if not alive(pid)]
    if stack.proc.poll() is not None:
        dead.append(f"emc up (exit {stack.proc.returncode})")
    return dead


def _report_dead(stack: Stack, dead: list[str]) -> int:
    """Say which processes are gone and which one the supervisor saw die first; exit code 2.
    (The supervisor stops the whole stack when one child dies, so several may be gone.)"""
    first = [line for line in stack.lines if "exited unexpectedly" in line]
    print(f"process died: {first[0] if first else ', '.join(dead)}")
    print(f"gone now: {', '.join(dead)}; last stack output:")
    print("\n".join(f"  stack: {line}" for line in list(stack.lines)[-30:]))
    stack.keep_data = True
    return 2


async def _run(args: argparse.Namespace, stack: Stack) -> int:
    stack.register_site()
    pids = stack.pids()
    missing = sorted(set(ROLES) - set(pids))
    if missing:
        print(f"stack processes not found: {', '.join(missing)}")
        stack.keep_data = True
        return 2
    print("processes: " + ", ".join(f"{r}={p}" for r, p in pids.items()), flush=True)
    counts = LoadCounts()
    samples: list[Sample] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    load = asyncio.create_task(
        steady_load(stack.collector_url, stack.token, args.rate, args.duration, args.batch, counts)
    )
    code = 0
    async with httpx.AsyncClient() as client:
        for k in range(math.ceil(args.duration / args.sample_every) + 1):
            at = min(k * args.sample_every, args.duration)
            await asyncio.sleep(max(0.0, start + at - loop.time()))
            if load.done() and load.exception() is not None:
                print(f"load generator failed: {load.exception()!r}")
                break
            if dead := _dead(stack, pids):
                code = _report_dead(stack, dead)
                break
            sample = await take_sample(
                stack, client, pids, loop.time() - start, samples[-1] if samples else None, counts
            )
            samples.append(sample)
            lag = " ".join(
                f"{g}={sample.lag_messages[g]:,.0f}/{sample.lag_seconds[g]:.1f}s"
                for g in sample.lag_messages
            )
            rss = " ".join(f"{r}={v:.0f}" for r, v in sample.rss_mb.items())
            cpu = " ".join(f"{r}={v:.0f}" for r, v in sample.cpu_pct.items())
            print(
                f"  t={sample.t:5.0f}s MB {rss} | cpu % {cpu} | lag {lag} | "
                f"{sample.accepted_per_s:,.0f} hits/s | load {sample.load1:.1f}",
                flush=True,
            )
            if dead := _dead(stack, pids):
                code = _report_dead(stack, dead)
                break
    if code:
        load.cancel()
    else:
        await asyncio.wait_for(load, timeout=120)
    print()
    print_table(samples)
    if len(samples) >= 3:
        print_verdicts(samples, args.rate)
    else:
        print("too few samples for a verdict")
    if args.csv:
        write_csv(Path(args.csv), samples)
    return code


async def _main(args: argparse.Namespace) -> int:
    stack = start_stack()
    if stack is None:
        return 1
    try:
        return await _run(args, stack)
    finally:
        stack.stop()


def main() -> int:
    parser = load_parser(__doc__, rate=500, duration_s=600, batch=50)
    parser.add_argument("--sample-every", type=float, default=15, help="seconds between samples")
    parser.add_argument("--csv", help="write the samples to this CSV file")
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
