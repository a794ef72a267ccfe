"""Settings: one model reads and checks every variable, with one clear line for each bad
one at every entry point; `.env.example` and the README's table follow the model."""

import gc
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import eventsproject
from eventsproject import config, settings
from notifications.adapters import http as client

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def environment(monkeypatch):
    """Set variables for `config.load()`, with no `.env` file in the way."""
    monkeypatch.setenv("EVENTS_DOTENV", "/nonexistent/.env")
    return monkeypatch.setenv


def bad_lines(environment, **values: str) -> list[str]:
    for name, value in values.items():
        environment(name, value)
    with pytest.raises(config.BadSettings) as refused:
        config.load()
    return str(refused.value).splitlines()


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("true", True), ("Yes", True), ("0", False), ("off", False)]
)
def test_booleans_are_read_from_words(environment, raw, expected):
    environment("DEBUG", raw)

    assert config.load().DEBUG is expected


@pytest.mark.parametrize(
    ("variable", "raw", "rule"),
    [
        ("NOTIFY_READ_TIMEOUT", "-1", "must be a number above 0 and at most 300"),
        ("NOTIFY_READ_TIMEOUT", "inf", "must be a number above 0 and at most 300"),
        ("NOTIFY_CONNECT_TIMEOUT", "0", "must be a number above 0 and at most 60"),
        ("NOTIFY_BACKOFF_BASE_SECONDS", "-0.5", "must be a number from 0 to 3600"),
        ("NOTIFY_BACKOFF_MAX_SECONDS", "nan", "must be a number from 0 to 86400"),
        ("NOTIFY_SHUTDOWN_GRACE_SECONDS", "-1", "must be a number from 0 to 40"),
        ("EVENTS_MAX_BODY_BYTES", "0", "must be a whole number from 1024 to 16777216"),
        ("EVENTS_BATCH_MAX_EVENTS", "0", "must be a whole number from 1 to 100000"),
        ("EVENTS_TIMER_SHARDS", "0", "must be a whole number from 1 to 16384"),
        ("EVENTS_SEEN_IDS_LIMIT", "0", "must be a whole number from 1 to 1000000000"),
        ("NOTIFICATIONS_RECENT_LIMIT", "0", "must be a whole number from 1 to 10000000"),
        ("EVENTS_REMINDER_DELAY_SECONDS", "1.5", "must be a whole number from 0 to 31622400"),
        ("WEB_CONCURRENCY", "abc", "must be a whole number from 1 to 256"),
        ("ALLOWED_HOSTS", " , ", "must not be empty"),
        ("DEBUG", "maybe", "must be true or false (or 1/0, yes/no, on/off)"),
        ("EVENTS_STORE", "postgres", "should be 'memory' or 'redis'"),
        (
            "EVENTS_THROTTLE_RATE",
            "lots",
            "must be a rate like 30/s or 1000/minute, or empty for none",
        ),
        (
            "EVENTS_TRUSTED_PROXIES",
            "10.0.0.0/8, the-proxy",
            "must be comma-separated addresses or networks (10.0.0.0/8)",
        ),
        (
            "EVENTS_REDIS_PREFIX",
            "a{b}",
            "must be 1 to 64 characters, none of them blank, ':', '{' or '}'",
        ),
        ("REDIS_URL", "redis://cache:99999/0", "is not a URL that can be parsed"),
        ("NOTIFY_URL", "ftp://notify.internal/v1/notify", "must be a http:// or https:// URL"),
        (
            "EVENTS_WORKERS_HTTP_ADDRESS",
            "127.0.0.1:99999",
            "must be host:port (127.0.0.1:9091, [::1]:9091), or empty for none",
        ),
        (
            "EVENTS_WORKERS_HTTP_ADDRESS",
            "9091",
            "must be host:port (127.0.0.1:9091, [::1]:9091), or empty for none",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable_and_the_rule(environment, variable, raw, rule):
    assert bad_lines(environment, **{variable: raw}) == [f"{variable} {rule}, got {raw!r}"]


def test_every_bad_variable_has_its_own_line(environment):
    lines = bad_lines(environment, NOTIFY_READ_TIMEOUT="-1", EVENTS_TIMER_SHARDS="0", DEBUG="?")

    assert sorted(line.split()[0] for line in lines) == [
        "DEBUG",
        "EVENTS_TIMER_SHARDS",
        "NOTIFY_READ_TIMEOUT",
    ]


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("NOTIFY_URL", "http://user:hunter2@[::1/x"),
        ("REDIS_URL", "redis://user:hunter2@cache:99999/0"),
        ("NOTIFY_SIGNING_SECRET", "whsec_aHVudGVyMg== hunter2"),
    ],
)
def test_a_bad_secret_or_url_is_refused_without_its_secret(environment, variable, raw):
    [line] = bad_lines(environment, **{variable: raw})

    assert line.startswith(variable)
    assert "hunter2" not in line
    assert "aHVudGVyMg" not in line


def test_a_notify_token_with_credentials_in_the_url_is_refused(environment):
    lines = bad_lines(
        environment, NOTIFY_URL="https://user:hunter2@notify.internal/", NOTIFY_AUTH_TOKEN="t"
    )

    assert lines == [
        "NOTIFY_AUTH_TOKEN and credentials in NOTIFY_URL would send two Authorization "
        "headers: use one of them"
    ]


def test_a_lease_shorter_than_three_attempts_is_refused_on_redis_only(environment):
    environment("EVENTS_CLAIM_LEASE_SECONDS", "20")
    environment("NOTIFY_READ_TIMEOUT", "5")
    assert config.load().EVENTS_CLAIM_LEASE_SECONDS == 20  # memory: no lease to outlast

    [line] = bad_lines(environment, EVENTS_STORE="redis")

    assert line.startswith("EVENTS_CLAIM_LEASE_SECONDS must be at least 3 times")


def test_a_reorder_window_shorter_than_the_reminder_delay_is_refused(environment):
    environment("EVENTS_REMINDER_DELAY_SECONDS", "600")
    assert config.load().EVENTS_REORDER_WINDOW_SECONDS == 21600

    [line] = bad_lines(environment, EVENTS_REORDER_WINDOW_SECONDS="599")

    assert line.startswith(
        "EVENTS_REORDER_WINDOW_SECONDS must be at least EVENTS_REMINDER_DELAY_SECONDS"
    )
    environment("EVENTS_REORDER_WINDOW_EVENTS", "0")  # no window: nothing to compare
    assert config.load().EVENTS_REORDER_WINDOW_SECONDS == 599


def test_a_blank_web_concurrency_is_one_worker_as_platforms_mean_it(environment):
    environment("WEB_CONCURRENCY", " ")

    assert config.load().WEB_CONCURRENCY == 1


def test_lists_are_comma_separated_and_an_empty_rate_is_none(environment):
    environment("EVENTS_API_TOKENS", " a, b ,,c ")
    environment("EVENTS_THROTTLE_RATE", "")
    environment("EVENTS_RECENT_LIMIT", " 2 ")

    loaded = config.load()

    assert loaded.EVENTS_API_TOKENS == ["a", "b", "c"]
    assert loaded.EVENTS_THROTTLE_RATE is None
    assert loaded.EVENTS_RECENT_LIMIT == 2


def test_env_example_as_it_is_is_a_valid_dot_env_of_the_defaults(environment, tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text((ROOT / ".env.example").read_text())
    environment("EVENTS_DOTENV", str(dotenv))

    assert config.load() == config.Config(_env_file=None)  # type: ignore[call-arg]


def test_env_example_and_the_readme_table_name_every_variable_of_the_model():
    modelled = set(config.Config.model_fields) | {"EVENTS_DOTENV"}
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))

    assert documented == modelled
    assert {name for names, _ in readme_rows() for name in names} == modelled


def test_the_readme_table_says_what_the_model_allows():
    for variables, allowed in readme_rows():
        derived = [config.allowed(name) for name in variables if name in config.Config.model_fields]
        if derived and all(derived):
            assert allowed == "; ".join(dict.fromkeys(derived)), variables
        else:
            assert allowed, variables


def readme_rows() -> list[tuple[list[str], str]]:
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index("| variable | default | allowed | meaning |") + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("| `"):
            break
        cells = line.split(" | ")
        rows.append((re.findall(r"`([A-Z0-9_]+)`", cells[0]), cells[2]))
    return rows


def test_no_module_but_the_config_reads_the_environment():
    readers = [
        path.relative_to(ROOT).as_posix()
        for package in ("events", "eventsproject", "notifications")
        for path in (ROOT / package).rglob("*.py")
        if re.search(r"os\.environ\.get|os\.environ\[|os\.getenv", path.read_text())
    ]

    assert readers == ["eventsproject/config.py"]


ENTRY_POINTS = {
    "manage.py": [sys.executable, "manage.py", "check"],
    "runserver": [sys.executable, "manage.py", "runserver", "--noreload", "127.0.0.1:0"],
    "the production command": [sys.executable, "-m", "eventsproject.server", "-b", "127.0.0.1:0"],
    "a WSGI server": [sys.executable, "-c", "import eventsproject.wsgi"],
}


CONCURRENCY_REFUSED = "must be a whole number from 1 to 256, got 'abc'"
SECRET_REFUSED = "secret 1 must be whsec_<base64> of at least 16 bytes, the value is not shown"


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
@pytest.mark.parametrize(
    ("variable", "raw", "line"),
    [
        (
            "WEB_CONCURRENCY",
            "abc",
            "WEB_CONCURRENCY must be a whole number from 1 to 256, got 'abc'",
        ),
        ("NOTIFY_SIGNING_SECRET", "whsec_aHVudGVyMg==", f"NOTIFY_SIGNING_SECRET {SECRET_REFUSED}"),
    ],
)
def test_a_bad_setting_stops_every_entry_point_with_its_line_and_no_traceback(
    entry_point, variable, raw, line
):
    env = {**os.environ, variable: raw, "EVENTS_DOTENV": "/nonexistent/.env"}

    started = subprocess.run(
        ENTRY_POINTS[entry_point],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert started.returncode != 0
    assert started.stderr.strip().splitlines() == [line]
    assert "aHVudGVyMg" not in started.stderr + started.stdout


def test_processes_that_load_the_events_app_collect_garbage_less_often():
    assert gc.get_threshold()[0] == settings.EVENTS_GC_GEN0_THRESHOLD == 10_000


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
    "EVENTS_API_TOKENS": "an-app-token-long-enough-to-guess-no",
    "EVENTS_ADMIN_TOKENS": "an-operator-token-of-its-own",
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
