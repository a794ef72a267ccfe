"""Who may do what: ingestion tokens post events, admin tokens also read and re-send;
production mode (DEBUG off) admits no one without a token unless EVENTS_ALLOW_ANONYMOUS."""

import base64
import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.sample import BRIEF_SAMPLE
from tests.wire import post

INGESTION = [
    ("post", "/v1/event"),
    ("post", "/v1/events"),
    ("post", "/v1/track"),
    ("post", "/v1/batch"),
]
ADMINISTRATION = [
    ("get", "/v1/events"),
    ("get", "/v1/users/u1"),
    ("get", "/v1/users/u1/decisions"),
    ("get", "/v1/notifications"),
    ("get", "/v1/notifications/n1"),
    ("post", "/v1/notifications/n1/resend"),
]
OPEN = [("get", "/v1/health"), ("get", "/metrics"), ("get", "/v1/schema"), ("get", "/v1/docs")]
#: What each route answers once let in: an empty batch, an unknown notification, ...
LET_IN = {200, 202, 400, 404}


def call(method: str, path: str, **headers: str) -> int:
    client = APIClient()
    if method == "get":
        return client.get(path, **headers).status_code
    return post(client, path, [] if path == "/v1/events" else {}, **headers).status_code


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture(autouse=True)
def production(settings):
    settings.DEBUG = False
    settings.EVENTS_ALLOW_ANONYMOUS = False
    settings.EVENTS_API_TOKENS = ["app-token"]
    settings.EVENTS_ADMIN_TOKENS = ["admin-token"]


@pytest.mark.parametrize(("method", "path"), INGESTION + ADMINISTRATION)
def test_production_mode_answers_401_without_a_token(method, path):
    assert call(method, path) == 401


@pytest.mark.parametrize(("method", "path"), INGESTION + ADMINISTRATION)
def test_production_mode_without_any_token_configured_still_admits_no_one(settings, method, path):
    settings.EVENTS_API_TOKENS = []
    settings.EVENTS_ADMIN_TOKENS = []

    assert call(method, path) == 401


@pytest.mark.parametrize(("method", "path"), OPEN)
def test_health_metrics_and_the_schema_stay_open(method, path):
    assert call(method, path) == 200


@pytest.mark.parametrize(("method", "path"), OPEN)
def test_an_open_page_is_open_whatever_token_comes_with_it(method, path):
    assert call(method, path, **bearer("a-token-nobody-issued")) == 200


@pytest.mark.parametrize(("method", "path"), INGESTION)
def test_an_ingestion_token_posts_events(method, path):
    assert call(method, path, **bearer("app-token")) in LET_IN


@pytest.mark.parametrize(("method", "path"), ADMINISTRATION)
def test_an_ingestion_token_cannot_read_or_resend(method, path):
    response = getattr(APIClient(), method)(path, **bearer("app-token"))

    assert response.status_code == 403
    assert "EVENTS_ADMIN_TOKENS" in response.json()["detail"]


@pytest.mark.parametrize(("method", "path"), INGESTION + ADMINISTRATION)
def test_an_admin_token_may_do_everything(method, path):
    assert call(method, path, **bearer("admin-token")) in LET_IN


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_a_method_no_view_has_is_a_405_whatever_the_token(method):
    answer = getattr(APIClient(), method)("/v1/event", **bearer("app-token"))

    assert answer.status_code == 405
    assert "POST" in answer["Allow"]


def test_a_segment_write_key_in_basic_auth_has_its_token_s_scope():
    def basic(token: str) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{token}:".encode()).decode()}

    assert call("post", "/v1/batch", **basic("app-token")) in LET_IN
    assert call("get", "/v1/notifications", **basic("app-token")) == 403
    assert call("get", "/v1/notifications", **basic("admin-token")) == 200


def test_an_admin_token_sees_what_was_posted():
    post(APIClient(), "/v1/event", BRIEF_SAMPLE[0], **bearer("app-token"))

    events = APIClient().get("/v1/events", **bearer("admin-token")).json()["results"]

    assert [event["user_id"] for event in events] == [BRIEF_SAMPLE[0]["user_id"]]


class TestRunningOpen:
    @pytest.fixture(autouse=True)
    def no_tokens(self, settings):
        settings.EVENTS_API_TOKENS = []
        settings.EVENTS_ADMIN_TOKENS = []

    @pytest.mark.parametrize("mode", ["DEBUG", "EVENTS_ALLOW_ANONYMOUS"])
    @pytest.mark.parametrize(("method", "path"), INGESTION + ADMINISTRATION)
    def test_development_mode_or_allow_anonymous_admits_anyone(self, settings, mode, method, path):
        setattr(settings, mode, True)

        assert call(method, path) in LET_IN

    def test_admin_tokens_keep_reading_closed_while_ingestion_is_open(self, settings):
        settings.EVENTS_ALLOW_ANONYMOUS = True
        settings.EVENTS_ADMIN_TOKENS = ["admin-token"]

        assert call("post", "/v1/event") == 400  # let in, and told what is missing
        assert call("get", "/v1/notifications") == 401
        assert call("get", "/v1/notifications", **bearer("admin-token")) == 200

    def test_api_tokens_close_ingestion_even_when_anonymous_is_allowed(self, settings):
        settings.EVENTS_ALLOW_ANONYMOUS = True
        settings.EVENTS_API_TOKENS = ["app-token"]

        assert call("post", "/v1/event") == 401


def system_check() -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("check", stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


@pytest.mark.parametrize("mode", ["DEBUG", "EVENTS_ALLOW_ANONYMOUS"])
def test_running_open_is_said_by_the_system_checks(settings, mode):
    settings.EVENTS_API_TOKENS = []
    settings.EVENTS_ADMIN_TOKENS = []
    setattr(settings, mode, True)

    said = system_check()

    assert "events.W002" in said
    assert "anyone may post events" in said
    assert "events.W003" in said
    assert "anyone may read" in said


def test_closed_access_raises_no_warning():
    said = system_check()

    assert "events.W002" not in said
    assert "events.W003" not in said


@pytest.mark.both_stores
def test_failed_authentications_are_throttled_per_address_and_right_tokens_are_not(settings):
    settings.EVENTS_AUTH_FAILURE_RATE = "5/minute"
    guesses = [call("post", "/v1/event", **bearer(f"guess-{n}")) for n in range(8)]
    client = APIClient()

    throttled = post(client, "/v1/event", {}, **bearer("guess-9"))
    from_elsewhere = post(client, "/v1/event", {}, REMOTE_ADDR="192.0.2.9", **bearer("guess"))
    right = post(client, "/v1/event", {}, **bearer("app-token"))

    assert guesses == [401] * 5 + [429] * 3
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert "failed authentications" in throttled.json()["detail"]
    assert from_elsewhere.status_code == 401
    assert right.status_code == 400  # let in: an empty event is refused for what it is
