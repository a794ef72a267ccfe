"""Prometheus' own checker for the files under deploy/prometheus (Debian's `prometheus`
package ships it). A test that needs it skips with one line when it is missing, except
under `CI=true`, where it fails: CI must not pass without having run it (.ci/run
installs it)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def require_promtool() -> str:
    found = shutil.which("promtool")
    if found is not None:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("promtool is not installed, and CI needs it (.ci/run installs `prometheus`)")
    pytest.skip("promtool is not installed (apt-get install prometheus): deploy/ is not checked")


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run promtool; fails the test with its output when it does not exit 0."""
    command = [require_promtool(), *map(str, args)]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"promtool {' '.join(map(str, args))}:\n{done.stdout}{done.stderr}"
    return done
