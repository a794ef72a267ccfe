"""The runtime lock file (requirements.txt, all that `make serve` installs) holds what the
production command needs, not only what the development lock happens to add."""

import re
from importlib.metadata import requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

RUNTIME_LOCK = Path(__file__).resolve().parents[2] / "requirements.txt"


def pinned() -> set[str]:
    names = re.findall(r"^([A-Za-z0-9._-]+)==", RUNTIME_LOCK.read_text(), flags=re.MULTILINE)
    return {canonicalize_name(name) for name in names}


def test_the_runtime_lock_pins_what_gunicorn_s_gevent_worker_needs():
    gevent_extra = [
        Requirement(text) for text in requires("gunicorn") or [] if 'extra == "gevent"' in text
    ]

    assert gevent_extra
    assert {canonicalize_name(each.name) for each in gevent_extra} <= pinned()
