"""`manage.py replay_events`: the same path as the API, from a file or standard input."""

import io
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from events.management.commands.replay_events import Progress
from events.service.ingestion import ingest
from eventsproject import bootstrap
from eventsproject.bootstrap import components
from notifications.domain.notification import NotificationKind
from notifications.ports import NotificationError
from tests.factories import reminder_for
from tests.sample import BRIEF_SAMPLE
from tests.wire import v2_event

pytestmark = pytest.mark.both_stores


def replay(*args, stdin=None):
    out, err = io.StringIO(), io.StringIO()
    call_command("replay_events", *args, stdout=out, stderr=err, stdin=stdin)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def sample_array(tmp_path):
    path = tmp_path / "sample.json"
    path.write_text(json.dumps(BRIEF_SAMPLE, indent=2))
    return path


@pytest.fixture
def sample_lines(tmp_path):
    path = tmp_path / "sample.jsonl"
    path.write_text("\n".join(json.dumps(event) for event in BRIEF_SAMPLE) + "\n")
    return path


@pytest.mark.parametrize("source", ["sample_array", "sample_lines"])
def test_the_brief_sample_sends_exactly_two_notifications(source, request, transport):
    out, err = replay(str(request.getfixturevalue(source)))

    assert sorted((n.kind, n.user_id, n.minutes) for n in transport.sent) == [
        (NotificationKind.START_TRAINING_REMINDER, "foo2", None),
        (NotificationKind.TRAINING_DOSE_CONGRATULATION, "foo1", 36),
    ]
    assert (
        "Events: 5 read, 5 processed (0 of unknown types ignored), 0 duplicates skipped, "
        "0 rejected." in out
    )
    assert "Notifications: 2 sent, 0 failed" in out
    assert out.rstrip().endswith("Processed 5 out of 5 events.")
    assert err == ""


def test_a_second_replay_in_the_same_process_delivers_too(tmp_path, transport):
    """The first replay closes the process's dispatcher when it is done; the second starts
    it again rather than waiting for deliveries that nothing makes (it used to hang)."""
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text(json.dumps(BRIEF_SAMPLE[0]))
    second.write_text(json.dumps({**BRIEF_SAMPLE[0], "user_id": "another"}))
    replay(str(first))
    done: list[str] = []

    replaying = threading.Thread(target=lambda: done.append(replay(str(second))[0]), daemon=True)
    replaying.start()
    replaying.join(timeout=30)

    assert done, "the second replay never finished"
    assert "Notifications: 1 sent, 0 failed" in done[0]
    assert [n.user_id for n in transport.sent] == ["foo2", "another"]


def test_reads_standard_input_with_a_dash(sample_lines, transport):
    out, _ = replay("-", stdin=io.StringIO(sample_lines.read_text()))

    assert len(transport.sent) == 2
    assert "Processed 5 out of 5 events." in out


def test_pending_reminders_fire_at_the_end_of_the_input(tmp_path, transport):
    path = tmp_path / "launch.jsonl"
    path.write_text(json.dumps(BRIEF_SAMPLE[0]))

    out, _ = replay(str(path))

    assert [n.kind for n in transport.sent] == [NotificationKind.START_TRAINING_REMINDER]
    assert "reminders fired at the end of the input: 1." in out


def test_no_drain_leaves_pending_reminders_unsent(tmp_path, transport):
    path = tmp_path / "launch.jsonl"
    path.write_text(json.dumps(BRIEF_SAMPLE[0]))

    replay(str(path), "--no-drain")

    assert transport.sent == []


def test_dry_run_prints_the_notifications_instead_of_sending_them(sample_array, transport):
    out, _ = replay(str(sample_array), "--dry-run")

    printed = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [(p["kind"], p["user_id"]) for p in printed] == [
        ("start_training_reminder", "foo2"),
        ("training_dose_congratulation", "foo1"),
    ]
    assert printed[1]["minutes"] == 36
    assert transport.sent == []
    assert "Notifications: 2 printed" in out


def test_invalid_events_are_reported_with_position_and_reason_and_do_not_stop_it(tmp_path):
    lines = [
        json.dumps(BRIEF_SAMPLE[0]),
        "{not json",
        json.dumps({"type": "app_launch", "user_id": "u"}),
        json.dumps({**BRIEF_SAMPLE[0], "type": "profile_viewed"}),
        json.dumps(BRIEF_SAMPLE[1]),
        "[" * 5000 + "]" * 5000,
        json.dumps(BRIEF_SAMPLE[1]),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines))

    out, err = replay(str(path), "--no-drain")

    assert "event 2 rejected" in err
    assert "Not JSON" in err
    assert "event 3 rejected" in err
    assert "device_id" in err
    assert "event 6 rejected" in err
    assert (
        "Events: 7 read, 3 processed (1 of unknown types ignored), 1 duplicates skipped, "
        "3 rejected." in out
    )
    assert "Processed 3 out of 7 events." in out


def test_an_input_whose_every_event_is_rejected_fails_after_the_summary(tmp_path):
    path = tmp_path / "wrong.jsonl"
    path.write_text('{"type": "app_launch"}\n{not json\n')
    out = io.StringIO()

    with pytest.raises(CommandError, match="All 2 events were rejected"):
        call_command("replay_events", str(path), stdout=out, stderr=io.StringIO())

    assert "Events: 2 read, 0 processed" in out.getvalue()


def test_an_input_replayed_again_is_all_duplicates_and_succeeds(sample_array, transport):
    replay(str(sample_array))

    out, _ = replay(str(sample_array))

    assert "duplicates skipped, 0 rejected." in out


def test_an_input_of_conflicts_only_is_reported_but_succeeds(tmp_path, transport):
    started = [v2_event(user_id=f"u{n}") for n in range(2)]
    first, edited = tmp_path / "first.json", tmp_path / "edited.json"
    first.write_text(json.dumps(started))
    edited.write_text(json.dumps([{**event, "device_id": "another"} for event in started]))
    replay(str(first), "--no-drain")

    out, err = replay(str(edited), "--no-drain")

    assert "event 1 conflict" in err
    assert "Events: 2 read, 0 processed" in out
    assert "2 rejected." in out


def test_a_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        replay(str(tmp_path / "nope.json"))


@pytest.mark.parametrize("text", ["[{", "[1] [2]"])
def test_a_broken_json_array_is_a_command_error(tmp_path, text):
    path = tmp_path / "broken.json"
    path.write_text(text)

    with pytest.raises(CommandError, match="not a valid JSON array"):
        replay(str(path))


def test_undelivered_notifications_make_the_command_fail_after_the_summary(sample_array, transport):
    transport.error = NotificationError("answered 400", retryable=False)
    out = io.StringIO()

    with pytest.raises(CommandError, match="2 notifications could not be delivered"):
        call_command("replay_events", str(sample_array), stdout=out, stderr=io.StringIO())

    assert "Notifications: 0 sent, 2 failed" in out.getvalue()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_it_shows_progress(sample_lines, monkeypatch):
    monkeypatch.setattr(Progress, "interval", 0)
    terminal = Terminal()

    call_command("replay_events", str(sample_lines), stdout=terminal, stderr=io.StringIO())

    assert "\r5 events, " in terminal.getvalue()
    assert "events/s" in terminal.getvalue()


def test_off_a_terminal_it_shows_no_progress(sample_lines, monkeypatch):
    monkeypatch.setattr(Progress, "interval", 0)

    out, _ = replay(str(sample_lines))

    assert "events/s" not in out


def test_the_summary_counts_only_what_this_replay_caused(sample_array, parts, transport):
    """A shared store holds other processes' notifications too, failed ones among them."""
    real_send = transport.send

    def refuse_someone_else(notification):
        if notification.user_id == "someone-else":
            raise NotificationError("answered 400", retryable=False)
        real_send(notification)

    transport.send = refuse_someone_else
    parts.outbox.append([reminder_for("someone-else")])
    assert parts.dispatcher.flush(timeout=5)

    out, _ = replay(str(sample_array))

    assert "Notifications: 2 sent, 0 failed" in out
    assert parts.outbox.counts()["failed"] == 1


def test_the_end_of_the_input_fires_only_the_replayed_users_reminders(tmp_path, transport):
    """On a shared store, a user of the running service keeps their reminder's own time."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert (
        ingest(
            components().processor, {**BRIEF_SAMPLE[0], "user_id": "live-user", "time_stamp": now}
        ).status
        == "accepted"
    )
    path = tmp_path / "launch.jsonl"
    path.write_text(json.dumps(BRIEF_SAMPLE[0]))

    out, _ = replay(str(path))

    assert [n.user_id for n in transport.sent] == [BRIEF_SAMPLE[0]["user_id"]]
    assert components().repository.user_state("live-user").pending_reminder is not None
    assert "reminders fired at the end of the input: 1." in out


@pytest.fixture
def launch_tonight(tmp_path):
    """A launch 15 minutes ago, in a file, and rules whose quiet hours (from an hour ago to
    two hours from now, UTC) defer its reminder past now."""
    now = datetime.now(UTC)
    rules = tmp_path / "rules.toml"
    rules.write_text(
        "[rules.start_training_reminder]\nquiet_hours = { "
        f'from = "{now - timedelta(hours=1):%H}:00", to = "{now + timedelta(hours=2):%H}:00", '
        'action = "defer" }\n'
    )
    launch = {
        "schema_version": 2,
        "event_id": str(uuid.uuid4()),
        "type": "app_launched",
        "occurred_at": (now - timedelta(minutes=15)).isoformat(),
        "user_id": "night-owl",
        "device_id": "phone",
    }
    path = tmp_path / "tonight.jsonl"
    path.write_text(json.dumps(launch) + "\n")
    return path, rules


def test_a_notification_deferred_past_now_is_counted_not_waited_for(launch_tonight, transport):
    path, rules = launch_tonight
    deferring = bootstrap.build(transport=transport, rules=bootstrap.proposed_rules(rules))

    with bootstrap.installed(deferring):
        deferring.dispatcher.start()
        try:
            out, _ = replay(str(path))
        finally:
            deferring.dispatcher.close(timeout=0)

    assert transport.sent == []
    assert "Notifications: 0 sent, 0 failed; reminders fired at the end of the input: 1." in out
    assert "Deferred past now by the users' quiet hours: 1 notification(s)" in out


def test_a_dry_run_prints_a_notification_deferred_past_now_with_its_delivery_time(
    launch_tonight, settings
):
    path, rules = launch_tonight
    settings.EVENTS_RULES_FILE = str(rules)

    out, err = replay(str(path), "--dry-run")

    assert '"deliver_after"' in out
    assert "Notifications: 1 printed, 0 failed" in out
    assert "undelivered" not in err
