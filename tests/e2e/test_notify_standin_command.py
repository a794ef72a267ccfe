"""`manage.py notify_standin`, the stand-in `make run` starts beside the API."""

import base64
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

import pytest
import requests
from standardwebhooks.webhooks import Webhook

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


def test_given_the_secret_the_stand_in_says_which_calls_it_verified():
    secret = "whsec_" + base64.b64encode(b"the secret of make run, 32 bytes").decode()
    port = free_port()
    body = '{"kind": "demo"}'
    at = datetime.now(UTC)
    signature = Webhook(secret).sign("n-1", at, body)
    headers = {
        "webhook-id": "n-1",
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "notify_standin", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env={**os.environ, "NOTIFY_SIGNING_SECRET": secret},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}/v1/notify"
            unsigned = post_when_up(url, {"kind": "unsigned"})
            signed = requests.post(url, data=body, headers=headers, timeout=5)
        finally:
            process.terminate()
            process.wait(timeout=10)
        log.seek(0)
        printed = log.read().decode()

    assert (unsigned.status_code, signed.status_code) == (401, 200)
    assert "verifying Standard Webhooks signatures" in printed
    assert 'notify <- (signature verified) {"kind": "demo"}' in printed
    assert "notify refused (missing or bad signature)" in printed
