"""Settings read the environment with clear errors; `.env.example` lists every variable."""

import gc
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

import eventsproject
from eventsproject import settings
from notifications import client

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("true", True), ("Yes", True), ("0", False), ("off", False)]
)
def test_booleans_are_read_from_words(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)

    assert settings._env_bool("SOME_FLAG", default=not expected) is expected


def test_a_bad_boolean_or_number_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "maybe")
    monkeypatch.setenv("SOME_NUMBER", "ten")

    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG must be true or false"):
        settings._env_bool("SOME_FLAG", default=False)
    with pytest.raises(ImproperlyConfigured, match="SOME_NUMBER must be a number"):
        settings._env_number("SOME_NUMBER", 1)


@pytest.mark.parametrize("raw", ["-1", "1.9", "ten", "", "1e3", "\u0661\u0662", "400000000"])
def test_a_count_that_is_not_a_non_negative_integer_names_the_variable_and_the_value(
    monkeypatch, raw
):
    monkeypatch.setenv("SOME_SECONDS", raw)

    with pytest.raises(ImproperlyConfigured, match=f"SOME_SECONDS .*got {re.escape(repr(raw))}"):
        settings._env_count("SOME_SECONDS", 1, maximum=366 * 24 * 3600)


@pytest.mark.parametrize("raw", ["0", "-1", "nan", "inf", "61"])
def test_a_number_outside_its_range_names_the_variable_and_the_value(monkeypatch, raw):
    monkeypatch.setenv("SOME_PERIOD", raw)

    with pytest.raises(ImproperlyConfigured, match=f"SOME_PERIOD .*from 0.01 to 60.*{raw}"):
        settings._env_number("SOME_PERIOD", 1, 0.01, 60)


def test_a_count_is_read_as_a_whole_number(monkeypatch):
    monkeypatch.setenv("SOME_SECONDS", " 2 ")

    assert settings._env_count("SOME_SECONDS", 600) == 2


@pytest.mark.parametrize(
    "variable",
    [
        "EVENTS_REMINDER_DELAY_SECONDS",
        "EVENTS_TRAINING_DOSE_SECONDS",
        "EVENTS_ALLOWED_LATENESS_SECONDS",
    ],
)
def test_a_bad_time_setting_stops_startup_with_a_message_naming_it(variable):
    env = {**os.environ, variable: "1.5"}

    startup = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert startup.returncode != 0
    assert f"{variable} must be a non-negative integer" in startup.stderr
    assert "'1.5'" in startup.stderr


def test_processes_that_load_the_events_app_collect_garbage_less_often():
    assert gc.get_threshold()[0] == settings.EVENTS_GC_GEN0_THRESHOLD == 10_000


def test_lists_are_comma_separated(monkeypatch):
    monkeypatch.setenv("SOME_LIST", " a, b ,,c ")

    assert settings._env_list("SOME_LIST", []) == ["a", "b", "c"]


def test_env_example_documents_every_variable_the_settings_read():
    source = (ROOT / "eventsproject" / "settings.py").read_text()
    read = set(re.findall(r'(?:_env_\w+|os\.environ\.get)\(\s*"([A-Z_]+)"', source))
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))

    assert read == documented


@pytest.mark.parametrize(
    ("variable", "raw", "message"),
    [
        ("EVENTS_STORE", "postgres", "EVENTS_STORE must be one of memory, redis, got 'postgres'"),
        (
            "REDIS_URL",
            "http://user:hunter2@redis.internal:6379/0",
            "REDIS_URL must be a redis://, rediss:// or unix:// URL, "
            "got 'http://***@redis.internal:6379/0'",
        ),
        (
            "NOTIFY_SIGNING_SECRET",
            "whsec_aHVudGVyMg== hunter2",
            "NOTIFY_SIGNING_SECRET: secret 1 must be whsec_<base64> of at least 16 bytes",
        ),
    ],
)
def test_a_bad_setting_stops_startup_with_a_message_that_keeps_secrets(variable, raw, message):
    startup = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**os.environ, variable: raw},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert startup.returncode != 0
    assert message in startup.stderr
    assert "hunter2" not in startup.stderr
    assert "aHVudGVyMg" not in startup.stderr


def test_one_version_for_the_project_the_schema_and_the_user_agent():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

    assert project == eventsproject.__version__
    assert settings.SPECTACULAR_SETTINGS["VERSION"] == project
    assert f"events-processor/{project}" == client.USER_AGENT


def _check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "raw", "message"),
    [
        ("EVENTS_THROTTLE_RATE", "lots", "EVENTS_THROTTLE_RATE must be a rate like 30/s"),
        ("EVENTS_BATCH_THROTTLE_RATE", "0/s", "EVENTS_BATCH_THROTTLE_RATE must be a rate"),
        ("EVENTS_RECENT_LIMIT", "inf", "EVENTS_RECENT_LIMIT must be a non-negative integer"),
        ("NOTIFY_MAX_ATTEMPTS", "1.9", "NOTIFY_MAX_ATTEMPTS must be an integer from 1"),
        ("NOTIFY_MAX_ATTEMPTS", "0", "NOTIFY_MAX_ATTEMPTS must be an integer from 1"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be one of"),
        ("NOTIFY_URL", "ftp://notify.internal/v1/notify", "NOTIFY_URL must be an http"),
        ("EVENTS_TRUSTED_PROXIES", "10.0.0.0/8, the-proxy", "EVENTS_TRUSTED_PROXIES must be"),
    ],
)
def test_a_bad_value_stops_startup_naming_the_variable_and_the_value(variable, raw, message):
    startup = _check({variable: raw})

    assert startup.returncode != 0
    assert message in startup.stderr
    assert repr(raw) in startup.stderr


def test_a_dot_env_file_is_read_and_the_environment_wins(tmp_path):
    (tmp_path / ".env").write_text("LOG_FORMAT=json\nEVENTS_TIMER_SHARDS=7\n")
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.LOG_FORMAT, settings.EVENTS_TIMER_SHARDS)"
    )
    env = {**os.environ, "EVENTS_DOTENV": str(tmp_path / ".env"), "EVENTS_TIMER_SHARDS": "9"}
    env["DJANGO_SETTINGS_MODULE"] = "eventsproject.settings"

    printed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    assert printed.stdout.split() == ["json", "9"]


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k8#Yq2!vT9zL4@wR7^nB1&cX6*mJ3(pD5)sF0-hG8+eK2=uA9-Zt4%Lw7~Qe",
    "ALLOWED_HOSTS": "events.example.com",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "NOTIFY_SIGNING_SECRET": "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY",
    "EVENTS_API_TOKENS": "an-app-token",
    "EVENTS_ADMIN_TOKENS": "an-operator-token",
}


def test_the_production_settings_pass_the_deployment_checklist_without_a_warning():
    checked = _check(PRODUCTION, "--deploy", "--fail-level", "WARNING")

    assert checked.returncode == 0, checked.stderr
    assert "no issues" in checked.stdout


@pytest.mark.parametrize(
    ("missing", "check_id"),
    [("SECRET_KEY", "security.W009"), ("NOTIFY_SIGNING_SECRET", "events.W001")],
)
def test_the_deployment_checklist_names_what_production_still_lacks(missing, check_id):
    env = {key: value for key, value in PRODUCTION.items() if key != missing}
    env[missing] = ""

    checked = _check(env, "--deploy", "--fail-level", "WARNING")

    assert checked.returncode != 0
    assert check_id in checked.stderr
