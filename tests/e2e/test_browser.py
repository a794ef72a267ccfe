"""A person in Debian's Chromium, headless, against the production server: asked to log in,
logs in with the operator's token, uses the browsable API and Swagger UI, follows a user's
link to their timeline and finds in it the brief's story, and logs out.

With EVENTS_SCREENSHOTS_DIR set (`make screenshots`), the pages are kept there as PNGs.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as shown
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import GUNICORN, Server
from tests.sample import BRIEF_SAMPLE

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: As the machine's own probe starts it: no sandbox (root), and nothing that reaches for
#: Google's hosts, which this closed network refuses.
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
]
APP_TOKEN = "an-app-token-for-the-browser-test"
OPERATOR_TOKEN = "an-operator-token-for-the-browser-test"
SECONDS = 20


def _require_chromium() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if not missing:
        return
    why = f"{', '.join(missing)} missing: apt-get install chromium chromium-driver (.ci/run does)"
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture
def chromium() -> Iterator[WebDriver]:
    """Asked for after the server, so it quits first: its kept-alive connections would
    hold the server's graceful stop until they time out."""
    _require_chromium()
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(SECONDS)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(params=["memory, 1 worker", "redis, 2 workers"])
def production(request, server_env, standin) -> Iterator[str]:
    """The production server with tokens, after the brief's sample has been delivered."""
    env = request.getfixturevalue("redis_env") if "redis" in request.param else server_env
    env.update(
        EVENTS_ALLOW_ANONYMOUS="false",
        EVENTS_API_TOKENS=APP_TOKEN,
        EVENTS_ADMIN_TOKENS=OPERATOR_TOKEN,
        WEB_CONCURRENCY="2" if "2 workers" in request.param else "1",
    )
    running = Server(GUNICORN, env)
    for event in BRIEF_SAMPLE:
        answer = requests.post(
            f"{running.url}/v1/event",
            json=event,
            headers={"Authorization": f"Bearer {APP_TOKEN}"},
            timeout=10,
        )
        assert answer.status_code == 202, answer.text
    assert len(standin.wait_for(2, timeout=SECONDS)) == 2
    yield running.url
    running.stop()


def test_a_person_logs_in_uses_the_pages_and_logs_out(production, chromium):
    chromium.get(f"{production}/v1/notifications")
    _log_in(chromium, OPERATOR_TOKEN)

    assert chromium.current_url == f"{production}/v1/notifications"
    assert _navbar_user(chromium) == "operator"
    answer = chromium.find_element(By.CSS_SELECTOR, ".response-info pre").text
    assert answer.count('"status": "sent"') == 2
    _keep(chromium, "browsable-api")

    chromium.get(f"{production}/v1/docs")
    title = _wait(chromium, By.CSS_SELECTOR, ".swagger-ui .info .title")
    assert "Events Processor" in title.text
    _wait(chromium, By.CSS_SELECTOR, ".opblock-summary-path[data-path='/v1/event']")
    _keep(chromium, "swagger-ui")

    chromium.get(f"{production}/v1/users/foo2")
    _wait(chromium, By.PARTIAL_LINK_TEXT, "/v1/users/foo2/timeline").click()
    _foo2_was_reminded(chromium)
    _keep(chromium, "timeline-foo2")
    chromium.get(f"{production}/v1/users/foo1/timeline")
    _foo1_was_congratulated(chromium)
    _keep(chromium, "timeline-foo1")

    chromium.get(f"{production}/v1/events")
    _log_out(chromium)
    chromium.get(f"{production}/v1/notifications")
    assert "/login?next=" in chromium.current_url


def test_a_wrong_token_is_told_on_the_page_and_lets_nobody_in(production, chromium):
    chromium.get(f"{production}/v1/users/foo1")
    _log_in(chromium, "not-the-token")

    assert "Invalid token" in _wait(chromium, By.ID, "login-error").text
    _keep(chromium, "login-refused")
    _log_in(chromium, OPERATOR_TOKEN)
    assert chromium.current_url == f"{production}/v1/users/foo1"


def _foo2_was_reminded(chromium: WebDriver) -> None:
    """The launch at 16:22:52, its window to 16:32:52 sent, and the reminder delivered."""
    launch = _wait(chromium, By.CSS_SELECTOR, "g.event.launch")
    window = chromium.find_element(By.CSS_SELECTOR, "rect.window")
    reminder = chromium.find_element(By.CSS_SELECTOR, "g.notification")
    assert launch.get_attribute("data-at") == "2021-02-28T16:22:52Z"
    assert (window.get_attribute("data-outcome"), window.get_attribute("data-closes")) == (
        "sent",
        "2021-02-28T16:32:52Z",
    )
    assert reminder.get_attribute("data-status") == "sent"
    assert "16:22:52" in _hover_text(chromium, launch)  # what a person sees on hovering
    assert chromium.find_element(By.CSS_SELECTOR, "text.zone").text.startswith("time in UTC")


def _foo1_was_congratulated(chromium: WebDriver) -> None:
    session = _wait(chromium, By.CSS_SELECTOR, "g.session.finished")
    congratulation = chromium.find_element(By.CSS_SELECTOR, "g.notification")
    assert session.get_attribute("data-minutes") == "36"
    assert "36" in session.text
    assert (
        congratulation.get_attribute("data-kind"),
        congratulation.get_attribute("data-status"),
    ) == (
        "training_dose_congratulation",
        "sent",
    )


def _hover_text(chromium: WebDriver, mark) -> str:  # mark: a WebElement
    """The tooltip of an SVG mark: its <title>, which the browser shows on hovering."""
    return str(
        chromium.execute_script("return arguments[0].querySelector('title').textContent", mark)
    )


def _log_in(chromium: WebDriver, token: str) -> None:
    field = _wait(chromium, By.ID, "id_token")
    assert "/login" in chromium.current_url
    field.send_keys(token)
    chromium.find_element(By.ID, "log-in").click()
    WebDriverWait(chromium, SECONDS).until(shown.staleness_of(field))  # the next page is in


def _log_out(chromium: WebDriver) -> None:
    chromium.find_element(By.CSS_SELECTOR, ".navbar .dropdown-toggle").click()
    _wait(chromium, By.LINK_TEXT, "Log out").click()
    assert "You are logged out" in _wait(chromium, By.ID, "logged-out").text


def _navbar_user(chromium: WebDriver) -> str:
    return str(_wait(chromium, By.CSS_SELECTOR, ".navbar .dropdown-toggle").text.strip())


def _wait(chromium: WebDriver, by: str, what: str):  # -> WebElement
    return WebDriverWait(chromium, SECONDS).until(shown.visibility_of_element_located((by, what)))


def _keep(chromium: WebDriver, name: str) -> None:
    folder = os.environ.get("EVENTS_SCREENSHOTS_DIR")
    if folder:
        chromium.save_screenshot(str(Path(folder) / f"{name}.png"))
