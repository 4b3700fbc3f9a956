"""Run the collector: one uvicorn worker (uvloop, httptools, no access log) on
``EMC_COLLECTOR_HOST:EMC_COLLECTOR_PORT``. Scale out with more processes behind a proxy
(set ``EMC_TRUSTED_PROXIES``), never with threads. ``python -m ingest.server`` works."""

from __future__ import annotations

import logging

import uvicorn

from core.settings import Settings, load_settings
from ingest.app import create_app


def run(settings: Settings) -> None:
    """Serve until interrupted (blocking)."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    uvicorn.run(
        create_app(settings),
        host=settings.collector_host,
        port=settings.collector_port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=settings.log_level.lower(),
        proxy_headers=False,  # client_ip decides, from EMC_TRUSTED_PROXIES
        server_header=False,
    )


def main() -> None:
    run(load_settings())


if __name__ == "__main__":
    main()
