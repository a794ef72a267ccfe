"""HTTP benchmarks: the production command under load on loopback, beside a bare DRF view."""

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from benchmarks import loadgen
from notifications.standin import Answer, NotifyStandIn

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PRODUCTION_COMMAND = [sys.executable, "-m", "gunicorn", "-c", "python:eventsproject.gunicorn"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def notify_standin(delay_seconds: float) -> Iterator[NotifyStandIn]:
    standin = NotifyStandIn().start()
    standin.answer = Answer(delay_seconds=delay_seconds)
    try:
        yield standin
    finally:
        standin.stop()


@contextmanager
def production_server(notify_url: str, settings_module: str) -> Iterator[int]:
    """The documented production command on a free loopback port; yields the port."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "NOTIFY_URL": notify_url,
        "LOG_LEVEL": "WARNING",
        "EVENTS_THROTTLE_RATE": "",
        "EVENTS_BATCH_THROTTLE_RATE": "",
        "EVENTS_SEEN_IDS_LIMIT": "100000",
    }
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [*PRODUCTION_COMMAND, "-b", f"127.0.0.1:{port}", "eventsproject.wsgi"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(port, process)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=60)


def load(
    port: int, path: str, bodies: list[bytes], connections: int, seconds: float
) -> loadgen.LoadResult:
    return loadgen.run("127.0.0.1", port, path, bodies, connections, seconds)


def _wait_until_up(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited while starting")
        try:
            requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer on port {port}")
