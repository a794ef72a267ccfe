"""DRF throttles per client: the app's token (or none) and the address it
connects from, behind trusted proxies the address they name. An app's token ships in
every copy of the app, so it names the app, not a device: keyed by the token alone, one
app's whole audience would share one allowance. Never a field of the body, which any
client can change (to escape its limit) or copy (to throttle someone else).

Each request spends one unit of a counter that is read and moved in one step
(eventsproject/platform/rate_limits.py): the body is never parsed for it, and on Redis every
process spends from the same counter. Rates are read from settings at request time."""

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from ipaddress import ip_network
from typing import ClassVar

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from eventsproject.platform.rate_limits import RateLimiter
from eventsproject.web.clients import client_address


def _not_provided() -> RateLimiter:
    raise RuntimeError("no rate limiter: the composition root provides one at start")


#: The process's rate limiter, provided by the composition root (eventsproject/bootstrap.py):
#: DRF makes the throttles, so nothing can be handed to them.
rate_limiter: Callable[[], RateLimiter] = _not_provided


class ClientRateThrottle(SimpleRateThrottle):
    rate_setting: ClassVar[str]
    num_requests: int  # parsed from the rate by SimpleRateThrottle
    duration: int
    seconds_to_wait = 0.0

    def get_rate(self) -> str | None:
        rate: str | None = getattr(settings, self.rate_setting)
        return rate

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        self.seconds_to_wait = rate_limiter().admit(key, self.num_requests, self.duration)
        return self.seconds_to_wait == 0

    def wait(self) -> float:
        return self.seconds_to_wait

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return f"{self.scope}:{client_identity(request)}"


class AuthFailureThrottle(ClientRateThrottle):
    """Limits failed authentications per address, whatever token each one tried: a wrong
    token costs a unit, a right one nothing. Once an address is refused, every token it
    sends is refused before it is compared, until the wait is over (`blocked_for`): a guess
    cannot tell right from wrong, so guessing is slow. Other processes block the address
    at its next failure there (the allowance itself is shared on Redis)."""

    scope = "auth-failure"
    rate_setting = "EVENTS_AUTH_FAILURE_RATE"

    def get_cache_key(self, request: Request, view: APIView | None) -> str:
        return f"{self.scope}:{_address_of(request)}"

    def allow_request(self, request: Request, view: APIView) -> bool:
        if super().allow_request(request, view):
            return True
        _block(_address_of(request), self.wait())
        return False


#: Addresses refused for failing to authenticate, and until when (time.monotonic), in this
#: process; at most `MOST_BLOCKED`, the oldest forgotten first.
_blocked: OrderedDict[str, float] = OrderedDict()
_blocking = threading.Lock()
MOST_BLOCKED = 10_000


def blocked_for(request: HttpRequest | Request) -> float:
    """Seconds until the request's address may try a token again; 0: now."""
    if not _blocked:  # the usual case, without the lock
        return 0.0
    with _blocking:
        until = _blocked.get(_address_of(request), 0.0)
    return max(0.0, until - time.monotonic())


def _block(address: str, seconds: float) -> None:
    with _blocking:
        _blocked.pop(address, None)
        _blocked[address] = time.monotonic() + seconds
        while len(_blocked) > MOST_BLOCKED:
            _blocked.popitem(last=False)


def _address_of(request: HttpRequest | Request) -> str:
    """The client's address as throttles count it: an IPv6 address by its /64, which a
    host is given whole and takes addresses from at will."""
    return _counted(client_address(request.META, settings.EVENTS_TRUSTED_PROXIES))


@lru_cache(maxsize=4096)  # the same clients come back with every request
def _counted(address: str) -> str:
    if ":" not in address:
        return address
    try:
        return str(ip_network(f"{address}/64", strict=False))
    except ValueError:  # not an address: counted as it is
        return address


def client_identity(request: Request) -> str:
    address = _address_of(request)
    if request.auth is None:
        return f"address:{address}"
    return f"token:{_digest_of(request.auth)}:{address}"  # a digest: tokens stay out of keys


@lru_cache(maxsize=64)  # the configured tokens: only those authenticate
def _digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]
