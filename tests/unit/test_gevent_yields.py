"""Under the production worker (gevent, threads patched into greenlets), the request path
gives up the worker only to wait for the network: a yield while holding a lock makes every
other request that needs the lock queue behind a whole round of the event loop."""

import subprocess
import sys
from pathlib import Path

APPEND_UNDER_GEVENT = """
from gevent import monkey

monkey.patch_all()

import greenlet

from notifications.adapters.memory import InMemoryOutboxStore
from tests.factories import reminder_for

store = InMemoryOutboxStore()
switches = []
greenlet.settrace(lambda event, args: switches.append(event))
for user in range(50):
    store.append([reminder_for(f"user-{user}")])
greenlet.settrace(None)
print(len(switches))
"""


def test_appending_to_the_memory_outbox_never_yields_the_worker():
    ran = subprocess.run(
        [sys.executable, "-c", APPEND_UNDER_GEVENT],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )

    assert ran.stdout.split() == ["0"], ran.stderr
