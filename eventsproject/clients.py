"""Who is connecting: the peer's address, or behind trusted proxies the client they name.

`X-Forwarded-For` is read only when the peer is a trusted proxy (EVENTS_TRUSTED_PROXIES),
and then from the right: each proxy appends the address it saw, so the right-most
address that no trusted proxy owns is the client; anything left of it is the client's
own claim, which anyone can forge.
"""

from collections.abc import Iterable, Mapping
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any

Network = IPv4Network | IPv6Network


def client_address(meta: Mapping[str, Any], trusted: Iterable[Network]) -> str:
    networks = tuple(trusted)
    peer = str(meta.get("REMOTE_ADDR", ""))
    if not _owned_by(peer, networks):
        return peer
    hops = [hop.strip() for hop in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not _owned_by(hop, networks):
            return hop
    return peer


def _owned_by(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)
