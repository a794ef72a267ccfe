"""What runs around every request: nothing for a database the service does not have.

Checked in a process of its own: Django's test client connects the hooks again around
each of its requests."""

import subprocess
import sys

CHECK = """
import django
django.setup()
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections, reset_queries
print(sorted({connections[alias].settings_dict["ENGINE"] for alias in connections}))
print(request_started.disconnect(reset_queries), request_started.disconnect(close_old_connections),
      request_finished.disconnect(close_old_connections))
"""


def test_no_database_hook_runs_around_requests():
    checked = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=True
    )

    assert checked.stdout.splitlines() == ["['django.db.backends.dummy']", "False False False"]
