"""Real processes on loopback: the service as a server process, a real notify stand-in."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from notifications.standin import NotifyStandIn

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def standin():
    running = NotifyStandIn().start()
    yield running
    running.stop()


@pytest.fixture
def server_env(standin) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(NOTIFY_URL=standin.url, NOTIFY_BACKOFF_FACTOR="0.05")
    return env


@pytest.fixture
def server(server_env):
    """`manage.py runserver` on a free loopback port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=PROJECT_ROOT,
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base_url, process)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_until_up(base_url: str, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode()}")
        try:
            requests.get(f"{base_url}/v1/event", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer on {base_url} within {timeout}s")
