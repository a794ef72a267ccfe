"""A person logs in from a browser with the operator's token and logs out again: the login
page, its signed cookie, and what the cookie may and may not do."""

import re
from urllib.parse import quote

import pytest
from django.test import Client

pytestmark = pytest.mark.usefixtures("production_access")

HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
LOGIN_COOKIE = "events_login"


@pytest.fixture
def browser() -> Client:
    return Client(enforce_csrf_checks=True, HTTP_ACCEPT=HTML)


def csrf_token(page: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found, "the page has no CSRF token"
    return found.group(1)


def log_in(browser: Client, token: str, next_page: str = ""):
    form = browser.get("/login")
    fields = {"token": token, "csrfmiddlewaretoken": csrf_token(form.content.decode())}
    if next_page:
        fields["next"] = next_page
    return browser.post("/login", fields)


@pytest.mark.parametrize("path", ["/v1/events", "/v1/users/u1/decisions", "/v1/rules"])
def test_a_browser_without_credentials_is_sent_to_the_login_page_and_back(browser, path):
    answer = browser.get(path)

    assert answer.status_code == 302
    assert answer["Location"] == f"/login?next={quote(path, safe='')}"


def test_an_api_client_is_still_challenged_with_bearer_only():
    answer = Client().get("/v1/events", HTTP_ACCEPT="application/json")

    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="events"'


def test_the_login_page_asks_for_the_token_in_a_password_field(browser):
    page = browser.get("/login?next=/v1/events")

    html = page.content.decode()
    assert page.status_code == 200
    assert 'type="password"' in html
    assert 'name="token"' in html
    assert 'value="/v1/events"' in html


def test_the_operator_token_logs_in_and_every_page_opens_with_the_cookie(browser):
    answer = log_in(browser, "admin-token", "/v1/notifications")

    assert answer.status_code == 302
    assert answer["Location"] == "/v1/notifications"
    cookie = answer.cookies[LOGIN_COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert "admin-token" not in cookie.value
    for path in ["/v1/events", "/v1/notifications", "/v1/users/u1", "/v1/rules"]:
        assert browser.get(path).status_code in (200, 404), path


def test_the_navbar_says_who_is_logged_in_and_offers_to_log_out(browser):
    log_in(browser, "admin-token")

    page = browser.get("/v1/events").content.decode()

    flat = re.sub(r"\s+", " ", page)
    assert re.search(r">\s*operator\s*<", flat)
    assert 'action="/logout' in page
    assert "ApiClient(" not in page


def test_an_app_token_opens_no_page_so_it_is_refused_at_the_door(browser):
    answer = log_in(browser, "app-token")

    assert answer.status_code == 403
    assert "EVENTS_ADMIN_TOKENS" in answer.content.decode()
    assert LOGIN_COOKIE not in answer.cookies


def test_a_wrong_token_is_refused_on_the_page_with_no_cookie(browser):
    answer = log_in(browser, "a-guess")

    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="events"'
    assert "Invalid token" in answer.content.decode()
    assert LOGIN_COOKIE not in answer.cookies


def test_guessing_on_the_login_page_is_throttled_like_any_failed_token(browser, settings):
    settings.EVENTS_AUTH_FAILURE_RATE = "3/minute"

    statuses = [log_in(browser, f"guess-{n}").status_code for n in range(4)]
    right_one = log_in(browser, "admin-token")

    assert statuses == [401, 401, 401, 429]
    assert right_one.status_code == 429
    assert int(right_one["Retry-After"]) > 0
    assert "failed authentications" in right_one.content.decode()
    assert LOGIN_COOKIE not in right_one.cookies


def test_a_login_without_the_form_s_csrf_token_is_refused(browser):
    answer = browser.post("/login", {"token": "admin-token"})

    assert answer.status_code == 403
    assert LOGIN_COOKIE not in answer.cookies


@pytest.mark.parametrize(
    "elsewhere", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_login_never_sends_the_browser_to_another_site(browser, elsewhere):
    answer = log_in(browser, "admin-token", elsewhere)

    assert answer.status_code == 302
    assert answer["Location"] == "/v1/notifications"


def test_logging_out_drops_the_cookie_and_the_pages_close_again(browser):
    log_in(browser, "admin-token")
    page = browser.get("/v1/events").content.decode()

    answer = browser.post("/logout", {"csrfmiddlewaretoken": csrf_token(page)})

    assert answer.status_code == 302
    assert answer["Location"] == "/login?logged_out=1"
    assert answer.cookies[LOGIN_COOKIE].value == ""
    assert browser.get("/v1/events").status_code == 302
    assert "logged out" in browser.get("/login?logged_out=1").content.decode()


def test_the_logout_page_offers_a_button_rather_than_logging_out_on_a_get(browser):
    log_in(browser, "admin-token")

    page = browser.get("/logout")

    assert page.status_code == 200
    assert 'method="post"' in page.content.decode()
    assert browser.get("/v1/events").status_code == 200


def test_a_cookie_stops_working_when_its_token_is_withdrawn(browser, settings):
    log_in(browser, "admin-token")
    settings.EVENTS_ADMIN_TOKENS = ["the-new-admin-token"]

    assert browser.get("/v1/events").status_code == 302


def test_a_tampered_or_expired_cookie_is_no_login(browser, monkeypatch):
    from eventsproject.web import login

    log_in(browser, "admin-token")
    good = browser.cookies[LOGIN_COOKIE].value
    browser.cookies[LOGIN_COOKIE] = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    tampered = browser.get("/v1/events").status_code
    browser.cookies[LOGIN_COOKIE] = good
    monkeypatch.setattr(login, "LOGIN_MAX_AGE_SECONDS", -1)

    assert tampered == 302
    assert browser.get("/v1/events").status_code == 302


def test_a_change_made_with_the_cookie_needs_the_page_s_csrf_token(browser):
    log_in(browser, "admin-token")
    page = browser.get("/v1/notifications").content.decode()

    resend = "/v1/notifications/n1/resend"
    forged = browser.post(resend, "{}", content_type="application/json")
    from_the_page = browser.post(
        resend, "{}", content_type="application/json", HTTP_X_CSRFTOKEN=csrf_token(page)
    )

    assert forged.status_code == 403
    assert "CSRF" in forged.content.decode()
    assert from_the_page.status_code == 404  # let in: there is no such notification


def test_over_https_the_cookie_is_secure(browser):
    form = browser.get("/login", secure=True)
    fields = {"token": "admin-token", "csrfmiddlewaretoken": csrf_token(form.content.decode())}

    answer = browser.post("/login", fields, secure=True, HTTP_REFERER="https://testserver/login")

    assert answer.cookies[LOGIN_COOKIE]["secure"]


def test_swagger_ui_sends_a_csrf_token_the_login_cookie_accepts(browser):
    log_in(browser, "admin-token")
    docs = browser.get("/v1/docs").content.decode()
    found = re.search(r'request\.headers\["X-CSRFTOKEN"\] = "([^"]+)"', docs)
    assert found, "Swagger UI's page carries no CSRF token"

    answer = browser.post(
        "/v1/notifications/n1/resend",
        "{}",
        content_type="application/json",
        HTTP_X_CSRFTOKEN=found.group(1),
    )

    assert answer.status_code == 404  # let in: there is no such notification


def test_the_browsable_api_carries_the_service_s_name(browser):
    log_in(browser, "admin-token")

    page = browser.get("/v1/events").content.decode()

    assert "<title>Event Collection Api \N{EN DASH} Events Processor</title>" in page
    assert "Django REST framework" not in page


@pytest.mark.parametrize(
    ("accept", "authorization"),
    [("*/*", ""), ("*/*", "Bearer a-wrong-token"), (HTML, "Bearer a-wrong-token")],
)
def test_an_api_client_is_answered_401_never_sent_to_the_login_page(accept, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    answer = Client().get("/v1/users/foo2/timeline", HTTP_ACCEPT=accept, **headers)

    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="events"'


def test_what_the_cookie_opens_no_shared_cache_keeps(browser):
    before = browser.get("/login")
    log_in(browser, "admin-token")

    page = browser.get("/v1/events")

    for answer in (before, page):
        assert "no-store" in answer["Cache-Control"]
        assert "private" in answer["Cache-Control"]
    assert "Cookie" in page["Vary"]


def test_logging_in_gives_the_browser_a_new_csrf_token(browser):
    form = browser.get("/login")
    before = browser.cookies["csrftoken"].value
    fields = {"token": "admin-token", "csrfmiddlewaretoken": csrf_token(form.content.decode())}

    browser.post("/login", fields)

    assert browser.cookies["csrftoken"].value != before


def test_a_form_refused_by_the_csrf_check_says_why_and_what_to_set(browser):
    form = browser.get("/login", secure=True)
    fields = {"token": "admin-token", "csrfmiddlewaretoken": csrf_token(form.content.decode())}

    answer = browser.post("/login", fields, secure=True, HTTP_ORIGIN="https://proxy.example")

    page = answer.content.decode()
    assert answer.status_code == 403
    assert "https://proxy.example" in page
    assert "TRUST_X_FORWARDED_PROTO" in page


def test_with_no_token_configured_the_login_page_says_none_is_needed(browser, settings):
    settings.DEBUG = True
    settings.EVENTS_API_TOKENS = []
    settings.EVENTS_ADMIN_TOKENS = []

    page = browser.get("/login").content.decode()
    navbar = browser.get("/v1/events").content.decode()

    assert "needs no login" in page
    assert 'name="token"' not in page
    assert "/login?next=" not in navbar
