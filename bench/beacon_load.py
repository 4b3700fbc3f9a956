"""Browser-shaped load for the end-to-end bench: one hit per ``POST /collect``, paced to a rate.

What browsers send, as the tracker sends it: a short-key beacon body as ``text/plain``, the
browser's own User-Agent (the demo's mix: Chrome, Safari, Samsung, Cốc Cốc, Zalo's in-app
browser, a few bots), and — because the stack runs behind a trusted proxy here — the visitor's
Vietnamese address in ``X-Forwarded-For``. Visitors make visits of several pages: request ``j``
is page ``j // visitors`` of visitor ``j % visitors``, so each visitor comes back every
``visitors / rate`` seconds with its next page.

The load runs in ``wrk`` (C, one thread), which a Python generator cannot match at thousands
of requests per second on the same two cores as the stack. ``wrk`` is a closed loop; the Lua
script paces it with a monotonic clock (LuaJIT's FFI) to ``rate`` requests per second over all
connections, so the stack sees a steady rate rather than as much as it can take. The counts
come from ``wrk``'s own summary (requests, non-2xx answers, socket errors).
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import orjson

from emc.demo import USER_AGENTS

#: Vietnamese address blocks (VNPT, Viettel, FPT, CMC) the simulated visitors come from.
VN_PREFIXES = ("14.160", "14.177", "113.160", "113.185", "27.64", "171.224", "42.112", "118.69")
PAGES = (
    "/",
    "/thu-tuc-hanh-chinh",
    "/thu-tuc-hanh-chinh/cap-ho-chieu",
    "/dich-vu-cong/nop-ho-so",
    "/tin-tuc/thong-bao",
    "/tra-cuu-ho-so",
    "/lien-he",
    "/van-ban/quyet-dinh-766",
)


@dataclass(frozen=True)
class WrkResult:
    """What ``wrk`` reported: requests completed, those answered with a status ≥ 400, socket
    errors (connect, read, write, timeout), and its whole summary text."""

    requests: int
    non_2xx: int
    socket_errors: int
    summary: str

    @property
    def accepted(self) -> int:
        return self.requests - self.non_2xx


def beacons(
    site: str, domain: str, visitors: int, pages_per_visit: int
) -> list[tuple[str, str, bytes]]:
    """``visitors * pages_per_visit`` (User-Agent, X-Forwarded-For, body) triples in send order."""
    rng = random.Random(14)
    agents = [ua for ua, weight in USER_AGENTS for _ in range(weight)]
    people = [
        (
            rng.choice(agents),
            f"{rng.choice(VN_PREFIXES)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        )
        for _ in range(visitors)
    ]
    out = []
    for page in range(pages_per_visit):
        for ua, ip in people:
            body: dict[str, str] = {
                "s": site,
                "u": f"https://{domain}{rng.choice(PAGES)}",
                "t": "p",
            }
            if page == 0 and rng.random() < 0.4:
                body["r"] = rng.choice(
                    ("https://www.google.com/", "https://coccoc.com/search", "https://zalo.me/")
                )
            out.append((ua, ip, orjson.dumps(body)))
    return out


def lua_script(requests: list[tuple[str, str, bytes]], rate: float) -> str:
    """A ``wrk`` script sending ``requests`` round robin at ``rate`` per second in all."""

    def quoted(values: list[str]) -> str:
        return ",\n".join(f"[==[{v}]==]" for v in values)

    return f"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct {{ long tv_sec; long tv_nsec; }} emc_timespec;
int clock_gettime(int clk_id, emc_timespec *tp);
]]
local ts = ffi.new("emc_timespec[1]")
local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts[0].tv_sec) * 1000 + tonumber(ts[0].tv_nsec) / 1e6
end
local uas = {{
{quoted([ua for ua, _, _ in requests])}
}}
local ips = {{
{quoted([ip for _, ip, _ in requests])}
}}
local bodies = {{
{quoted([body.decode() for _, _, body in requests])}
}}
local per_ms = {rate / 1000.0!r}
local i = 0
local sent = 0
local start = nil
wrk.method = "POST"
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, "/collect", {{
    ["Content-Type"] = "text/plain;charset=UTF-8",
    ["User-Agent"] = uas[i],
    ["X-Forwarded-For"] = ips[i],
  }}, bodies[i])
end
delay = function()
  if start == nil then start = now_ms() end
  sent = sent + 1
  local wait = start + sent / per_ms - now_ms()
  if wait < 0 then return 0 end
  return wait
end
"""


def run_wrk(url: str, script: Path, duration_s: float, connections: int) -> WrkResult:
    """Run ``wrk`` against ``url`` and parse its summary. Raises ``RuntimeError`` when ``wrk``
    is missing or fails."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("the beacon shape needs wrk (Debian: apt-get install -y wrk)")
    out = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{int(duration_s)}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=duration_s + 120,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"wrk exited {out.returncode}: {out.stderr.strip()[-500:]}")
    text = out.stdout
    found = re.search(r"(\d+) requests in", text)
    if found is None:
        raise RuntimeError(f"no request count in wrk's output: {text[-500:]}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    return WrkResult(
        requests=int(found.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
        summary=text.strip(),
    )
