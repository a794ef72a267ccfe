"""A transport that prints notifications instead of sending them (dry runs)."""

import json
from typing import TextIO

from notifications.domain import Notification


class ConsoleTransport:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def send(self, notification: Notification) -> None:
        self._stream.write(json.dumps(notification.as_payload(), sort_keys=True) + "\n")
