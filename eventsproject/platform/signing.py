"""Standard Webhooks signatures (standardwebhooks.com), as Svix, Resend and Clerk send them.

A call carries `webhook-id` (the notification id, the same on every attempt),
`webhook-timestamp` (seconds, the attempt's time) and `webhook-signature`:
`v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under the secret's
bytes. Secrets are `whsec_<base64>`; several may be current while one is being
rotated in: the first signs, any verifies. No Django here: settings validate with it.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"
MIN_KEY_BYTES = 16
TOLERANCE_SECONDS = 300  # the standard's five minutes either way


def parse_secrets(raw: str) -> tuple[bytes, ...]:
    """The keys of space-separated `whsec_` secrets; a bad one is refused, never echoed."""
    return tuple(_key(position, secret) for position, secret in enumerate(raw.split(), 1))


def signed_headers(
    keys: tuple[bytes, ...], message_id: str, body: bytes, timestamp: int
) -> dict[str, str]:
    """The three headers of a call signed with the first key."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": _signature(keys[0], message_id, timestamp, body),
    }


def verify(keys: tuple[bytes, ...], headers: Mapping[str, str], body: bytes, now: float) -> bool:
    """Whether a recent call was signed by one of the keys (what a receiver checks)."""
    message_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    if not (message_id and stamp.isascii() and stamp.isdigit()):
        return False
    timestamp = int(stamp)
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    offered = headers.get("webhook-signature", "").split()
    expected = {_signature(key, message_id, timestamp, body) for key in keys}
    return any(hmac.compare_digest(one, candidate) for one in offered for candidate in expected)


def _signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = b"%s.%d.%s" % (message_id.encode(), timestamp, body)
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def _key(position: int, secret: str) -> bytes:
    problem = f"secret {position} must be whsec_<base64> of at least {MIN_KEY_BYTES} bytes"
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(problem)
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(problem) from None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(problem)
    return key
