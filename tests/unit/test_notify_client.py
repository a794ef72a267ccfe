"""The /v1/notify client at the HTTP boundary, against the notify stand-in on loopback."""

import base64
import json
import time

import pytest
from standardwebhooks.webhooks import Webhook

import eventsproject
from eventsproject.platform import signing
from notifications.adapters.http import NotifyClient
from notifications.management.standin import Answer, NotifyStandIn
from notifications.ports import NotificationError
from tests.factories import reminder_for
from tests.wire import free_port


@pytest.fixture
def standin():
    running = NotifyStandIn().start()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def notify_settings(settings, standin):
    settings.NOTIFY_URL = standin.url
    settings.NOTIFY_CONNECT_TIMEOUT = 1.5
    settings.NOTIFY_READ_TIMEOUT = 4.0
    settings.NOTIFY_SIGNING_KEYS = ()
    settings.NOTIFY_AUTH_TOKEN = ""
    return settings


@pytest.fixture
def notification():
    return reminder_for("u1")


def failure_of(notification) -> NotificationError:
    with pytest.raises(NotificationError) as raised:
        NotifyClient().send(notification)
    return raised.value


def test_posts_the_payload_as_json_with_the_id_as_idempotency_key(notification, standin):
    NotifyClient().send(notification)

    [received] = standin.received
    assert received.payload == json.loads(json.dumps(notification.as_payload()))
    assert received.idempotency_key == notification.notification_id
    assert received.headers["content-type"] == "application/json"
    assert received.payload["kind"] == "start_training_reminder"
    assert received.payload["triggered_at"] == "2021-02-28T16:10:00+00:00"
    assert "minutes" not in received.payload


def test_calls_share_one_keep_alive_connection(notification, standin):
    client = NotifyClient()
    for _ in range(3):
        client.send(notification)

    assert len({received.peer for received in standin.received}) == 1


def test_a_receiver_slower_than_the_read_timeout_is_a_retryable_failure(
    notification, standin, notify_settings
):
    notify_settings.NOTIFY_READ_TIMEOUT = 0.2
    standin.answer = Answer(delay_seconds=1)

    failure = failure_of(notification)

    assert failure.retryable
    assert "ReadTimeoutError" in str(failure)


def test_reads_the_url_at_call_time(notification, notify_settings):
    client = NotifyClient()
    elsewhere = NotifyStandIn().start()
    try:
        notify_settings.NOTIFY_URL = elsewhere.url
        client.send(notification)
    finally:
        elsewhere.stop()

    assert len(elsewhere.received) == 1


def test_makes_one_attempt_per_call_and_leaves_retrying_to_the_outbox(notification, standin):
    standin.answer = Answer(status=503, retry_after=7)

    failure = failure_of(notification)

    assert failure.retryable
    assert failure.retry_after == 7
    assert len(standin.attempts) == 1


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_timeouts_throttling_and_server_errors_are_retryable(notification, standin, status):
    standin.answer = Answer(status=status)

    assert failure_of(notification).retryable


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422])
def test_other_client_errors_are_final(notification, standin, status):
    standin.answer = Answer(status=status)

    failure = failure_of(notification)

    assert not failure.retryable
    assert str(status) in str(failure)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("12", 12), ("not a date", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0)],
)
def test_retry_after_is_read_as_seconds_or_a_date(notification, standin, header, expected):
    standin.answer = Answer(status=429, retry_after=header)

    assert failure_of(notification).retry_after == expected


def test_a_refused_connection_is_retryable_and_says_what_happened(notification, notify_settings):
    notify_settings.NOTIFY_URL = f"http://127.0.0.1:{free_port()}/v1/notify"

    failure = failure_of(notification)

    assert failure.retryable
    assert "NewConnectionError" in str(failure)
    assert "Connection refused" in str(failure)
    # Not chained: a traceback would print the cause, which may hold the URL's credentials.
    assert failure.__cause__ is None


def test_a_url_the_client_cannot_parse_fails_without_showing_its_credentials(
    notification, notify_settings
):
    notify_settings.NOTIFY_URL = "http://user:s3cret@127.0.0.1:99999/v1/notify"

    failure = failure_of(notification)

    assert "s3cret" not in str(failure)
    assert failure.__cause__ is None


SECRET = "whsec_" + base64.b64encode(b"a secret shared with the notify service").decode()


def test_every_call_is_signed_the_standard_webhooks_way(notification, notify_settings, standin):
    notify_settings.NOTIFY_SIGNING_KEYS = signing.parse_secrets(SECRET)

    NotifyClient().send(notification)

    [received] = standin.received
    Webhook(SECRET).verify(received.body, received.headers)
    assert received.headers["webhook-id"] == notification.notification_id
    assert abs(int(received.headers["webhook-timestamp"]) - time.time()) < 60


def test_without_a_secret_calls_are_not_signed(notification, standin):
    NotifyClient().send(notification)

    assert "webhook-signature" not in standin.received[0].headers


def test_the_auth_token_goes_as_a_bearer_token_only_when_set(
    notification, notify_settings, standin
):
    notify_settings.NOTIFY_AUTH_TOKEN = "t0ken"
    NotifyClient().send(notification)
    notify_settings.NOTIFY_AUTH_TOKEN = ""
    NotifyClient().send(notification)

    assert standin.received[0].headers["authorization"] == "Bearer t0ken"
    assert "authorization" not in standin.received[1].headers


def test_credentials_in_the_url_go_as_basic_auth(notification, notify_settings, standin):
    notify_settings.NOTIFY_URL = standin.url.replace("http://", "http://alice:p%40ss@")

    NotifyClient().send(notification)

    expected = "Basic " + base64.b64encode(b"alice:p@ss").decode()
    assert standin.received[0].headers["authorization"] == expected


def test_the_user_agent_names_the_service_and_its_version(notification, standin):
    NotifyClient().send(notification)

    expected = f"events-processor/{eventsproject.__version__}"
    assert standin.received[0].headers["user-agent"] == expected


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failed_attempt_and_is_never_followed(notification, standin, status):
    elsewhere = NotifyStandIn().start()
    standin.answer = Answer(status=status, location=elsewhere.url)
    try:
        failure = failure_of(notification)
    finally:
        elsewhere.stop()

    assert failure.retryable
    assert f"answered {status}" in str(failure)
    assert elsewhere.attempts == []
    assert len(standin.attempts) == 1
