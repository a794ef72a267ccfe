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
    ("get", "/v1/rules"),
    ("get", "/v1/users/u1"),
    ("get", "/v1/users/u1/decisions"),
    ("get", "/v1/users/u1/timeline?format=svg"),  # as a page, a browser is sent to log in
    ("get", "/v1/notifications"),
    ("get", "/v1/notifications/n1"),
    ("post", "/v1/notifications/n1/resend"),
]
OPEN = [("get", "/v1/health"), ("get", "/metrics"), ("get", "/v1/schema"), ("get", "/v1/docs")]
#: What each route answers once let in: an empty batch, an unknown notification, ...
LET_IN = {200, 202, 400, 404}


@pytest.fixture(autouse=True)
def production(production_access):
    """First, so that a class's own fixtures change it (TestRunningOpen)."""


def call(method: str, path: str, **headers: str) -> int:
    client = APIClient()
    if method == "get":
        return client.get(path, **headers).status_code
    return post(client, path, [] if path == "/v1/events" else {}, **headers).status_code


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


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
def test_failed_authentications_are_throttled_per_address_and_then_no_guess_tells(settings):
    settings.EVENTS_AUTH_FAILURE_RATE = "5/minute"
    guesses = [call("post", "/v1/event", **bearer(f"guess-{n}")) for n in range(8)]
    client = APIClient()

    throttled = post(client, "/v1/event", {}, **bearer("guess-9"))
    right_guess = post(client, "/v1/event", {}, **bearer("app-token"))
    from_elsewhere = post(client, "/v1/event", {}, REMOTE_ADDR="192.0.2.9", **bearer("guess"))
    right_elsewhere = post(client, "/v1/event", {}, REMOTE_ADDR="192.0.2.9", **bearer("app-token"))

    assert guesses == [401] * 5 + [429] * 3
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert "failed authentications" in throttled.json()["detail"]
    assert right_guess.status_code == 429  # a right token tells nothing while blocked
    assert from_elsewhere.status_code == 401
    assert right_elsewhere.status_code == 400  # let in: an empty event is refused as such


@pytest.mark.both_stores
def test_one_client_makes_only_so_many_new_users_and_nothing_of_a_refused_event_is_kept(
    settings, parts
):
    settings.EVENTS_NEW_USERS_RATE = "3/minute"
    client = APIClient()

    def launch(user: str, **extra: str):
        body = {**BRIEF_SAMPLE[0], "user_id": user, "event_id": f"launch-of-{user}"}
        return post(client, "/v1/event", body, **bearer("app-token"), **extra)

    made = [launch(f"u{n}").status_code for n in range(5)]
    refused = launch("u9")
    known = post(
        client, "/v1/event", {**BRIEF_SAMPLE[1], "user_id": "u0"}, **bearer("app-token")
    ).status_code
    elsewhere = launch("u9", REMOTE_ADDR="192.0.2.7").status_code

    assert made == [202, 202, 202, 429, 429]
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "EVENTS_NEW_USERS_RATE" in refused.json()["detail"]
    assert known == 202  # a user the store holds is never held up
    assert elsewhere == 202  # another client has its own allowance, and u9 is new to it
    assert not parts.repository.user_state("u3")


@pytest.mark.both_stores
def test_a_batch_past_its_client_s_new_users_is_429_and_its_retry_finishes_it(settings):
    settings.EVENTS_NEW_USERS_RATE = "3/minute"
    batch = [{**BRIEF_SAMPLE[0], "user_id": f"b{n}"} for n in range(5)]
    client = APIClient()

    first = post(client, "/v1/events", batch, **bearer("app-token"))
    retried = post(client, "/v1/events", batch, REMOTE_ADDR="192.0.2.8", **bearer("app-token"))

    assert first.status_code == 429
    assert [each["status"] for each in retried.json()["results"]] == ["duplicate"] * 3 + [
        "accepted"
    ] * 2


@pytest.mark.both_stores
def test_a_user_the_store_holds_is_not_new_to_a_process_that_does_not_remember_it(settings, parts):
    settings.EVENTS_NEW_USERS_RATE = "2/minute"
    client = APIClient()
    launch = {**BRIEF_SAMPLE[0], "user_id": "old"}
    assert post(client, "/v1/event", launch, **bearer("app-token")).status_code == 202
    forget = getattr(parts.repository, "_last_states", {})  # Redis: as another process would
    forget.clear()

    start = post(client, "/v1/event", {**BRIEF_SAMPLE[1], "user_id": "old"}, **bearer("app-token"))
    new = post(client, "/v1/event", {**launch, "user_id": "new"}, **bearer("app-token"))
    newer = post(client, "/v1/event", {**launch, "user_id": "newer"}, **bearer("app-token"))

    assert start.status_code == 202
    assert new.status_code == 202  # the old user's event spent nothing of the allowance
    assert newer.status_code == 429


def basic(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{token}:".encode()).decode()}


@pytest.mark.parametrize(("token", "who"), [("admin-token", "operator"), ("app-token", "app")])
def test_the_browsable_api_names_who_is_logged_in_in_words(token, who):
    path = "/v1/events" if who == "operator" else "/v1/event"
    answer = APIClient().get(path, HTTP_ACCEPT="text/html", **basic(token))

    page = answer.content.decode()
    assert answer.status_code in (200, 403)
    assert f">{who}" in page.replace("\n", "").replace("  ", "")
    assert "ApiClient(" not in page
