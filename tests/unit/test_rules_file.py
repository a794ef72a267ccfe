"""The rules file (EVENTS_RULES_FILE): read over the built-in rules, refused line by line."""

import hashlib
from datetime import time, timedelta

import pytest

from events.domain.ruleset import BUILT_IN, Cap, QuietAction, QuietHours, RuleSet
from events.wire.rules_file import RulesFileError, read
from eventsproject import bootstrap
from eventsproject.config import BadSettings


@pytest.fixture
def rules_at(tmp_path):
    def write(text: str):
        path = tmp_path / "rules.toml"
        path.write_text(text)
        return path

    return write


def test_without_a_file_the_rules_are_the_built_in_ones_with_the_settings_figures(settings):
    settings.EVENTS_RULES_FILE = ""
    settings.EVENTS_TRAINING_DOSE_SECONDS = 2400

    rules = bootstrap.rules_from_settings()

    assert (rules.version, rules.source) == (BUILT_IN, BUILT_IN)
    assert rules.training_dose_congratulation.threshold == timedelta(minutes=40)
    assert rules.start_training_reminder == RuleSet().start_training_reminder


def test_a_file_overrides_only_what_it_sets(rules_at):
    path = rules_at(
        'version = "2026-12-07.1"\n'
        "[rules.start_training_reminder]\nenabled = false\n"
        '[rules.training_dose_congratulation]\nthreshold_seconds = 2700\nmessage = "{minutes}!"\n'
    )

    rules = read(path, RuleSet())

    assert (rules.version, rules.source) == ("2026-12-07.1", str(path))
    assert rules.start_training_reminder.enabled is False
    assert rules.start_training_reminder.delay == timedelta(minutes=10)
    assert rules.training_dose_congratulation.threshold == timedelta(minutes=45)
    assert rules.training_dose_congratulation.message == "{minutes}!"


def test_a_file_without_a_version_is_named_by_its_content(rules_at):
    text = "[rules.start_training_reminder]\ndelay_seconds = 300\n"

    rules = read(rules_at(text), RuleSet())

    assert rules.version == "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:12]


def test_each_problem_is_one_line_naming_its_key(rules_at):
    path = rules_at(
        "[rules.start_training_reminder]\ndelay_seconds = -1\nenabled = 1\n"
        '[rules.training_dose_congratulation]\nmessage = "{hours}"\nthreshhold_seconds = 60\n'
        "[quiet]\n"
    )

    with pytest.raises(RulesFileError) as refused:
        read(path, RuleSet())

    lines = str(refused.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "rules.start_training_reminder.enabled",
        "rules.start_training_reminder.delay_seconds",
        "rules.training_dose_congratulation.message",
        "rules.training_dose_congratulation.threshhold_seconds",
        "quiet",
    ]
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert "not a key of the rules file" in lines[-1]


@pytest.mark.parametrize(
    ("text", "said"),
    [("version = \n", "not a TOML file"), (None, "cannot be read")],
)
def test_a_file_that_cannot_be_read_as_toml_is_one_line(rules_at, tmp_path, text, said):
    path = rules_at(text) if text is not None else tmp_path / "missing.toml"

    with pytest.raises(RulesFileError, match=said):
        read(path, RuleSet())


def test_a_bad_file_stops_the_service_with_lines_naming_the_setting(settings, rules_at):
    settings.EVENTS_RULES_FILE = str(rules_at("[rules.start_training_reminder]\nbogus = 1\n"))

    with pytest.raises(BadSettings) as refused:
        bootstrap.build()

    assert str(refused.value).startswith("EVENTS_RULES_FILE: ")
    assert "bogus: not a key" in str(refused.value)


def test_a_reminder_delay_past_the_reorder_window_is_refused(settings, rules_at):
    settings.EVENTS_REORDER_WINDOW_SECONDS = 600
    settings.EVENTS_RULES_FILE = str(
        rules_at("[rules.start_training_reminder]\ndelay_seconds = 900\n")
    )

    with pytest.raises(BadSettings, match="at most EVENTS_REORDER_WINDOW_SECONDS"):
        bootstrap.rules_from_settings()


@pytest.mark.parametrize(
    "message", ["{minutes.days}", "{minutes[0]}", "{hours}", "{0}", "left {", "{minutes:q}"]
)
def test_a_message_may_name_the_minutes_only(rules_at, message):
    path = rules_at(f"[rules.training_dose_congratulation]\nmessage = {message!r}\n")

    with pytest.raises(RulesFileError, match=r"may hold \{minutes\} and no other"):
        read(path, RuleSet())


def test_the_minutes_may_be_formatted(rules_at):
    path = rules_at("[rules.training_dose_congratulation]\nmessage = '{minutes:>3} min, {{ok}}'\n")

    assert read(path, RuleSet()).training_dose_congratulation.message == "{minutes:>3} min, {{ok}}"


ISSUE_EXAMPLE = """
version = "2026-12-07.1"

[timezone]
default = "Europe/Paris"

[rules.start_training_reminder]
cap = { max = 1, per_hours = 24 }
quiet_hours = { from = "22:00", to = "08:00", action = "skip" }

[rules.training_dose_congratulation]
cap = { max = 2, per_hours = 24 }
quiet_hours = { from = "23:00", to = "07:00", action = "defer" }
"""


def test_caps_quiet_hours_and_the_default_zone_are_read(rules_at):
    rules = read(rules_at(ISSUE_EXAMPLE), RuleSet())

    assert rules.default_zone == "Europe/Paris"
    reminder = rules.start_training_reminder.controls
    assert reminder.cap == Cap(1, timedelta(hours=24))
    assert reminder.quiet_hours == QuietHours(time(22), time(8), QuietAction.SKIP)
    congratulation = rules.training_dose_congratulation.controls
    assert congratulation.cap == Cap(2, timedelta(hours=24))
    assert congratulation.quiet_hours == QuietHours(time(23), time(7), QuietAction.DEFER)
    shown = rules.as_data()
    assert shown["timezone"] == {"default": "Europe/Paris"}
    assert shown["rules"]["training_dose_congratulation"]["cap"] == {"max": 2, "per_hours": 24}
    assert shown["rules"]["start_training_reminder"]["quiet_hours"] == {
        "from": "22:00",
        "to": "08:00",
        "action": "skip",
    }


def test_without_them_no_rule_is_controlled_and_the_default_zone_is_utc(rules_at):
    rules = read(rules_at('version = "1"\n'), RuleSet())

    assert not rules.start_training_reminder.controls
    assert not rules.training_dose_congratulation.controls
    assert rules.default_zone == "UTC"
    assert "cap" not in rules.as_data()["rules"]["start_training_reminder"]


def test_a_quiet_hours_action_defaults_to_skip(rules_at):
    path = rules_at('[rules.start_training_reminder]\nquiet_hours = {from = "1:00", to = "5:00"}\n')
    with pytest.raises(RulesFileError, match=r"quiet_hours\.from"):
        read(path, RuleSet())  # "1:00" is not HH:MM
    path = rules_at(
        '[rules.start_training_reminder]\nquiet_hours = {from = "01:00", to = "05:00"}\n'
    )
    quiet = read(path, RuleSet()).start_training_reminder.controls.quiet_hours
    assert quiet is not None
    assert quiet.action is QuietAction.SKIP


@pytest.mark.parametrize(
    ("line", "key", "said"),
    [
        ('[timezone]\ndefault = "Mars/Olympus"', "timezone.default", "IANA"),
        ('[timezone]\ndefault = "../../etc/passwd"', "timezone.default", "IANA"),
        ("[timezone]\ndefault = 1", "timezone.default", "valid string"),
        ("[timezone]\nzone = 'UTC'", "timezone.zone", "not a key"),
        ('[RULE]\nquiet_hours = {from = "22:00", to = "22:00"}', "quiet_hours", "same time"),
        ('[RULE]\nquiet_hours = {from = "24:00", to = "06:00"}', "quiet_hours.from", "pattern"),
        (
            '[RULE]\nquiet_hours = {from = "22:00", to = "06:00", action = "mute"}',
            "action",
            "'skip'",
        ),
        ('[RULE]\nquiet_hours = {from = "22:00"}', "quiet_hours.to", "required"),
        ("[RULE]\ncap = { max = 0, per_hours = 24 }", "cap.max", "greater than or equal to 1"),
        ("[RULE]\ncap = { max = 1, per_hours = 0 }", "cap.per_hours", "greater than or equal"),
        ("[RULE]\ncap = { max = 1 }", "cap.per_hours", "required"),
        ("[RULE]\ncap = { max = 1, per_hours = 24, per_days = 1 }", "cap.per_days", "not a key"),
        ("[RULE]\ncap = { max = 1.5, per_hours = 24 }", "cap.max", "valid integer"),
    ],
)
def test_a_bad_control_is_one_line_naming_its_key(rules_at, line, key, said):
    path = rules_at(line.replace("[RULE]", "[rules.training_dose_congratulation]"))

    with pytest.raises(RulesFileError) as refused:
        read(path, RuleSet())

    [problem] = str(refused.value).splitlines()
    assert key in problem.split(": ")[1]
    assert said in problem


def test_a_cap_looking_back_further_than_a_users_state_is_kept_is_refused(settings, rules_at):
    settings.EVENTS_USER_STATE_TTL_HOURS = 48
    settings.EVENTS_RULES_FILE = str(
        rules_at("[rules.start_training_reminder]\ncap = { max = 1, per_hours = 72 }\n")
    )

    with pytest.raises(BadSettings, match=r"cap.per_hours: must be at most EVENTS_USER_STATE_TTL"):
        bootstrap.rules_from_settings()


def test_the_thresholds_carry_the_controls_and_the_default_zone(settings, rules_at):
    settings.EVENTS_RULES_FILE = str(rules_at(ISSUE_EXAMPLE))

    thresholds = bootstrap.thresholds_from_settings()

    assert thresholds.default_zone == "Europe/Paris"
    assert thresholds.reminder_controls.cap == Cap(1, timedelta(hours=24))
    assert thresholds.congratulation_controls.quiet_hours is not None
