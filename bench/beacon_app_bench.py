"""CPU of the collector's app per beacon, in-process: raw ASGI calls of ``POST /collect`` with
a producer that acknowledges at once, no server, no sockets, no broker. What the handler itself
costs on a warm cache (under real load add cache misses, uvicorn and the producer: see
``bench.collector_bench``). Prints µs per beacon; nothing asserted.

    .venv/bin/python -m bench.beacon_app_bench --beacons 50000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvloop

from bench.collector_bench import SITE, _beacons
from core.settings import Settings
from ingest.app import create_app
from ingest.sites import SiteCache


class _Acknowledging:
    """A producer whose broker acknowledges at once."""

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def ready(self) -> bool:
        return True

    async def send_batch(self, topic: str, items: Sequence[tuple[bytes, bytes]]) -> None:
        pass


async def _run(count: int) -> None:
    settings = Settings(
        admin_token="bench", secret_key="bench-secret", data_dir=Path(tempfile.mkdtemp())
    )
    app = create_app(settings, producer=_Acknowledging(), sites=SiteCache.static([SITE]))
    requests: list[tuple[dict[str, Any], bytes]] = []
    for ua, body in _beacons(1000):
        headers = [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"text/plain;charset=UTF-8"),
            (b"user-agent", ua.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "POST", "scheme": "http", "path": "/collect",
                 "raw_path": b"/collect", "query_string": b"", "root_path": "",
                 "headers": headers, "client": ("127.0.0.1", 40000),
                 "server": ("127.0.0.1", 8000)}  # fmt: skip
        requests.append((scope, body))

    async def send(message: Any) -> None:
        pass

    async def one(scope: dict[str, Any], body: bytes) -> None:
        message = {"type": "http.request", "body": body, "more_body": False}

        async def receive() -> dict[str, Any]:
            return message

        await app(dict(scope), receive, send)

    async with app.router.lifespan_context(app):
        for scope, body in requests * 3:  # warm-up
            await one(scope, body)
        started = time.process_time()
        for i in range(count):
            await one(*requests[i % len(requests)])
        cpu_s = time.process_time() - started
    print(f"collector app, POST /collect in-process: {cpu_s * 1e6 / count:.1f} µs CPU per beacon")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beacons", type=int, default=50_000)
    uvloop.run(_run(parser.parse_args().beacons))


if __name__ == "__main__":
    main()
