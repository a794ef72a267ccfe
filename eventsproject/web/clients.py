"""Who is connecting: the peer's address, or behind trusted proxies the client they name.

`X-Forwarded-For` is read only when the peer is a trusted proxy (EVENTS_TRUSTED_PROXIES),
and then from the right: each proxy appends the address it saw, so the right-most
address that no trusted proxy owns is the client; anything left of it is the client's
own claim, which anyone can forge.
"""

from collections.abc import Iterable, Mapping
from functools import lru_cache
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


#: Addresses up to this long are cached (an IPv6 one is 45 characters, 64 with a short
#: zone); longer text is parsed each time, so that junk cannot fill the cache with bulk.
LONGEST_CACHED = 64


def _owned_by(address: str, networks: tuple[Network, ...]) -> bool:
    if len(address) > LONGEST_CACHED:
        return _parsed_owned_by(address, networks)
    return _cached_owned_by(address, networks)


def _parsed_owned_by(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


#: A phone's address comes back with each of its requests, the proxy's with every one:
#: parsing them was 2% of a single event's CPU.
_cached_owned_by = lru_cache(maxsize=4096)(_parsed_owned_by)
