"""The visitor's IP address behind trusted reverse proxies (pure).

Only the peer is known for sure. When the peer is one of our own proxies
(``EMC_TRUSTED_PROXIES``), the right-most address of ``X-Forwarded-For`` that is not itself a
trusted proxy is the client: everything left of it could have been written by the client, so
it is never believed. Without X-Forwarded-For, ``X-Real-IP`` set by the trusted proxy is used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


#: Longer than any address with port, brackets and zone id: refused without parsing (and
#: never cached, so garbage headers cannot fill the cache with big strings).
_MAX_ADDRESS_CHARS = 64


def _parse(text: str) -> Address | None:
    """An address from a peer or header entry (port and brackets removed, IPv4-mapped IPv6
    unwrapped), None when it is not one."""
    if len(text) > _MAX_ADDRESS_CHARS:
        return None
    return _parse_short(text)


@lru_cache(maxsize=1 << 14)
def _parse_short(text: str) -> Address | None:
    """``_parse`` of a short string; cached because the same clients and proxies repeat."""
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=1 << 14)
def _canonical_short(text: str) -> str:
    """The address in ``text`` written canonically, or ``text`` when it is none; cached (the
    per-request hot path of a peer that is no proxy: formatting an address costs more than
    parsing it)."""
    address = _parse_short(text)
    return str(address) if address is not None else text


def _trusted(address: Address, networks: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_ip(
    peer: str,
    forwarded_for: str | None,
    real_ip: str | None,
    trusted: Sequence[Network],
) -> str:
    """The client address for a request from ``peer`` with the given proxy headers.

    Returns the peer unchanged when it is not trusted (or not an IP at all, e.g. a unix socket
    name); unparsable header entries are skipped.
    """
    if not trusted:
        return _canonical_short(peer) if len(peer) <= _MAX_ADDRESS_CHARS else peer
    peer_address = _parse(peer)
    if peer_address is None or not _trusted(peer_address, trusted):
        return str(peer_address) if peer_address is not None else peer
    if forwarded_for:
        leftmost: Address | None = None
        for part in reversed(forwarded_for.split(",")):
            address = _parse(part)
            if address is None:
                continue
            if not _trusted(address, trusted):
                return str(address)
            leftmost = address
        if leftmost is not None:  # the whole chain is ours: the client is internal
            return str(leftmost)
    if real_ip:
        address = _parse(real_ip)
        if address is not None:
            return str(address)
    return str(peer_address)
