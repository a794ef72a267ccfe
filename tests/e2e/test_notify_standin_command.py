"""`manage.py notify_standin`, the stand-in `make run` starts beside the API."""

import subprocess
import sys
import tempfile
import time

import pytest
import requests

from tests.e2e.conftest import PROJECT_ROOT
from tests.wire import free_port

pytestmark = pytest.mark.e2e


def test_the_stand_in_prints_every_notification_it_receives():
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "notify_standin", "--port", str(port)],
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            answer = post_when_up(f"http://127.0.0.1:{port}/v1/notify", {"kind": "demo"})
        finally:
            process.terminate()
            process.wait(timeout=10)
        log.seek(0)
        printed = log.read().decode()

    assert answer.status_code == 200
    assert 'notify <- {"kind": "demo"}' in printed


def post_when_up(url: str, payload: dict, timeout: float = 15.0) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.post(url, json=payload, timeout=2)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
