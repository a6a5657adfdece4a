"""The client's IP address, for budgets keyed by address.

The socket's peer is the client, unless the peer is one of the configured trusted proxies: then
the client is the last X-Forwarded-For hop that no trusted proxy added (reading right to left).
A client's own X-Forwarded-For entries sit to the left of what the proxies append, so a client
cannot pick its address; and without trusted proxies the header is ignored altogether.
"""

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def is_trusted(address: str, trusted: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_ip(peer: str | None, forwarded_for: str | None, trusted_proxies: tuple[str, ...]) -> str:
    trusted = networks(trusted_proxies)
    address = peer or "unknown"
    if not trusted or not is_trusted(address, trusted):
        return address
    for hop in reversed([hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]):
        if not is_trusted(hop, trusted):
            return hop if is_ip(hop) else address
        address = hop
    return address


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
