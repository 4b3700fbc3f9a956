"""The ports ``emc up`` will listen on, and which of them cannot be had.

``emc up`` checks every one of them before it starts anything (``run_stack``), so a taken port
is one line naming the setting to change and exit code 2, instead of a broker that dies with a
Java stack trace or a child whose uvicorn traceback scrolls by in a log tail.

Contract: ``port_problems`` is pure given its ``probe`` (one message per port that cannot be
bound, in the order of the listeners, plus one per port that two of our own listeners would
share); ``bind_probe`` binds a real socket the way the processes do (``SO_REUSEADDR``, like
uvicorn and the JVM) and closes it at once. The check is advisory: a port taken between the
check and the start still fails in the child, as before.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.settings import Settings

#: ``probe(host, port)``: None when the port can be bound there, else the ``OSError`` raised.
Probe = Callable[[str, int], OSError | None]


@dataclass(frozen=True, slots=True)
class Listener:
    """One socket the stack listens on: who, where, and the settings that move it."""

    name: str
    setting: str
    host: str
    port: int
    host_setting: str = ""


def stack_listeners(settings: Settings) -> list[Listener]:
    """Every listening socket of ``emc up``: the local brokers' two each (only when no
    external Kafka is configured; ``EMC_KAFKA_NODES`` of them), the warehouse, each stream
    worker's web port, the collector."""
    out: list[Listener] = []
    if settings.uses_local_kafka:
        nodes = settings.kafka_nodes
        for i in range(nodes):
            suffix = f" {i + 1}" if nodes > 1 else ""
            out += [
                Listener(
                    f"Kafka broker{suffix}",
                    "EMC_KAFKA_PORT",
                    "127.0.0.1",
                    settings.kafka_port + 2 * i,
                ),
                Listener(
                    f"Kafka controller{suffix}",
                    "EMC_KAFKA_CONTROLLER_PORT",
                    "127.0.0.1",
                    settings.kafka_controller_port + 2 * i,
                ),
            ]
    workers = settings.streams_workers
    return [
        *out,
        Listener("warehouse", "EMC_API_PORT", settings.api_host, settings.api_port, "EMC_API_HOST"),
        *(
            Listener(
                f"streams {n}" if workers > 1 else "streams",
                "EMC_STREAMS_WEB_PORT",
                "127.0.0.1",
                settings.streams_worker_web_port(n),
            )
            for n in range(1, workers + 1)
        ),
        Listener(
            "collector",
            "EMC_COLLECTOR_PORT",
            settings.collector_host,
            settings.collector_port,
            "EMC_COLLECTOR_HOST",
        ),
    ]


def bind_probe(host: str, port: int) -> OSError | None:
    """Try to bind ``host:port`` (TCP, ``SO_REUSEADDR``) and let it go again."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        return OSError(errno.EADDRNOTAVAIL, f"{host!r} does not resolve ({exc.strerror})")
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            return exc
    return None


def _specific_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return None if address.is_unspecified else address


def _clash(a: Listener, b: Listener) -> bool:
    """Same port, and not two different specific addresses (a wildcard or a host name may
    cover the other one)."""
    if a.port != b.port:
        return False
    ip_a, ip_b = _specific_ip(a.host), _specific_ip(b.host)
    return ip_a is None or ip_b is None or ip_a == ip_b


def port_problems(listeners: Sequence[Listener], probe: Probe = bind_probe) -> list[str]:
    """One line per listener that cannot start: its port is in use (or cannot be bound for
    another reason), or another listener of the stack is configured on the same port."""
    problems: list[str] = []
    for index, listener in enumerate(listeners):
        port, setting = listener.port, listener.setting
        earlier = next((e for e in listeners[:index] if _clash(e, listener)), None)
        if earlier is not None:
            problems.append(
                f"port {port} is set for both {earlier.name} ({earlier.setting}) and "
                f"{listener.name} ({setting}): set {setting} to another port"
            )
            continue
        error = probe(listener.host, port)
        if error is None:
            continue
        if error.errno == errno.EADDRINUSE:
            problems.append(
                f"port {port} ({listener.name}, {setting}) is in use: "
                f"stop what uses it or set {setting}"
            )
            continue
        fix = f"{setting} or {listener.host_setting}" if listener.host_setting else setting
        problems.append(
            f"port {port} ({listener.name}, {setting}) cannot be bound on "
            f"{listener.host or '*'}: {error.strerror or error}; set {fix}"
        )
    return problems
