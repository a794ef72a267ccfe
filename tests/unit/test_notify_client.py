"""The /v1/notify client at the HTTP boundary, with `responses`."""

import base64
import json
import time

import pytest
import requests
import responses
from responses import matchers
from standardwebhooks.webhooks import Webhook

import eventsproject
from notifications import signing
from notifications.client import NotificationError, NotifyClient
from tests.factories import reminder_for

NOTIFY_URL = "http://notify.test/v1/notify"


@pytest.fixture(autouse=True)
def notify_settings(settings):
    settings.NOTIFY_URL = NOTIFY_URL
    settings.NOTIFY_CONNECT_TIMEOUT = 1.5
    settings.NOTIFY_READ_TIMEOUT = 4.0
    return settings


@pytest.fixture
def notification():
    return reminder_for("u1")


@responses.activate
def test_posts_the_payload_as_json_with_the_id_as_idempotency_key(notification):
    responses.post(
        NOTIFY_URL,
        match=[
            matchers.json_params_matcher(notification.as_payload()),
            matchers.header_matcher({"Idempotency-Key": notification.notification_id}),
        ],
    )

    NotifyClient().send(notification)

    payload = json.loads(responses.calls[0].request.body)
    assert payload["kind"] == "start_training_reminder"
    assert payload["user_id"] == "u1"
    assert payload["device_id"] == "device-of-u1"
    assert payload["triggered_at"] == "2021-02-28T16:10:00+00:00"
    assert "minutes" not in payload


@responses.activate
def test_always_sets_connect_and_read_timeouts(notification):
    responses.post(NOTIFY_URL)

    NotifyClient().send(notification)

    assert responses.calls[0].request.req_kwargs["timeout"] == (1.5, 4.0)


@responses.activate
def test_reads_the_url_at_call_time(notification, notify_settings):
    client = NotifyClient()
    notify_settings.NOTIFY_URL = "http://elsewhere.test/v1/notify"
    responses.post("http://elsewhere.test/v1/notify")

    client.send(notification)

    assert len(responses.calls) == 1


@responses.activate
def test_makes_one_attempt_per_call_and_leaves_retrying_to_the_outbox(notification):
    responses.post(NOTIFY_URL, status=503, headers={"Retry-After": "7"})

    with pytest.raises(NotificationError) as raised:
        NotifyClient().send(notification)

    assert raised.value.retryable
    assert raised.value.retry_after == 7
    assert len(responses.calls) == 1


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
@responses.activate
def test_timeouts_throttling_and_server_errors_are_retryable(notification, status):
    responses.post(NOTIFY_URL, status=status)

    with pytest.raises(NotificationError) as raised:
        NotifyClient().send(notification)

    assert raised.value.retryable


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422])
@responses.activate
def test_other_client_errors_are_final(notification, status):
    responses.post(NOTIFY_URL, status=status)

    with pytest.raises(NotificationError, match=str(status)) as raised:
        NotifyClient().send(notification)

    assert not raised.value.retryable


@pytest.mark.parametrize(
    ("header", "expected"),
    [("12", 12), ("not a date", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0)],
)
@responses.activate
def test_retry_after_is_read_as_seconds_or_a_date(notification, header, expected):
    responses.post(NOTIFY_URL, status=429, headers={"Retry-After": header})

    with pytest.raises(NotificationError) as raised:
        NotifyClient().send(notification)

    assert raised.value.retry_after == expected


@pytest.mark.parametrize(
    "error", [requests.ConnectionError("refused"), requests.ReadTimeout("slow")]
)
@responses.activate
def test_connection_errors_and_timeouts_are_retryable_and_say_what_happened(notification, error):
    responses.post(NOTIFY_URL, body=error)

    with pytest.raises(NotificationError) as raised:
        NotifyClient().send(notification)

    assert raised.value.retryable
    assert f"{type(error).__name__}: {error}" in str(raised.value)
    # Not chained: a traceback would print the cause, which may hold the URL's credentials.
    assert raised.value.__cause__ is None


SECRET = "whsec_" + base64.b64encode(b"a secret shared with the notify service").decode()


@responses.activate
def test_every_call_is_signed_the_standard_webhooks_way(notification, notify_settings):
    notify_settings.NOTIFY_SIGNING_KEYS = signing.parse_secrets(SECRET)
    responses.post(NOTIFY_URL)

    NotifyClient().send(notification)

    request = responses.calls[0].request
    Webhook(SECRET).verify(request.body, dict(request.headers))
    assert request.headers["webhook-id"] == notification.notification_id
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    assert request.headers["Content-Type"] == "application/json"


@responses.activate
def test_without_a_secret_calls_are_not_signed(notification, notify_settings):
    notify_settings.NOTIFY_SIGNING_KEYS = ()
    responses.post(NOTIFY_URL)

    NotifyClient().send(notification)

    assert "webhook-signature" not in responses.calls[0].request.headers


@responses.activate
def test_the_auth_token_goes_as_a_bearer_token_only_when_set(notification, notify_settings):
    responses.post(NOTIFY_URL)

    notify_settings.NOTIFY_AUTH_TOKEN = "t0ken"
    NotifyClient().send(notification)
    notify_settings.NOTIFY_AUTH_TOKEN = ""
    NotifyClient().send(notification)

    assert responses.calls[0].request.headers["Authorization"] == "Bearer t0ken"
    assert "Authorization" not in responses.calls[1].request.headers


@responses.activate
def test_the_user_agent_names_the_service_and_its_version(notification):
    responses.post(NOTIFY_URL)

    NotifyClient().send(notification)

    expected = f"events-processor/{eventsproject.__version__}"
    assert responses.calls[0].request.headers["User-Agent"] == expected


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@responses.activate
def test_a_redirect_is_a_failed_attempt_and_is_never_followed(notification, status):
    responses.post(NOTIFY_URL, status=status, headers={"Location": "http://elsewhere.test/x"})
    elsewhere = responses.post("http://elsewhere.test/x")

    with pytest.raises(NotificationError, match=f"answered {status}") as failed:
        NotifyClient().send(notification)

    assert failed.value.retryable
    assert elsewhere.call_count == 0
    assert len(responses.calls) == 1
