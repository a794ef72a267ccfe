"""The CI's install check: what pip installed is exactly what the lock files pin."""

import runpy
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]
check_install = SimpleNamespace(**runpy.run_path(str(ROOT / ".ci" / "check_install.py")))

LOCK = """\
#
# a comment
coverage==7.17.5 \\
    --hash=sha256:aaa
    # via pytest-cov
django==5.2.19 \\
    --hash=sha256:bbb
typing-extensions==4.15.0 \\
    --hash=sha256:ccc
"""


def test_an_install_equal_to_the_lock_has_no_drift():
    freeze = "coverage==7.17.5\nDjango==5.2.19\ntyping_extensions==4.15.0\n"

    assert check_install.drift(LOCK, freeze) == []


def test_a_newer_release_than_the_locked_one_is_drift():
    freeze = "coverage==7.18.0\nDjango==5.2.19\ntyping_extensions==4.15.0\n"

    assert check_install.drift(LOCK, freeze) == ["coverage: locked 7.17.5, installed 7.18.0"]


def test_a_package_the_lock_does_not_name_or_one_missing_is_drift():
    freeze = "coverage==7.17.5\nDjango==5.2.19\nsix==1.16.0\n"

    assert check_install.drift(LOCK, freeze) == [
        "six: installed 1.16.0, not in the lock",
        "typing-extensions: locked 4.15.0, not installed",
    ]


def test_the_packaging_tools_venv_brings_count_only_when_locked():
    freeze = "coverage==7.17.5\nDjango==5.2.19\ntyping_extensions==4.15.0\nsetuptools==65.5.0\n"

    assert check_install.drift(LOCK, freeze) == []
    assert check_install.drift(LOCK + "pip==26.3 \\\n", freeze + "pip==23.2.1\n") == [
        "pip: locked 26.3, installed 23.2.1"
    ]


def test_the_project_s_locks_agree_with_each_other_on_every_shared_pin():
    runtime = check_install.pins((ROOT / "requirements.txt").read_text())
    dev = check_install.pins((ROOT / "requirements-dev.txt").read_text())
    bootstrap = check_install.pins((ROOT / "requirements-pip.txt").read_text())

    assert set(bootstrap) == {"pip"}
    assert {name: dev.get(name) for name in runtime} == runtime
