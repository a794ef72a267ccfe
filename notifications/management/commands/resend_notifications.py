"""Ask the running service to re-send failed notifications, with their same ids.

The outbox lives in the memory of the serving process, so this command talks
to its API (`POST /v1/notifications/<id>/resend`) instead of to an outbox of
its own.
"""

from collections.abc import Iterator
from typing import Any

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

TIMEOUT = (2, 10)


class Command(BaseCommand):
    help = "Re-send failed notifications of the running service (by id, or --all-failed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", help="notification ids to re-send")
        parser.add_argument("--all-failed", action="store_true", help="every failed notification")
        parser.add_argument(
            "--api-url", default=settings.EVENTS_API_URL, help="the service's base URL"
        )
        parser.add_argument(
            "--token",
            default=next(iter(settings.EVENTS_ADMIN_TOKENS), None),
            help="an admin token (by default the first of EVENTS_ADMIN_TOKENS, which keeps "
            "it out of the process list)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        session = requests.Session()
        if options["token"]:
            session.headers["Authorization"] = f"Bearer {options['token']}"
        api = options["api_url"].rstrip("/")
        ids = list(options["ids"])
        if not ids and not options["all_failed"]:
            raise CommandError("Name notification ids, or use --all-failed.")
        if options["all_failed"]:
            ids += list(_failed_ids(session, api))
        if not ids:
            self.stdout.write("Nothing to resend: no notification has failed.")
            return
        resent = sum(self._resend(session, api, notification_id) for notification_id in ids)
        self.stdout.write(self.style.SUCCESS(f"Re-sent {resent} out of {len(ids)} notifications."))

    def _resend(self, session: requests.Session, api: str, notification_id: str) -> bool:
        response = _call(session, "post", f"{api}/v1/notifications/{notification_id}/resend")
        if response.status_code == 202:
            self.stdout.write(f"{notification_id}: queued again")
            return True
        detail = response.json().get("detail", response.text) if response.content else ""
        self.stderr.write(f"{notification_id}: {response.status_code} {detail}")
        return False


def _failed_ids(session: requests.Session, api: str) -> Iterator[str]:
    url: str | None = f"{api}/v1/notifications?status=failed&limit=500"
    while url:
        page = _call(session, "get", url)
        if not page.ok:
            raise CommandError(f"Listing failed notifications answered {page.status_code}.")
        body = page.json()
        yield from (entry["notification_id"] for entry in body["results"])
        url = body["next"]


def _call(session: requests.Session, method: str, url: str) -> requests.Response:
    try:
        return session.request(method, url, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise CommandError(f"Cannot reach the service at {url}: {exc}") from exc
