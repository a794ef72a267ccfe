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

from benchmarks import loadgen

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PRODUCTION_COMMAND = [sys.executable, "-m", "gunicorn", "-c", "python:eventsproject.gunicorn"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def notify_standin(delay_seconds: float) -> Iterator[str]:
    """The notify stand-in in a process of its own (not sharing the load generator's GIL)."""
    port = free_port()
    command = [sys.executable, "manage.py", "notify_standin", "--quiet", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--delay", str(delay_seconds)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/v1/notify"
    finally:
        process.terminate()
        process.wait(timeout=30)


#: Production mode needs a token; the load generator sends this one.
BENCHMARK_TOKEN = "a-token-for-the-benchmarks-only"


@contextmanager
def production_server(
    notify_url: str, settings_module: str, extra_env: dict[str, str] | None = None
) -> Iterator[int]:
    """The documented production command on a free loopback port; yields the port.
    `extra_env` adds settings (EVENTS_STORE, WEB_CONCURRENCY, ...)."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "NOTIFY_URL": notify_url,
        "LOG_LEVEL": "WARNING",
        "EVENTS_THROTTLE_RATE": "",
        "EVENTS_BATCH_THROTTLE_RATE": "",
        "EVENTS_SEEN_IDS_LIMIT": "100000",
        "SECRET_KEY": "a-key-for-the-benchmarks-only-long-enough-for-django-s-own-bar",
        "EVENTS_API_TOKENS": BENCHMARK_TOKEN,
        **(extra_env or {}),
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
            _wait_for_port(port, process)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=60)


def load(
    port: int, path: str, bodies: list[bytes], connections: int, seconds: float
) -> loadgen.LoadResult:
    return loadgen.run(("127.0.0.1", port), path, bodies, connections, seconds, BENCHMARK_TOKEN)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited while starting")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port}")
