"""``ingest.server.reuse_port_socket``: several collector processes can bind the one port, and
anything that does not ask to share it (a stale collector started without ``--reuse-port``,
another program, ``emc up``'s port check) still finds it taken."""

from __future__ import annotations

import errno
import socket

import pytest

from emc.ports import bind_probe
from ingest.server import reuse_port_socket
from tests.conftest import free_port


def test_two_workers_bind_one_port_and_others_find_it_taken() -> None:
    port = free_port()
    first = reuse_port_socket("127.0.0.1", port)
    second = reuse_port_socket("127.0.0.1", port)
    try:
        first.listen()
        second.listen()
        assert first.getsockname()[1] == second.getsockname()[1] == port
        error = bind_probe("127.0.0.1", port)  # what `emc up` checks before it starts
        assert error is not None and error.errno == errno.EADDRINUSE
        with socket.socket() as plain, pytest.raises(OSError) as taken:
            plain.bind(("127.0.0.1", port))
        assert taken.value.errno == errno.EADDRINUSE
    finally:
        first.close()
        second.close()
