"""Standard Webhooks signatures, checked against the standard's own library."""

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from eventsproject.platform import signing

NOW = 1_790_000_000
FIRST = "whsec_" + base64.b64encode(b"first secret, 24+ bytes long").decode()
SECOND = "whsec_" + base64.b64encode(b"second secret, also long enough").decode()
BODY = '{"kind":"training_congratulations","title":"Yoga für Anfänger ✓"}'.encode()


def signed(secrets: str, body: bytes = BODY, at: int = NOW) -> dict[str, str]:
    return signing.signed_headers(signing.parse_secrets(secrets), "notification-1", body, at)


def test_the_library_verifies_what_we_sign():
    headers = signed(FIRST, at=_library_now())

    Webhook(FIRST).verify(BODY, headers)

    assert headers["webhook-id"] == "notification-1"


def test_the_library_refuses_a_body_changed_after_signing():
    headers = signed(FIRST, at=_library_now())

    with pytest.raises(WebhookVerificationError):
        Webhook(FIRST).verify(BODY.replace(b"Yoga", b"Yogi"), headers)


def test_only_the_first_of_several_secrets_signs():
    headers = signed(f"{FIRST} {SECOND}", at=_library_now())

    Webhook(FIRST).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECOND).verify(BODY, headers)
    assert headers["webhook-signature"].count("v1,") == 1


def test_we_verify_what_the_library_signs_with_any_current_secret():
    keys = signing.parse_secrets(f"{FIRST} {SECOND}")
    for secret in (FIRST, SECOND):
        headers = _library_signed(secret, "msg-7", NOW)

        assert signing.verify(keys, headers, BODY, now=NOW)


def test_we_refuse_a_changed_body_an_unknown_secret_or_a_stale_timestamp():
    keys = signing.parse_secrets(FIRST)
    headers = _library_signed(FIRST, "msg-7", NOW)
    others = _library_signed(SECOND, "msg-7", NOW)

    assert not signing.verify(keys, headers, BODY + b" ", now=NOW)
    assert not signing.verify(keys, others, BODY, now=NOW)
    assert not signing.verify(keys, headers, BODY, now=NOW + 301)
    assert not signing.verify(keys, headers, BODY, now=NOW - 301)
    assert signing.verify(keys, headers, BODY, now=NOW + 299)
    assert not signing.verify(keys, {**headers, "webhook-timestamp": "soon"}, BODY, now=NOW)
    assert not signing.verify(keys, {"webhook-id": "msg-7"}, BODY, now=NOW)


@pytest.mark.parametrize(
    "raw",
    ["plain-text-key", "whsec_", "whsec_not*base64!", f"{FIRST} whsec_%%%", "whsec_" + "QUJD" * 3],
)
def test_a_malformed_secret_is_refused_without_echoing_it(raw):
    with pytest.raises(ValueError, match=r"must be whsec_<base64>") as refused:
        signing.parse_secrets(raw)

    secret_parts = [word.removeprefix("whsec_") for word in raw.split()]
    assert not [part for part in secret_parts if part and part in str(refused.value)]


def test_no_secret_means_no_keys():
    assert signing.parse_secrets("  ") == ()


def _library_now() -> int:
    return int(time.time())


def _library_signed(secret: str, message_id: str, at: int) -> dict[str, str]:
    signature = Webhook(secret).sign(message_id, datetime.fromtimestamp(at, UTC), BODY.decode())
    return {"webhook-id": message_id, "webhook-timestamp": str(at), "webhook-signature": signature}
