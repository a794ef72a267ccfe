"""Caps and quiet hours on Redis with two workers decide as one process on memory (issue 26).

What a cap counts is part of each user's state, so two gunicorn workers taking a user's
events by turns must hold the user to it as one process does.
"""

import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from tests.e2e.conftest import GUNICORN, Server
from tests.e2e.test_redis_processes import START, expected_ids, post_streams

pytestmark = pytest.mark.e2e

RULES = """
version = "capped-and-quiet"
[timezone]
default = "America/New_York"
[rules.start_training_reminder]
cap = { max = 1, per_hours = 24 }
quiet_hours = { from = "22:00", to = "08:00", action = "skip" }
[rules.training_dose_congratulation]
cap = { max = 2, per_hours = 24 }
quiet_hours = { from = "23:00", to = "07:00", action = "defer" }
"""

#: (minute, type) of each user's day: three sessions (the third capped) and two reminders
#: (the second capped), the first launch's cancelled by a start.
DAY = [
    (0, "app_launched"),
    (1, "training_program_started"),
    (41, "training_program_finished"),
    (60, "app_launched"),
    (75, "profile_viewed"),
    (100, "training_program_started"),
    (140, "training_program_finished"),
    (200, "app_launched"),
    (215, "profile_viewed"),
    (250, "training_program_started"),
    (290, "training_program_finished"),
]
#: Users' own offsets: some state none (the default zone judges them).
OFFSETS = ["+00:00", "+05:30", "-08:00", None]


def day_of(n: int) -> list[dict]:
    """User n's day, starting 37 minutes a user apart after START so that some of it falls in quiet
    hours, with the user's offset on its timestamps."""
    user = f"user-{n:03d}"
    offset = OFFSETS[n % len(OFFSETS)]
    begins = START + timedelta(minutes=37 * n)
    return [_event(kind, user, begins + timedelta(minutes=minute), offset) for minute, kind in DAY]


def _event(kind: str, user: str, moment, offset: str | None) -> dict:
    stamp = moment.isoformat()
    if offset is not None:
        hours, minutes = int(offset[:3]), int(offset[0] + offset[4:])
        stamp = (moment + timedelta(hours=hours, minutes=minutes)).isoformat()[:19] + offset
    body = {
        "schema_version": 2,
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{user}/{kind}/{stamp}")),
        "type": kind,
        "occurred_at": stamp if offset is not None else moment.isoformat(),
        "user_id": user,
        "device_id": f"device-of-{user}",
    }
    if kind.startswith("training_program"):
        body["training_program"] = {"id": f"p-{stamp[:13]}", "title": "HIIT"}
    return body


def test_two_workers_on_redis_hold_users_to_caps_and_quiet_hours_as_one_process(
    redis_env, standin, settings, tmp_path
):
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    settings.EVENTS_RULES_FILE = str(rules)
    redis_env["EVENTS_RULES_FILE"] = str(rules)
    days = [day_of(n) for n in range(40)]
    expected = expected_ids(days)
    server = Server(GUNICORN, redis_env, "-w", "2")
    try:
        with ThreadPoolExecutor(max_workers=8) as clients:
            tallies = clients.map(lambda n: post_streams(server.url, days[n::8], set()), range(8))
            statuses = sum(tallies, Counter())
        standin.wait_for(len(expected), timeout=30)
        time.sleep(0.5)  # anything extra would arrive now
    finally:
        log = server.stop()

    assert dict(statuses) == {202: sum(map(len, days))}, log
    assert sorted(r.idempotency_key for r in standin.received) == sorted(expected)
    kinds = Counter(r.payload["kind"] for r in standin.received)
    assert kinds["training_dose_congratulation"] < 3 * len(days)  # the caps held some back
    assert any("deliver_after" in r.payload for r in standin.received)  # and some deferred
    assert {r.payload["rules_version"] for r in standin.received} == {"capped-and-quiet"}
