"""The production command's start: what it refuses and what it warns about."""

from ipaddress import ip_network
from types import SimpleNamespace

import pytest

from eventsproject import gunicorn


class RecordingLog:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str, *args: object) -> None:
        self.warnings.append(message % args)


class RecordingConfig(SimpleNamespace):
    def set(self, name: str, value: object) -> None:
        setattr(self, name, value)


def gunicorn_server(workers=1, preload_app=False):
    return SimpleNamespace(
        cfg=RecordingConfig(workers=workers, preload_app=preload_app, keepalive=2),
        log=RecordingLog(),
    )


@pytest.fixture(autouse=True)
def production_settings(settings):
    """What the production command reads: Django's settings, so `.env` counts as well."""
    settings.SECRET_KEY = "a-production-key-of-its-own-long-enough-for-django-s-own-bar"
    settings.EVENTS_ALLOW_ANONYMOUS = False
    settings.EVENTS_API_TOKENS = ["an-app-token-long-enough"]


def test_gunicorn_refuses_to_start_with_debug_pages_on(settings):
    settings.DEBUG = True

    with pytest.raises(SystemExit, match="DEBUG on"):
        gunicorn.on_starting(gunicorn_server())


def test_gunicorn_refuses_to_start_without_a_secret_key_of_its_own(settings):
    settings.SECRET_KEY = settings.DEVELOPMENT_SECRET_KEY

    with pytest.raises(SystemExit, match="without a SECRET_KEY of its own"):
        gunicorn.on_starting(gunicorn_server())


def test_gunicorn_refuses_to_start_when_no_client_could_post(settings):
    settings.EVENTS_API_TOKENS = []
    settings.EVENTS_ADMIN_TOKENS = []

    with pytest.raises(SystemExit, match=r"EVENTS_API_TOKENS.*EVENTS_ALLOW_ANONYMOUS"):
        gunicorn.on_starting(gunicorn_server())


def test_gunicorn_warns_at_start_when_running_open(settings):
    settings.EVENTS_API_TOKENS = []
    settings.EVENTS_ALLOW_ANONYMOUS = True

    server = gunicorn_server()

    gunicorn.on_starting(server)

    warned = " ".join(server.log.warnings)
    assert "events.W002" in warned
    assert "anyone may post events" in warned


@pytest.mark.parametrize("workers", [2, 4])
def test_gunicorn_refuses_more_than_one_worker_with_the_memory_store(workers, settings):
    settings.EVENTS_STORE = "memory"

    with pytest.raises(SystemExit, match="Set EVENTS_STORE=redis"):
        gunicorn.on_starting(gunicorn_server(workers=workers))


def test_gunicorn_starts_several_workers_with_the_redis_store(settings):
    settings.EVENTS_STORE = "redis"

    server = gunicorn_server(workers=4)

    gunicorn.on_starting(server)

    assert server.log.warnings == []


def test_gunicorn_refuses_preloading():
    with pytest.raises(SystemExit, match="--preload"):
        gunicorn.on_starting(gunicorn_server(preload_app=True))


def test_gunicorn_starts_with_one_worker():
    gunicorn.on_starting(gunicorn_server())


def test_gunicorn_gives_each_client_the_configured_time(settings):
    settings.EVENTS_CLIENT_TIMEOUT_SECONDS = 7
    server = gunicorn_server()

    gunicorn.on_starting(server)

    assert server.cfg.keepalive == 7


@pytest.mark.parametrize("weak_key", ["abc", "x" * 60, "short-but-random-Qe4%Lw7~"])
def test_gunicorn_refuses_a_weak_secret_key(settings, weak_key):
    settings.SECRET_KEY = weak_key

    with pytest.raises(SystemExit, match="50 characters or more"):
        gunicorn.on_starting(gunicorn_server())


LONG = "a-token-long-enough-not-to-guess"


@pytest.mark.parametrize(
    ("changes", "check_id", "said"),
    [
        ({"EVENTS_ADMIN_TOKENS": ["an-app-token-long-enough"]}, "events.W004", "in both"),
        ({"EVENTS_ADMIN_TOKENS": [LONG, "short"]}, "events.W005", "token 2 of EVENTS_ADMIN"),
        ({"EVENTS_TRUSTED_PROXIES": [ip_network("::/0")]}, "events.W006", "every address"),
        ({"EVENTS_TRUSTED_PROXIES": [ip_network("0.0.0.0/0")]}, "events.W006", "0.0.0.0/0"),
    ],
)
def test_gunicorn_warns_at_start_of_settings_that_defeat_themselves(
    settings, changes, check_id, said
):
    for name, value in changes.items():
        setattr(settings, name, value)
    server = gunicorn_server()

    gunicorn.on_starting(server)

    [warning] = server.log.warnings
    assert warning.startswith(check_id)
    assert said in warning
    assert "short" not in warning.replace("shorter", "")  # a token is never shown
