"""Credentials in NOTIFY_URL never show: not in logs, answers, metrics or exceptions."""

import logging
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from eventsproject.platform.redaction import redact_url
from notifications.adapters.http import NotifyClient
from notifications.management.standin import Answer, NotifyStandIn
from tests.sample import BRIEF_SAMPLE
from tests.wire import free_port

SECRETS = ("hunter2", "sekrit-42", "tok%2Fen")
QUERY = "api_key=sekrit-42&access_token=tok%2Fen&lang=en"


@pytest.fixture
def transport(settings):
    """The real client; one attempt, so that each failure is final and shown."""
    settings.NOTIFY_MAX_ATTEMPTS = 1
    return NotifyClient()


@pytest.fixture
def standin():
    running = NotifyStandIn().start()
    yield running
    running.stop()


def notify_url(port: int) -> str:
    return f"http://alice:hunter2@127.0.0.1:{port}/v1/notify?{QUERY}"


@pytest.mark.parametrize("failure", ["connection refused", "500", "redirect"])
def test_a_failing_notify_url_with_credentials_shows_them_nowhere(
    settings, parts, caplog, standin, failure
):
    caplog.set_level(logging.DEBUG)
    answers = {"500": Answer(status=500), "redirect": Answer(status=307)}
    standin.answer = answers.get(failure, Answer())
    port = free_port() if failure == "connection refused" else urlsplit(standin.url).port
    settings.NOTIFY_URL = notify_url(port)
    client = APIClient()

    for event in BRIEF_SAMPLE:
        client.post("/v1/event", event, format="json")
    assert parts.dispatcher.flush(timeout=10)
    shown = [
        caplog.text,
        client.get("/v1/notifications").content.decode(),
        client.get("/metrics").content.decode(),
        *(entry.last_error for entry in parts.outbox.entries()),
    ]

    assert "failed" in client.get("/v1/notifications").content.decode()
    assert not [secret for secret in SECRETS for text in shown if secret in text]
    assert "127.0.0.1" in caplog.text  # still says where it went


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://u:p@notify.example/v1?api_key=k&x=1",
            "https://***@notify.example/v1?api_key=***&x=1",
        ),
        (
            "http://notify.example/v1?Token=t&sig=s&page=2",
            "http://notify.example/v1?Token=***&sig=***&page=2",
        ),
        ("redis://:pw@redis.internal:6379/0", "redis://***@redis.internal:6379/0"),
        ("http://notify.example/v1/notify", "http://notify.example/v1/notify"),
    ],
)
def test_a_url_is_shown_without_its_credentials(url, shown):
    assert redact_url(url) == shown
