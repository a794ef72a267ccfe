"""Each user's timeline from the production server: the brief's sample drawn for an
operator, on the memory store and on Redis with two workers (any worker draws it);
a browser without credentials is asked for them."""

import time
import xml.etree.ElementTree as ET

import pytest
import requests

from tests.e2e.conftest import GUNICORN, Server
from tests.sample import BRIEF_SAMPLE

pytestmark = pytest.mark.e2e

OPERATOR = {"Authorization": "Bearer operator-token"}
APP = {"Authorization": "Bearer app-token"}


@pytest.fixture(params=["memory", "redis"])
def production(request, server_env):
    server_env.update(
        EVENTS_ALLOW_ANONYMOUS="false",
        EVENTS_API_TOKENS="app-token",
        EVENTS_ADMIN_TOKENS="operator-token",
    )
    options: tuple[str, ...] = ()
    if request.param == "redis":
        request.getfixturevalue("redis_env")  # updates server_env
        options = ("-w", "2")
    running = Server(GUNICORN, server_env, *options)
    yield running.url
    running.stop()


def sent(server: str, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = requests.get(f"{server}/v1/notifications?status=sent", headers=OPERATOR, timeout=5)
        if found.json()["count"] == count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{count} notifications were not sent in {timeout} s")


def classes(picture: ET.Element, css: str) -> list[ET.Element]:
    return [each for each in picture.iter() if css.split() == each.get("class", "").split()]


def test_an_operator_sees_the_brief_s_sample_at_a_glance(production, standin):
    for event in BRIEF_SAMPLE:
        assert requests.post(f"{production}/v1/event", json=event, headers=APP, timeout=5).ok
    sent(production, 2)

    foo2 = requests.get(
        f"{production}/v1/users/foo2/timeline?format=svg", headers=OPERATOR, timeout=5
    )
    page = requests.get(f"{production}/v1/users/foo1/timeline", headers=OPERATOR, timeout=5)

    assert foo2.headers["Content-Type"] == "image/svg+xml; charset=utf-8"
    picture = ET.fromstring(foo2.content)
    [window] = classes(picture, "window sent")
    assert (window.get("data-opened"), window.get("data-closes")) == (
        "2021-02-28T16:22:52Z",
        "2021-02-28T16:32:52Z",
    )
    assert len(classes(picture, "notification sent")) == 1
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert 'data-minutes="36"' in page.text
    assert "http" not in page.text.lower().replace("http://www.w3.org/2000/svg", "")


def test_a_browser_without_credentials_is_sent_to_log_in(production):
    answer = requests.get(
        f"{production}/v1/users/foo2/timeline",
        headers={"Accept": "text/html"},
        allow_redirects=False,
        timeout=5,
    )

    assert answer.status_code == 302
    assert answer.headers["Location"] == "/login?next=%2Fv1%2Fusers%2Ffoo2%2Ftimeline"
