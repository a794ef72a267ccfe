"""The service under a rules file (EVENTS_RULES_FILE): rules switched off, other figures,
other messages; `GET /v1/rules` and the health report say which rules are in force."""

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from rest_framework.test import APIClient

from eventsproject import bootstrap
from notifications.domain.notification import Notification, NotificationKind
from tests.conftest import RecordingTransport
from tests.sample import BRIEF_SAMPLE
from tests.service import drain_reminders

pytestmark = pytest.mark.both_stores

ROOT = Path(__file__).resolve().parents[2]


class Replayed(NamedTuple):
    sent: list[Notification]
    foo1_decisions: list[dict[str, Any]]
    foo2_decisions: list[dict[str, Any]]

    @property
    def foo1_outcomes(self) -> list[str]:
        return [decision["outcome"] for decision in self.foo1_decisions]


@pytest.fixture
def under_rules(settings, store_settings, tmp_path) -> Iterator[Callable[[str], Replayed]]:
    """Call with a rules file's text: the brief's sample (and `more` events after it) goes
    through the API of a service built with it; the notifications it sends and foo1's
    and foo2's decisions come back."""
    built: list[bootstrap.Components] = []

    def replay_sample(text: str, more: Sequence[dict[str, Any]] = ()) -> Replayed:
        path = tmp_path / "rules.toml"
        path.write_text(text)
        settings.EVENTS_RULES_FILE = str(path)
        transport = RecordingTransport()
        parts = bootstrap.build(transport=transport)
        built.append(parts)
        with bootstrap.installed(parts):
            parts.dispatcher.start()
            client = APIClient()
            for event in (*BRIEF_SAMPLE, *more):
                assert client.post("/v1/event", event, format="json").status_code == 202
            drain_reminders()
            assert parts.dispatcher.flush(timeout=5)
            decisions = [
                client.get(f"/v1/users/{user}/decisions").json()["results"]
                for user in ("foo1", "foo2")
            ]
        return Replayed(list(transport.sent), *decisions)

    yield replay_sample
    for parts in built:
        parts.dispatcher.close(timeout=0)


def kinds(sent: list[Notification]) -> list[str]:
    return sorted(notification.kind for notification in sent)


def test_an_empty_rules_file_gives_the_brief_s_two_notifications(under_rules):
    assert kinds(under_rules("").sent) == sorted(
        [NotificationKind.START_TRAINING_REMINDER, NotificationKind.TRAINING_DOSE_CONGRATULATION]
    )


def test_a_rule_switched_off_decides_nothing(under_rules):
    replayed = under_rules("[rules.training_dose_congratulation]\nenabled = false\n")

    assert kinds(replayed.sent) == [NotificationKind.START_TRAINING_REMINDER]
    assert replayed.foo1_outcomes == []


def test_a_rule_s_figures_and_message_come_from_the_file(under_rules):
    replayed = under_rules(
        "[rules.start_training_reminder]\n"
        'message = "Time to move!"\n'
        "[rules.training_dose_congratulation]\n"
        'threshold_seconds = 2400\nmessage = "{minutes} minutes!"\n'
    )

    (reminder,) = replayed.sent  # foo1's 36 minutes are under 40 now
    assert reminder.message == "Time to move!"
    assert replayed.foo1_outcomes == ["too_short"]


def test_the_messages_of_the_file_name_the_minutes_trained(under_rules):
    replayed = under_rules('[rules.training_dose_congratulation]\nmessage = "{minutes} minutes!"\n')

    (congratulation,) = [
        n for n in replayed.sent if n.kind == NotificationKind.TRAINING_DOSE_CONGRATULATION
    ]
    assert congratulation.message == "36 minutes!"


def test_each_decision_and_notification_names_the_version_of_the_rules(under_rules):
    replayed = under_rules('version = "2026-12-07.1"\n')

    assert [each["rules_version"] for each in replayed.foo1_decisions] == ["2026-12-07.1"]
    assert [n.as_payload()["rules_version"] for n in replayed.sent] == ["2026-12-07.1"] * 2


def test_the_rules_in_force_are_shown_with_their_version(under_rules):
    under_rules('version = "2026-12-07.1"\n[rules.start_training_reminder]\ndelay_seconds = 300\n')
    parts = bootstrap.build()

    with bootstrap.installed(parts):
        shown = APIClient().get("/v1/rules").json()
        health = APIClient().get("/v1/health").json()
    parts.dispatcher.close(timeout=0)

    assert shown["version"] == health["rules_version"] == "2026-12-07.1"
    assert shown["source"].endswith("rules.toml")
    assert shown["rules"]["start_training_reminder"]["delay_seconds"] == 300
    assert shown["rules"]["training_dose_congratulation"]["threshold_seconds"] == 1800


@pytest.mark.memory_only
@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "manage.py", "check"],
        [sys.executable, "-m", "eventsproject.server", "-b", "127.0.0.1:1"],
    ],
    ids=["check", "production command"],
)
def test_a_bad_rules_file_stops_the_commands_with_one_line_per_problem(tmp_path, command):
    path = tmp_path / "rules.toml"
    path.write_text("[rules.start_training_reminder]\ndelay_seconds = -1\nbogus = true\n")
    env = {**os.environ, "EVENTS_RULES_FILE": str(path), "EVENTS_DOTENV": "/nonexistent"}

    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"EVENTS_RULES_FILE: {path}: rules.start_training_reminder.delay_seconds: "
        "Input should be greater than or equal to 0 (got -1)",
        f"EVENTS_RULES_FILE: {path}: rules.start_training_reminder.bogus: "
        "not a key of the rules file",
    ]


def test_reminders_pending_when_their_rule_is_switched_off_are_never_sent(
    settings, parts, delivered, tmp_path
):
    """A reload that switches reminders off finds some pending (on Redis they outlive the
    process): the rule decides nothing more, so they go unsent and unlogged."""
    assert APIClient().post("/v1/event", BRIEF_SAMPLE[0], format="json").status_code == 202
    path = tmp_path / "rules.toml"
    path.write_text("[rules.start_training_reminder]\nenabled = false\n")
    settings.EVENTS_RULES_FILE = str(path)
    parts.processor.thresholds = bootstrap.thresholds_from_settings()  # as a new worker's

    drain_reminders()

    assert delivered() == []
    assert APIClient().get("/v1/users/foo2/decisions").json()["results"] == []
    assert APIClient().get("/v1/users/foo2").json()["pending_reminder"] is None


def test_quiet_hours_in_the_default_zone_skip_the_reminder_and_defer_the_congratulation(
    under_rules,
):
    replayed = under_rules(
        'version = "tokyo-nights"\n[timezone]\ndefault = "Asia/Tokyo"\n'
        "[rules.start_training_reminder]\n"
        'quiet_hours = { from = "22:00", to = "08:00", action = "skip" }\n'
        "[rules.training_dose_congratulation]\n"
        'quiet_hours = { from = "23:00", to = "07:00", action = "defer" }\n'
    )

    [congratulation] = replayed.sent  # foo2's reminder was due at 01:32 in Tokyo: skipped
    assert congratulation.deliver_after == datetime(2021, 2, 28, 22, tzinfo=UTC)  # 07:00 there
    assert congratulation.as_payload()["deliver_after"] == "2021-02-28T22:00:00+00:00"
    [decision] = [d for d in replayed.foo1_decisions if d["outcome"] == "congratulated"]
    assert decision["deliver_after"] == "2021-02-28T22:00:00Z"
    assert decision["figures"]["quiet_hours"]["local_time"] == "2021-03-01T01:59:43+09:00"
    [skipped] = [d for d in replayed.foo2_decisions if d["outcome"] == "quiet_hours"]
    assert skipped["figures"]["quiet_hours"] == {
        "zone": "Asia/Tokyo",
        "local_time": "2021-03-01T01:32:52+09:00",
        "from": "22:00",
        "to": "08:00",
        "action": "skip",
    }
    assert skipped["notification_id"] is None
    assert skipped["rules_version"] == "tokyo-nights"


def test_a_cap_holds_back_a_third_congratulation_in_a_day(under_rules):
    replayed = under_rules(
        "[rules.training_dose_congratulation]\ncap = { max = 2, per_hours = 24 }\n",
        more=[*legacy_session("foo1", "p2", 18), *legacy_session("foo1", "p3", 20)],
    )

    assert kinds(replayed.sent).count(NotificationKind.TRAINING_DOSE_CONGRATULATION) == 2
    [capped] = [d for d in replayed.foo1_decisions if d["outcome"] == "capped"]
    assert capped["figures"]["cap"] == {"count": 2, "max": 2, "per_hours": 24}
    assert capped["events"][-1]["occurred_at"] == "2021-02-28T20:40:00Z"


def legacy_session(user: str, program: str, hour: int) -> list[dict[str, str]]:
    """A 40-minute session of `user` at `hour`, in the brief's format."""
    common = {"user_id": user, "device_id": "bar1", "training_program_id": program}
    return [
        {**common, "type": "training_program_started", "time_stamp": f"2021-02-28 {hour}:00:00"},
        {**common, "type": "training_program_finished", "time_stamp": f"2021-02-28 {hour}:40:00"},
    ]
