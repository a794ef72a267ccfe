"""A transport that prints notifications instead of sending them (dry runs)."""

import json
from typing import Protocol

from notifications.domain.notification import Notification


class Writable(Protocol):
    def write(self, text: str, /) -> object: ...


class ConsoleTransport:
    def __init__(self, stream: Writable) -> None:
        self._stream = stream

    def send(self, notification: Notification) -> None:
        self._stream.write(json.dumps(notification.as_payload(), sort_keys=True) + "\n")
