"""Signed calls to /v1/notify from the production server, checked with the standard's library."""

import base64
import time

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from eventsproject.platform import signing
from notifications.management.standin import NotifyStandIn
from tests.e2e.conftest import GUNICORN, Server
from tests.sample import BRIEF_SAMPLE

pytestmark = pytest.mark.e2e

OLD = "whsec_" + base64.b64encode(b"the secret being rotated out").decode()
NEW = "whsec_" + base64.b64encode(b"the secret being rotated in!").decode()


@pytest.fixture
def verifying_standin():
    running = NotifyStandIn(keys=signing.parse_secrets(f"{OLD} {NEW}")).start()
    yield running
    running.stop()


def test_the_production_server_signs_every_call_and_the_receiver_can_verify_it(
    server_env, verifying_standin
):
    server_env.update(NOTIFY_URL=verifying_standin.url, NOTIFY_SIGNING_SECRET=f"{NEW} {OLD}")
    server_env.update(NOTIFY_AUTH_TOKEN="notify-token")
    production = Server(GUNICORN, server_env)
    try:
        for event in BRIEF_SAMPLE:
            assert requests.post(f"{production.url}/v1/event", json=event, timeout=10).ok
        received = verifying_standin.wait_for(2, timeout=15)
    finally:
        production.stop()

    assert len(received) == 2
    for call in received:
        Webhook(NEW).verify(call.body, call.headers)
        assert call.headers["webhook-id"] == call.payload["notification_id"]
        assert call.headers["authorization"] == "Bearer notify-token"
        assert call.verified is True


def test_the_stand_in_refuses_unsigned_and_forged_calls(verifying_standin):
    body = b'{"kind": "forged"}'
    forger = signing.parse_secrets("whsec_" + base64.b64encode(b"x" * 32).decode())
    forged = signing.signed_headers(forger, "m1", body, int(time.time()))

    unsigned = requests.post(verifying_standin.url, data=body, timeout=5)
    refused = requests.post(verifying_standin.url, data=body, headers=forged, timeout=5)

    assert (unsigned.status_code, refused.status_code) == (401, 401)
    assert verifying_standin.received == []
    assert [attempt.verified for attempt in verifying_standin.attempts] == [False, False]
