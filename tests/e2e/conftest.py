"""Real processes on loopback: the service as a server process, a real notify stand-in."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

from notifications.management.standin import NotifyStandIn
from tests.redis_server import REDIS_URL, delete_prefix, require_redis, unique_prefix
from tests.wire import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def standin():
    running = NotifyStandIn().start()
    yield running
    running.stop()


@pytest.fixture
def server_env(standin) -> dict[str, str]:
    """Fast retries and a quick breaker, so failure scenarios play out in seconds."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        NOTIFY_URL=standin.url,
        NOTIFY_BACKOFF_BASE_SECONDS="0.05",
        NOTIFY_BACKOFF_MAX_SECONDS="0.2",
        NOTIFY_MAX_ATTEMPTS="100",
        NOTIFY_RETRY_BUDGET_SECONDS="60",
        NOTIFY_BREAKER_FAILURES="3",
        NOTIFY_BREAKER_COOLDOWN_SECONDS="0.5",
        NOTIFY_SHUTDOWN_GRACE_SECONDS="3",
        EVENTS_THROTTLE_RATE="",
        SECRET_KEY="a-key-for-the-end-to-end-tests-only-long-enough-for-django-s-own-bar",
        # As behind a gateway that authenticates the app; tests of tokens set their own.
        EVENTS_ALLOW_ANONYMOUS="true",
    )
    return env


RUNSERVER = [sys.executable, "manage.py", "runserver", "--noreload"]
GUNICORN = [sys.executable, "-m", "eventsproject.server"]  # the production command


class Server:
    """A real server process on a free loopback port."""

    def __init__(
        self, command: list[str], env: dict[str, str], *options: str, port: int = 0
    ) -> None:
        address = f"127.0.0.1:{port or free_port()}"
        args = [*command, address] if command is RUNSERVER else [*command, "-b", address]
        if command is GUNICORN:
            args += options
        self.url = f"http://{address}"
        # A file, not a pipe: a chatty server must never block on a full pipe.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (closed by the fixture's end)
        self.process = subprocess.Popen(
            args,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, which `kill` ends at once
        )
        wait_until_up(self.url, self.process, self.log)

    def kill(self) -> None:
        """SIGKILL the server and every process it started: a crash, with no goodbye."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> str:
        """SIGTERM, wait for a graceful exit, and return everything it logged."""
        self.process.terminate()
        self.process.wait(timeout=30)
        return self.output()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode()


@pytest.fixture
def server_process(server_env):
    running = Server(RUNSERVER, server_env)
    yield running
    if running.process.poll() is None:
        running.stop()
    running.log.close()


@pytest.fixture
def server(server_process) -> str:
    """The base URL of `manage.py runserver` on a free loopback port."""
    return server_process.url


def wait_until_up(base_url: str, process: subprocess.Popen, log, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server exited: {log.read().decode()}")
        try:
            requests.get(f"{base_url}/v1/event", timeout=1)
            return
        except (requests.ConnectionError, requests.Timeout):  # not listening, or still booting
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer on {base_url} within {timeout}s")


@pytest.fixture
def redis_env(server_env):
    client = require_redis()
    prefix = unique_prefix()
    server_env.update(
        EVENTS_STORE="redis",
        REDIS_URL=REDIS_URL,
        EVENTS_REDIS_PREFIX=prefix,
        EVENTS_TIMER_SHARDS="4",
        EVENTS_CLAIM_LEASE_SECONDS="2",
        NOTIFY_CONNECT_TIMEOUT="0.2",  # three attempts fit in the lease, as the settings ask
        NOTIFY_READ_TIMEOUT="0.4",
        EVENTS_TICK_SECONDS="0.2",
        EVENTS_BATCH_THROTTLE_RATE="",
        # run_workers' own /metrics and health: never the default port a host may have taken
        EVENTS_WORKERS_HTTP_ADDRESS=f"127.0.0.1:{free_port()}",
    )
    yield server_env
    delete_prefix(client, prefix)
