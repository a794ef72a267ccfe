"""The IANA zones are known where the system has no tz database (slim images): tzdata."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_zones_are_known_without_the_systems_tz_database(tmp_path):
    check = (
        "from zoneinfo import ZoneInfo; from events.wire.zones import known_zones; "
        "assert {'Europe/Paris', 'UTC', 'Asia/Kolkata'} <= known_zones(); "
        "print(ZoneInfo('Europe/Paris').utcoffset(__import__('datetime').datetime(2026, 7, 1)))"
    )
    env = {**os.environ, "PYTHONTZPATH": str(tmp_path / "none")}

    done = subprocess.run(
        [sys.executable, "-c", check],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2:00:00"
