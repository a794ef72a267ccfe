"""Settings read the environment with clear errors; `.env.example` lists every variable."""

import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from eventsproject import settings

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


def test_lists_are_comma_separated(monkeypatch):
    monkeypatch.setenv("SOME_LIST", " a, b ,,c ")

    assert settings._env_list("SOME_LIST", []) == ["a", "b", "c"]


def test_env_example_documents_every_variable_the_settings_read():
    source = (ROOT / "eventsproject" / "settings.py").read_text()
    read = set(re.findall(r'(?:_env_\w+|os\.environ\.get)\("([A-Z_]+)"', source))
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))

    assert read == documented
