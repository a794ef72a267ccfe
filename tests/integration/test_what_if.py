"""`replay_events FILE --what-if OTHER.toml`: a rules change tried on history before it ships."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from eventsproject import bootstrap
from tests.sample import BRIEF_SAMPLE, SAMPLE_PATH

LONGER_DOSE = (
    'version = "longer-dose"\n[rules.training_dose_congratulation]\nthreshold_seconds = 2400\n'
)


@pytest.fixture
def rules_to_try(tmp_path):
    path = tmp_path / "proposed.toml"
    path.write_text(LONGER_DOSE)
    return path


def told(notifications: int, capped: int = 0, quiet_hours: int = 0) -> dict[str, int]:
    return {"notifications": notifications, "capped": capped, "quiet_hours": quiet_hours}


def what_if(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("replay_events", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_longer_dose_would_not_have_congratulated_foo1(rules_to_try, tmp_path):
    diff = tmp_path / "changes.jsonl"

    out, _ = what_if(
        str(SAMPLE_PATH), "--what-if", str(rules_to_try), "--json", "--diff-out", str(diff)
    )

    assert json.loads(out) == {
        "before": {
            "start_training_reminder": told(1),
            "training_dose_congratulation": told(1),
        },
        "after": {
            "start_training_reminder": told(1),
            "training_dose_congratulation": told(0),
        },
        "users_changed": 1,
    }
    assert [json.loads(line) for line in diff.read_text().splitlines()] == [
        {
            "user_id": "foo1",
            "before": [{"kind": "training_dose_congratulation", "minutes": 36}],
            "after": [],
        }
    ]


def test_the_comparison_is_a_table_for_people(rules_to_try):
    out, err = what_if(str(SAMPLE_PATH), "--what-if", str(rules_to_try))

    assert "Rules tried: longer-dose" in out
    lines = out.splitlines()
    table = lines[lines.index(next(line for line in lines if line.startswith("training_dose"))) :]
    assert [line.split() for line in table[:5]] == [
        ["training_dose_congratulation", "before", "after"],
        ["notifications", "1", "0"],
        ["of", "which", "deferred", "0", "0"],
        ["capped", "0", "0"],
        ["quiet_hours", "0", "0"],
    ]
    assert "Users whose notifications change: 1." in out
    assert "Replayed 5 events under the rules longer-dose." in err


def test_the_same_rules_change_nothing_and_touch_neither_store_nor_notify(
    tmp_path, parts, transport
):
    same = tmp_path / "same.toml"
    same.write_text("")

    out, _ = what_if(str(SAMPLE_PATH), "--what-if", str(same), "--json")

    assert json.loads(out)["users_changed"] == 0
    assert bootstrap.components() is parts
    assert parts.queries.recent_events() == []
    assert transport.sent == []


@pytest.mark.parametrize(("no_drain", "reminders"), [((), 1), (("--no-drain",), 0)])
def test_reminders_pending_at_the_end_fire_in_both_runs_unless_told_not_to(
    tmp_path, rules_to_try, no_drain, reminders
):
    launch_only = tmp_path / "launch.jsonl"
    launch_only.write_text(json.dumps(BRIEF_SAMPLE[0]) + "\n")
    assert BRIEF_SAMPLE[0]["type"] == "app_launch"

    out, _ = what_if(str(launch_only), "--what-if", str(rules_to_try), "--json", *no_drain)

    compared = json.loads(out)
    assert compared["before"]["start_training_reminder"]["notifications"] == reminders
    assert compared["after"]["start_training_reminder"]["notifications"] == reminders


def test_standard_input_cannot_be_read_twice(rules_to_try):
    with pytest.raises(CommandError, match="reads the input twice"):
        what_if("-", "--what-if", str(rules_to_try))


def test_rules_that_are_not_right_are_refused_line_by_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[rules.training_dose_congratulation]\nthreshold_seconds = -5\nmood = 1\n")

    with pytest.raises(CommandError) as refused:
        what_if(str(SAMPLE_PATH), "--what-if", str(bad))

    lines = str(refused.value).splitlines()
    assert lines[0] == "The rules to try are not right:"
    assert [line.split(": ")[1] for line in lines[1:]] == [
        "rules.training_dose_congratulation.threshold_seconds",
        "rules.training_dose_congratulation.mood",
    ]


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (("--json",), "go with --what-if"),
        (("--diff-out", "x.jsonl"), "go with --what-if"),
        (("--what-if", "{rules}", "--dry-run"), "leave out --dry-run"),
    ],
)
def test_options_that_mean_nothing_together_are_refused(rules_to_try, options, said):
    arguments = [option.format(rules=rules_to_try) for option in options]

    with pytest.raises(CommandError, match=said):
        what_if(str(SAMPLE_PATH), *arguments)


def test_a_history_of_more_users_than_the_memory_store_holds_is_a_clear_error(
    settings, rules_to_try
):
    settings.EVENTS_MEMORY_MAX_USERS = 1

    with pytest.raises(CommandError, match="EVENTS_MEMORY_MAX_USERS"):
        what_if(str(SAMPLE_PATH), "--what-if", str(rules_to_try))


def test_quiet_hours_over_the_samples_afternoon_hold_back_both_notifications(tmp_path):
    quiet = tmp_path / "quiet.toml"
    quiet.write_text(
        'version = "quiet-afternoon"\n'
        "[rules.start_training_reminder]\n"
        'quiet_hours = { from = "16:00", to = "18:00", action = "skip" }\n'
        "[rules.training_dose_congratulation]\n"
        'quiet_hours = { from = "16:00", to = "18:00", action = "defer" }\n'
    )

    out, _ = what_if(str(SAMPLE_PATH), "--what-if", str(quiet), "--json")

    assert json.loads(out) == {
        "before": {"start_training_reminder": told(1), "training_dose_congratulation": told(1)},
        # the reminder is skipped; the congratulation is deferred, which is no change
        "after": {
            "start_training_reminder": told(0, quiet_hours=1),
            "training_dose_congratulation": told(1),
        },
        "users_changed": 1,
    }


def test_a_cap_counts_what_it_holds_back(tmp_path):
    history = tmp_path / "three-sessions.jsonl"
    history.write_text("".join(json.dumps(event) + "\n" for event in three_sessions("foo3")))
    capped = tmp_path / "capped.toml"
    capped.write_text("[rules.training_dose_congratulation]\ncap = { max = 2, per_hours = 24 }\n")

    out, _ = what_if(str(history), "--what-if", str(capped), "--json")

    compared = json.loads(out)
    assert compared["before"]["training_dose_congratulation"] == told(3)
    assert compared["after"]["training_dose_congratulation"] == told(2, capped=1)
    assert compared["users_changed"] == 1


def three_sessions(user: str) -> list[dict[str, str]]:
    """Three 40-minute sessions of `user` in one afternoon, in the brief's format."""
    events = []
    for hour in (13, 15, 17):
        for kind, minute in (("training_program_started", 0), ("training_program_finished", 40)):
            events.append(
                {
                    "type": kind,
                    "user_id": user,
                    "device_id": "d1",
                    "time_stamp": f"2021-02-28 {hour}:{minute:02d}:00",
                    "training_program_id": f"p{hour}",
                }
            )
    return events


def test_a_notification_deferred_past_now_counts_as_sent_and_changes_no_one(tmp_path):
    now = datetime.now(UTC)
    session = [
        {"type": kind, "user_id": "late-night", "device_id": "d1", "training_program_id": "p1",
         "time_stamp": f"{now - timedelta(minutes=minutes):%Y-%m-%d %H:%M:%S}"}
        for kind, minutes in (("training_program_started", 50), ("training_program_finished", 5))
    ]  # fmt: skip
    history = tmp_path / "tonight.jsonl"
    history.write_text("".join(json.dumps(event) + "\n" for event in session))
    deferring = tmp_path / "defer.toml"
    quiet = {"from": now - timedelta(hours=2), "to": now + timedelta(hours=2)}
    deferring.write_text(
        "[rules.training_dose_congratulation]\nquiet_hours = { "
        + ", ".join(f'{end} = "{moment:%H}:00"' for end, moment in quiet.items())
        + ', action = "defer" }\n'
    )

    out, err = what_if(str(history), "--what-if", str(deferring), "--json")

    compared = json.loads(out)
    assert compared["after"]["training_dose_congratulation"] == told(1)
    assert compared["users_changed"] == 0
    assert "undelivered" not in err
    table, _ = what_if(str(history), "--what-if", str(deferring))
    assert ["of", "which", "deferred", "0", "1"] in [line.split() for line in table.splitlines()]
