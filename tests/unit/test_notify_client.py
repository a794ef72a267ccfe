"""The /v1/notify client at the HTTP boundary, with `responses`."""

import json

import pytest
import requests
import responses
from responses import matchers

from events.decisions import Reminder
from events.rules import remind_to_start
from notifications.client import NotificationError, NotifyClient
from tests.factories import at, launched

NOTIFY_URL = "http://notify.test/v1/notify"


@pytest.fixture(autouse=True)
def notify_settings(settings):
    settings.NOTIFY_URL = NOTIFY_URL
    settings.NOTIFY_BACKOFF_FACTOR = 0
    settings.NOTIFY_RETRIES = 2
    settings.NOTIFY_CONNECT_TIMEOUT = 1.5
    settings.NOTIFY_READ_TIMEOUT = 4.0
    return settings


@pytest.fixture
def notification():
    return remind_to_start(Reminder(launch=launched("u1", at(0)), deadline=at(10)))


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


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_retries_a_503_then_succeeds(notification):
    responses.post(NOTIFY_URL, status=503)
    responses.post(NOTIFY_URL, status=200)

    NotifyClient().send(notification)

    assert len(responses.calls) == 2


@responses.activate
def test_gives_up_after_the_retries_with_a_retryable_error(notification):
    responses.post(NOTIFY_URL, status=503)

    with pytest.raises(NotificationError) as raised:
        NotifyClient().send(notification)

    assert raised.value.retryable
    assert len(responses.calls) == 3


@responses.activate
def test_does_not_retry_a_400(notification):
    responses.post(NOTIFY_URL, status=400)

    with pytest.raises(NotificationError, match="400") as raised:
        NotifyClient().send(notification)

    assert not raised.value.retryable
    assert len(responses.calls) == 1


@responses.activate
def test_a_connection_error_is_chained_into_a_notification_error(notification):
    responses.post(NOTIFY_URL, body=requests.ConnectionError("refused"))

    with pytest.raises(NotificationError) as raised:
        NotifyClient().send(notification)

    assert isinstance(raised.value.__cause__, requests.ConnectionError)
