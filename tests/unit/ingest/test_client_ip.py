"""Client IP behind trusted proxies."""

from __future__ import annotations

import ipaddress

from ingest.client_ip import client_ip

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


def test_untrusted_peer_is_the_client_whatever_the_headers_say() -> None:
    assert client_ip("203.0.113.9", "1.1.1.1", "2.2.2.2", PROXIES) == "203.0.113.9"
    assert client_ip("203.0.113.9", "1.1.1.1", None, ()) == "203.0.113.9"


def test_trusted_peer_right_most_untrusted_forwarded_address() -> None:
    # the client may forge the left part; our proxies append on the right
    header = "6.6.6.6, 198.51.100.7, 10.0.0.2"
    assert client_ip("10.0.0.1", header, None, PROXIES) == "198.51.100.7"


def test_trusted_peer_without_forwarded_for_uses_real_ip_then_peer() -> None:
    assert client_ip("10.0.0.1", None, "198.51.100.8", PROXIES) == "198.51.100.8"
    assert client_ip("10.0.0.1", None, None, PROXIES) == "10.0.0.1"


def test_garbage_entries_are_skipped_and_ports_removed() -> None:
    assert client_ip("10.0.0.1", "198.51.100.7:4431, junk", None, PROXIES) == "198.51.100.7"
    assert client_ip("10.0.0.1", "[2001:db8::1]:443", None, PROXIES) == "2001:db8::1"


def test_all_trusted_chain_gives_left_most() -> None:
    assert client_ip("10.0.0.1", "10.1.1.1, 10.0.0.2", None, PROXIES) == "10.1.1.1"


def test_ipv6_peer_and_mapped_v4() -> None:
    assert client_ip("::1", "2001:db8::5", None, PROXIES) == "2001:db8::5"
    assert client_ip("::ffff:203.0.113.1", None, None, PROXIES) == "203.0.113.1"


def test_overlong_entries_are_not_addresses() -> None:
    padded = " " * 100 + "198.51.100.7"  # would parse after strip, but no address is that long
    assert client_ip("10.0.0.1", f"198.51.100.9, {padded}", None, PROXIES) == "198.51.100.9"
    assert client_ip("10.0.0.1", "x" * 10_000, "198.51.100.8", PROXIES) == "198.51.100.8"


def test_an_untrusted_peer_is_written_canonically_as_before() -> None:
    for peer, want in [
        ("203.0.113.9", "203.0.113.9"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("2001:DB8::1", "2001:db8::1"),
        ("testclient", "testclient"),
        ("x" * 100, "x" * 100),
    ]:
        assert client_ip(peer, "1.1.1.1", "2.2.2.2", ()) == want
        assert client_ip(peer, None, None, ()) == want
