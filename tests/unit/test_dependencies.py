"""The lock files pin every dependency with hashes, and agree with what the project asks for."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)", re.M)


def pins(text: str) -> dict[str, str]:
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in PIN.findall(text)}


def locked(name: str) -> tuple[dict[str, str], list[str]]:
    lines = (ROOT / name).read_text().splitlines()
    text = "\n".join(line for line in lines if not line.startswith("#"))
    return pins(text), re.split(r"\n(?=[A-Za-z0-9])", text.strip())


@pytest.mark.parametrize(
    ("wanted", "lock"),
    [("requirements.in", "requirements.txt"), ("requirements-dev.in", "requirements-dev.txt")],
)
def test_every_wanted_pin_is_locked_at_its_version_with_hashes(wanted, lock):
    asked = pins((ROOT / wanted).read_text())
    versions, entries = locked(lock)

    assert {name: versions.get(name) for name in asked} == asked
    assert all("--hash=sha256:" in entry for entry in entries if PIN.match(entry))
    assert len(versions) > len(asked)  # the transitive ones are pinned too


def test_the_dev_lock_installs_the_same_runtime_as_the_runtime_lock():
    runtime, _ = locked("requirements.txt")
    dev, _ = locked("requirements-dev.txt")

    assert {name: dev.get(name) for name in runtime} == runtime
