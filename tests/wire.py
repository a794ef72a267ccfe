"""Events as the app sends them over the wire, and posting them to the API under test."""

import json
import socket
import uuid
from typing import Any


def post(client, path: str, body: Any, **extra):
    return client.post(path, json.dumps(body), content_type="application/json", **extra)


def v2_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "schema_version": 2,
        "event_id": str(uuid.uuid4()),
        "type": "training_program_started",
        "occurred_at": "2021-02-28T16:23:25Z",
        "user_id": "foo1",
        "device_id": "bar1",
        "training_program": {"id": "2352", "title": "7 Minutes of HIIT Training"},
    }
    event.update(overrides)
    return event


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
