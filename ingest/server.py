"""Run the collector: one process, one uvicorn server (uvloop, httptools, no access log) on
``EMC_COLLECTOR_HOST:EMC_COLLECTOR_PORT``. ``python -m ingest.server`` works.

Several processes on one port (``emc up`` starts ``EMC_COLLECTOR_WORKERS`` of them, each
``emc collector --reuse-port --metrics-dir DIR``): each binds its own listening socket with
``SO_REUSEPORT`` and the kernel spreads new connections over them (a hash of the connection's
addresses and ports). Why not uvicorn's ``workers``: those share one accept queue (with
uvloop the busiest process tends to take most connections) and uvicorn restarts them itself,
outside the supervisor's restart policy and logs; here every worker is an ordinary child of
``emc up``, restarted like the other processes, and a dead one's share of new connections goes
to the others at once (only connections waiting in its own accept queue are lost). Only
sockets of the same user can join a ``SO_REUSEPORT`` port, and ``emc up`` checks the port is
free before it starts any worker, so a stale collector cannot silently share it. Linux spreads
connections this way; other systems may not balance them.

``--metrics-dir``: the processes of one port share their metrics through that folder
(``core.metrics.use_multiprocess``), so ``/metrics`` and ``/stats`` answer for all of them.
Never threads: the collector is one event loop per process.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import uvicorn

from core import metrics
from core.settings import Settings, load_settings


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEADDR`` and ``SO_REUSEPORT``, not yet
    listening (uvicorn listens on it)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def run(settings: Settings, *, reuse_port: bool = False, metrics_dir: Path | None = None) -> None:
    """Serve until interrupted (blocking)."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if metrics_dir is not None:
        metrics.use_multiprocess(metrics_dir)  # before the app creates any metric
    from ingest.app import create_app

    config = uvicorn.Config(
        create_app(settings, metrics_dir=metrics_dir),
        host=settings.collector_host,
        port=settings.collector_port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=settings.log_level.lower(),
        proxy_headers=False,  # client_ip decides, from EMC_TRUSTED_PROXIES
        server_header=False,
    )
    server = uvicorn.Server(config)
    if reuse_port:
        server.run(sockets=[reuse_port_socket(settings.collector_host, settings.collector_port)])
    else:
        server.run()


def main() -> None:
    run(load_settings())


if __name__ == "__main__":
    main()
