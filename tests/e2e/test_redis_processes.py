"""Several gunicorn workers on one Redis: a crash loses nothing, concurrency changes nothing."""

import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests

from events.service.ingestion import ingest
from eventsproject import bootstrap
from notifications.management.standin import Answer
from tests.conftest import RecordingTransport
from tests.e2e.conftest import GUNICORN, PROJECT_ROOT, Server

pytestmark = pytest.mark.e2e

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def event(kind, user, minute, **extra):
    body = {
        "schema_version": 2,
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "occurred_at": (START + timedelta(minutes=minute)).isoformat(),
        "user_id": user,
        "device_id": f"device-of-{user}",
        **extra,
    }
    if kind.startswith("training_program"):
        body.setdefault("training_program", {"id": "p1", "title": "HIIT"})
    return body


def stream_of(n: int) -> list[dict]:
    """One user's events: a congratulation, a reminder sent by their own later event, or
    nothing (a session too short), by turns."""
    user = f"user-{n:03d}"
    streams = {
        0: [event("app_launched", user, 0), event("training_program_started", user, 1),
            event("training_program_finished", user, 41)],
        1: [event("app_launched", user, 0), event("profile_viewed", user, 15)],
        2: [event("training_program_started", user, 0),
            event("training_program_finished", user, 9)],
    }  # fmt: skip
    return streams[n % 3]


def expected_ids(streams: list[list[dict]]) -> set[str]:
    """The notifications one process with the memory store decides for the same streams."""
    transport = RecordingTransport()
    with bootstrap.installed(bootstrap.build(transport=transport, store="memory")) as parts:
        parts.dispatcher.start()
        for stream in streams:
            for body in stream:
                ingest(bootstrap.components().processor, body, received_at=datetime.now(UTC))
        assert parts.dispatcher.flush(timeout=10)
        parts.dispatcher.close(timeout=0)
    return {notification.notification_id for notification in transport.sent}


def post(server, body):
    return requests.post(f"{server.url}/v1/event", json=body, timeout=10)


def post_streams(url: str, streams: list[list[dict]], twice: set[str]) -> Counter[int]:
    """Each stream's events in order, those in `twice` posted a second time at once."""
    statuses: Counter[int] = Counter()
    with requests.Session() as session:
        for body in (body for stream in streams for body in stream):
            for _ in range(2 if body["event_id"] in twice else 1):
                statuses[session.post(f"{url}/v1/event", json=body, timeout=10).status_code] += 1
    return statuses


def test_two_workers_with_interleaved_users_and_duplicates_decide_as_one_process(
    redis_env, standin
):
    streams = [stream_of(n) for n in range(120)]
    chooser = random.Random(8)
    twice = {body["event_id"] for stream in streams for body in stream if chooser.random() < 0.1}
    server = Server(GUNICORN, redis_env, "-w", "2")
    try:
        with ThreadPoolExecutor(max_workers=8) as clients:
            tallies = clients.map(
                lambda n: post_streams(server.url, streams[n::8], twice), range(8)
            )
            statuses = sum(tallies, Counter())
        expected = expected_ids(streams)
        standin.wait_for(len(expected), timeout=30)
        time.sleep(0.5)  # anything extra would arrive now
    finally:
        log = server.stop()

    assert dict(statuses) == {202: sum(map(len, streams)), 200: len(twice)}, log
    keys = [received.idempotency_key for received in standin.received]
    assert sorted(keys) == sorted(expected)


def test_a_crash_of_every_process_loses_no_notification_and_reuses_no_key(redis_env, standin):
    redis_env.update(EVENTS_REMINDER_DELAY_SECONDS="2", EVENTS_ALLOWED_LATENESS_SECONDS="1")
    standin.answer = Answer(status=503)
    server = Server(GUNICORN, redis_env, "-w", "2")
    now = datetime.now(UTC)
    congratulated = [f"fit-{n}" for n in range(6)]
    reminded = [f"idle-{n}" for n in range(6)]
    for user in congratulated:
        start = event("training_program_started", user, 0, occurred_at=now.isoformat())
        finish = event(
            "training_program_finished",
            user,
            0,
            occurred_at=(now + timedelta(minutes=45)).isoformat(),
        )
        assert post(server, start).status_code == 202
        assert post(server, finish).status_code == 202
    for user in reminded:
        assert (
            post(server, event("app_launched", user, 0, occurred_at=now.isoformat())).status_code
            == 202
        )
    standin.wait_for_attempts(6, timeout=15)  # congratulations failing, reminders coming due

    server.kill()
    standin.answer = Answer()
    restarted = Server(GUNICORN, redis_env, "-w", "2")
    try:
        standin.wait_for(12, timeout=60)
        time.sleep(1)  # anything extra would arrive now
    finally:
        restarted.stop()

    delivered = {(r.payload["kind"], r.payload["user_id"]) for r in standin.received}
    assert delivered == {
        *(("training_dose_congratulation", user) for user in congratulated),
        *(("start_training_reminder", user) for user in reminded),
    }
    payloads_by_key = defaultdict(set)
    for attempt in standin.attempts:
        payloads_by_key[attempt.idempotency_key].add(attempt.payload["user_id"])
    assert all(len(users) == 1 for users in payloads_by_key.values())
    assert len(payloads_by_key) == 12


def test_run_workers_reminds_and_delivers_for_web_processes_that_do_not(redis_env, standin):
    redis_env.update(
        EVENTS_WEB_RUNS_WORKERS="false",
        EVENTS_REMINDER_DELAY_SECONDS="1",
        EVENTS_ALLOWED_LATENESS_SECONDS="0",
    )
    server = Server(GUNICORN, redis_env, "-w", "2")
    try:
        launch = event("app_launched", "solo", 0, occurred_at=datetime.now(UTC).isoformat())
        assert post(server, launch).status_code == 202
        time.sleep(1.5)
        assert standin.attempts == []  # due, but no web process runs the ticker

        workers = subprocess.Popen(
            [sys.executable, "manage.py", "run_workers"],
            cwd=PROJECT_ROOT,
            env=redis_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        [reminder] = standin.wait_for(1, timeout=15)
        workers.send_signal(signal.SIGTERM)
        output, _ = workers.communicate(timeout=30)
    finally:
        server.stop()

    assert reminder.payload["user_id"] == "solo"
    assert workers.returncode == 0, output
    assert "Stopped." in output


def test_two_workers_share_one_allowance_per_client(redis_env):
    redis_env["EVENTS_THROTTLE_RATE"] = "5/min"
    server = Server(GUNICORN, redis_env, "-w", "2")
    try:
        statuses = Counter(
            # A new connection each time, so that both workers take some.
            requests.post(
                f"{server.url}/v1/event",
                json=event("app_launched", f"user-{n}", n),
                headers={"Connection": "close"},
                timeout=10,
            ).status_code
            for n in range(16)
        )
    finally:
        server.stop()

    assert statuses == {202: 5, 429: 11}


def order_free_stream_of(n: int) -> list[dict]:
    """One user's events whose decisions none of them can make final before all are seen:
    a congratulation, a launch a start cancels, two launches merged, two programs at once."""
    user = f"shuffled-{n:03d}"
    streams = {
        0: [event("training_program_started", user, 0),
            event("training_program_finished", user, 40)],
        1: [event("app_launched", user, 0), event("training_program_started", user, 5)],
        2: [event("app_launched", user, 0), event("app_launched", user, 3),
            event("training_program_started", user, 8)],
        3: [event("training_program_started", user, 0),
            event("training_program_started", user, 2, training_program={"id": "p2"}),
            event("training_program_finished", user, 33, training_program={"id": "p2"}),
            event("training_program_finished", user, 45)],
    }  # fmt: skip
    return streams[n % 4]


def test_one_users_events_in_concurrent_batches_decide_as_the_ordered_stream(redis_env, standin):
    streams = [order_free_stream_of(n) for n in range(80)]
    shuffler = random.Random(24)
    batches = []
    for stream in streams:  # each user's events out of order, split across requests
        late_first = shuffler.sample(stream, len(stream))
        cut = shuffler.randint(1, len(stream) - 1)
        batches += [late_first[:cut], late_first[cut:]]
    shuffler.shuffle(batches)
    server = Server(GUNICORN, redis_env, "-w", "2")
    try:
        with ThreadPoolExecutor(max_workers=8) as clients:
            answers = list(
                clients.map(
                    lambda batch: requests.post(f"{server.url}/v1/events", json=batch, timeout=10),
                    batches,
                )
            )
        expected = expected_ids(streams)
        standin.wait_for(len(expected), timeout=30)
        time.sleep(0.5)  # anything extra would arrive now
        state = requests.get(f"{server.url}/v1/health", timeout=10).json()["state"]
    finally:
        log = server.stop()

    assert {answer.status_code for answer in answers} == {200}, log
    assert state["pending_reminders"] == 0  # every launch's start was seen in its place
    keys = [received.idempotency_key for received in standin.received]
    assert sorted(keys) == sorted(expected)
