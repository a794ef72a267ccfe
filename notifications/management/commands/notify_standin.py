"""Run a local stand-in for /v1/notify that prints every notification it receives."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notifications.standin import Answer, NotifyStandIn, Received


class Command(BaseCommand):
    help = "Serve a stand-in for the notify service on loopback and print what it receives."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument(
            "--delay", type=float, default=0.0, help="seconds to wait before each answer"
        )
        parser.add_argument("--quiet", action="store_true", help="print nothing per notification")

    def handle(self, *args: Any, **options: Any) -> None:
        on_receive = None if options["quiet"] else self._print
        standin = NotifyStandIn(port=options["port"], on_receive=on_receive)
        standin.answer = Answer(delay_seconds=options["delay"])
        self.stdout.write(f"Notify stand-in listening on {standin.url} (Ctrl-C stops it)")
        try:
            standin.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            standin.stop()

    def _print(self, received: Received) -> None:
        self.stdout.write(self.style.SUCCESS("notify <- " + json.dumps(received.payload)))
