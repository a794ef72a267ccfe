"""Fails when the virtual environment holds anything other than what the lock files pin.

Usage: python .ci/check_install.py LOCK [LOCK ...]   (run with the venv's python)

`pip check` proves the installed set is consistent; this proves it is the locked one:
a new release on the index, an unpinned extra or a package installed by hand is drift.
"""

import re
import subprocess
import sys
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)
# What `python -m venv` installs by itself; drift only when a lock pins it.
VENV_TOOLS = frozenset({"pip", "setuptools", "wheel"})


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    return {canonical(name): version for name, version in PIN.findall(text)}


def drift(lock_text: str, freeze_text: str) -> list[str]:
    locked = pins(lock_text)
    installed = {
        name: version
        for name, version in pins(freeze_text).items()
        if name in locked or name not in VENV_TOOLS
    }
    problems = [
        f"{name}: locked {locked[name]}, installed {installed[name]}"
        for name in sorted(locked.keys() & installed.keys())
        if locked[name] != installed[name]
    ]
    problems += [
        f"{name}: installed {installed[name]}, not in the lock"
        for name in sorted(installed.keys() - locked.keys())
    ]
    problems += [
        f"{name}: locked {locked[name]}, not installed"
        for name in sorted(locked.keys() - installed.keys())
    ]
    return problems


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    return subprocess.run(command, check=False, capture_output=True, text=True)


def main(lock_files: list[str]) -> int:
    consistent = pip("check")
    if consistent.returncode:
        print(f"pip check failed:\n{consistent.stdout}{consistent.stderr}", file=sys.stderr)
        return 1
    lock_text = "\n".join(Path(name).read_text() for name in lock_files)
    problems = drift(lock_text, pip("freeze", "--all").stdout)
    for problem in problems:
        print(f"install drift: {problem}", file=sys.stderr)
    if not problems:
        print(f"installed packages match {', '.join(lock_files)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
