"""Run a local stand-in for /v1/notify that prints every notification it receives.

With NOTIFY_SIGNING_SECRET set (as `make run` sets it for both sides), it verifies
every call's signature and refuses the ones without a valid one.
"""

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from notifications.management.standin import Answer, NotifyStandIn, Received


class Command(BaseCommand):
    help = "Serve a stand-in for the notify service on loopback and print what it receives."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument(
            "--delay", type=float, default=0.0, help="seconds to wait before each answer"
        )
        parser.add_argument("--quiet", action="store_true", help="print nothing per notification")

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["quiet"]
        standin = NotifyStandIn(
            port=options["port"],
            on_receive=None if quiet else self._print,
            keys=settings.NOTIFY_SIGNING_KEYS,
            on_refuse=None if quiet else self._print_refused,
        )
        standin.answer = Answer(delay_seconds=options["delay"])
        checking = ", verifying Standard Webhooks signatures" if standin.keys else ""
        self.stdout.write(f"Notify stand-in listening on {standin.url}{checking} (Ctrl-C stops it)")
        try:
            standin.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            standin.stop()

    def _print(self, received: Received) -> None:
        verified = "(signature verified) " if received.verified else ""
        self.stdout.write(
            self.style.SUCCESS(f"notify <- {verified}" + json.dumps(received.payload))
        )

    def _print_refused(self, received: Received) -> None:
        self.stdout.write(
            self.style.ERROR("notify refused (missing or bad signature): ")
            + json.dumps(received.payload)
        )
