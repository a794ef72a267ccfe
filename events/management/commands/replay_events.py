"""Replay a file of events through the same path as `POST /v1/event`."""

import itertools
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, TextIO

import orjson
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from events.domain.ruleset import RuleSet
from events.ports import StoreFull, StoreUnavailable
from events.service import what_if
from events.service.ingestion import REJECTED, Ingested, ingest_many, replaying
from events.service.processing import Outcome
from events.service.signals import decisions_saved
from events.wire.rules_file import RulesFileError
from eventsproject import bootstrap
from notifications.domain.notification import utc_now
from notifications.ports import DeliveryStatus, OutboxEntry, OutboxStore

#: Outcomes reported on standard error, with the event's position.
_REPORTED = {REJECTED, Outcome.CONFLICT}

#: Events read, parsed and recorded together: a store reads and saves them in a round trip.
CHUNK = 500


class Command(BaseCommand):
    help = (
        "Replay events from a JSON array or JSON Lines file ('-' for standard input) "
        "through the same code path as POST /v1/event."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="a JSON array or JSON Lines file, or - for standard input")
        parser.add_argument(
            "--no-drain",
            action="store_true",
            help="leave reminders still pending at the end of the input unsent",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="process into a throwaway in-memory store and print the notifications "
            "instead of sending them",
        )
        parser.add_argument(
            "--what-if",
            metavar="RULES.toml",
            help="replay twice, into throwaway in-memory stores and delivering nothing: under "
            "the rules in force and under this rules file; print what would change",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="with --what-if: print the comparison as one JSON object, and nothing else",
        )
        parser.add_argument(
            "--diff-out",
            metavar="FILE",
            help="with --what-if: write one JSON line per user whose notifications change",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self._progress_to = self.stderr if options["json"] else self.stdout
        _refuse_combinations(options)
        if options["what_if"]:
            self._what_if(options)
            return
        parts = bootstrap.components()
        if options["dry_run"]:  # a throwaway store: the configured one is left untouched
            parts = bootstrap.dry_run(self.stdout)
        self._caused: list[tuple[str, str]] = []  # (user id, notification id)
        self._users: set[str] = set()  # whose events the input holds
        with bootstrap.installed(parts), _open(options["path"], options.get("stdin")) as source:
            try:
                tally, deliveries = self._replay_and_deliver(parts, source, options["no_drain"])
            except StoreFull:
                raise CommandError(_FULL) from None
            except StoreUnavailable as error:
                raise CommandError(
                    f"The state store ({settings.EVENTS_STORE}) does not answer: {error} "
                    "Events before this one were recorded; replaying again skips them as "
                    "duplicates."
                ) from None
            finally:
                parts.dispatcher.close(timeout=0)
        self._summarise(tally, deliveries, dry_run=options["dry_run"])

    def _what_if(self, options: dict[str, Any]) -> None:
        if options["path"] == "-":
            raise CommandError("--what-if reads the input twice: give a file, not -.")
        try:
            proposed = bootstrap.proposed_rules(Path(options["what_if"]))
        except RulesFileError as bad:
            raise CommandError(f"The rules to try are not right:\n{bad}") from None
        in_force = bootstrap.components().rules
        tallies = [self._tally_under(rules, options) for rules in (in_force, proposed)]
        comparison = what_if.Comparison(*tallies)
        if options["diff_out"]:
            _write_changes(Path(options["diff_out"]), comparison)
        if options["json"]:
            self.stdout.write(json.dumps(comparison.as_data()))
            return
        self._show(comparison, in_force, proposed)

    def _tally_under(self, rules: RuleSet, options: dict[str, Any]) -> what_if.TallyTransport:
        """The notifications a replay of the input under `rules` would send."""
        tally = what_if.TallyTransport()
        parts = bootstrap.what_if(rules, tally)
        self._caused, self._users = [], set()
        decisions_saved.connect(tally.decided, weak=False)
        with bootstrap.installed(parts), _open(options["path"], None) as source:
            try:
                replayed, _ = self._replay_and_deliver(parts, source, options["no_drain"])
            except StoreFull:
                raise CommandError(_FULL) from None
            finally:
                decisions_saved.disconnect(tally.decided)
                parts.dispatcher.close(timeout=0)
        self.stderr.write(f"Replayed {replayed['read']} events under the rules {rules.version}.")
        return tally

    def _show(self, comparison: what_if.Comparison, in_force: RuleSet, tried: RuleSet) -> None:
        self.stdout.write(f"Rules in force: {in_force.version} ({in_force.source}).")
        self.stdout.write(f"Rules tried: {tried.version} ({tried.source}).")
        data = comparison.as_table()
        for kind, before in data["before"].items():
            after = data["after"][kind]
            self.stdout.write(f"{kind:<30}{'before':>8}{'after':>8}")
            for column, count in before.items():
                self.stdout.write(f"  {column:<28}{count:>8}{after[column]:>8}")
        self.stdout.write(f"Users whose notifications change: {data['users_changed']}.")

    def _replay_and_deliver(
        self, parts: bootstrap.Components, source: TextIO, no_drain: bool
    ) -> tuple[Counter[str], Counter[str]]:
        parts.dispatcher.start()
        with replaying():
            tally = self._replay(source)
            # Only this input's users: others on a shared store keep their reminders' own time.
            drained = [] if no_drain else parts.processor.drain_reminders(self._users)
        tally["drained"] = len(drained)
        self._caused += [(n.user_id, n.notification_id) for n in drained]
        return tally, _delivered(parts.outbox, self._caused)

    def _replay(self, source: TextIO) -> Counter[str]:
        tally: Counter[str] = Counter()
        progress = Progress(self._progress_to)
        items = _read_items(source)
        while chunk := list(itertools.islice(items, CHUNK)):
            tally["read"] += len(chunk)
            tally.update(self._process(chunk))
            progress.update(chunk[-1][0])
        progress.finish()
        return tally

    def _process(self, chunk: list[tuple[int, Any]]) -> list[str]:
        """The status of each item; rejections and conflicts are reported in order."""
        items = [item for _, item in chunk if not _not_json(item)]
        recorded = iter(ingest_many(bootstrap.components().processor, items))
        statuses = []
        for position, item in chunk:
            ingested = None if _not_json(item) else next(recorded)
            status = self._outcome(ingested)
            if status in _REPORTED:  # the details of only these are written out
                self._report(position, status, _details(ingested, item))
            statuses.append(status)
        return statuses

    def _outcome(self, ingested: Ingested | None) -> str:
        if ingested is None:
            return REJECTED
        if ingested.result is not None:
            user_id = ingested.result.event.user_id
            self._users.add(user_id)
            self._caused += [(user_id, nid) for nid in ingested.result.notification_ids]
        return ingested.status

    def _report(self, position: int, status: str, details: Any) -> None:
        self.stderr.write(f"event {position} {status}: {json.dumps(details, default=str)}")

    def _summarise(self, tally: Counter[str], deliveries: dict[str, int], *, dry_run: bool) -> None:
        processed = tally[Outcome.ACCEPTED] + tally[Outcome.IGNORED]
        self.stdout.write(
            f"Events: {tally['read']} read, {processed} processed "
            f"({tally[Outcome.IGNORED]} of unknown types ignored), "
            f"{tally[Outcome.DUPLICATE]} duplicates skipped, "
            f"{tally[REJECTED] + tally[Outcome.CONFLICT]} rejected."
        )
        self.stdout.write(
            f"Notifications: {deliveries['sent']} {'printed' if dry_run else 'sent'}, "
            f"{deliveries['failed']} failed; reminders fired at the end of the input: "
            f"{tally['drained']}."
        )
        if deliveries[DEFERRED]:
            self.stdout.write(self.style.WARNING(_deferred_line(deliveries[DEFERRED])))
        self.stdout.write(
            self.style.SUCCESS(f"Processed {processed} out of {tally['read']} events.")
        )
        if deliveries["failed"]:
            raise CommandError(f"{deliveries['failed']} notifications could not be delivered.")
        if tally["read"] and tally[REJECTED] == tally["read"]:
            raise CommandError(
                f"All {tally[REJECTED]} events were rejected: is this an event file? "
                "(Each one's reason is above.)"
            )


#: Seconds after which the notifications still pending are looked at for deferrals.
DEFERRED_LOOK_AFTER = 1.0
DEFERRED = "deferred"


def _deferred_line(count: int) -> str:
    where = (
        "the service delivers them from this store then"
        if bootstrap.components().outbox.durable
        else "this memory store loses them when the command exits"
    )
    return (
        f"Deferred past now by the users' quiet hours: {count} notification(s), until the "
        f"quiet hours end; {where}."
    )


_FULL = (
    "The memory store holds as many users as it may (EVENTS_MEMORY_MAX_USERS): raise it for "
    "this replay; events before the one refused were recorded."
)


def _details(ingested: Ingested | None, item: Any) -> Any:
    """What is reported of an item refused: why, and the event as far as it was read."""
    if ingested is None:
        return {"non_field_errors": [f"Not JSON: {item}"]}
    return ingested.as_body()


def _refuse_combinations(options: dict[str, Any]) -> None:
    """Options that mean nothing together are refused rather than ignored."""
    if not options["what_if"] and (options["json"] or options["diff_out"]):
        raise CommandError("--json and --diff-out go with --what-if.")
    if options["what_if"] and options["dry_run"]:
        raise CommandError("--what-if delivers nothing already: leave out --dry-run.")


def _write_changes(path: Path, comparison: what_if.Comparison) -> None:
    try:
        with path.open("w", encoding="utf-8") as out:
            for changed in comparison.changed():
                out.write(json.dumps(changed.as_data()) + "\n")
    except OSError as exc:
        raise CommandError(f"Cannot write {path}: {exc.strerror}") from exc


def _delivered(outbox: OutboxStore, caused: list[tuple[str, str]]) -> Counter[str]:
    """Wait until each notification the replay caused is sent or failed, then count them;
    one deferred past now by the user's quiet hours is counted as deferred, not waited for
    (those still pending after a while are looked at once).

    Only this replay's notifications: a shared store also holds other processes'.
    """
    final: Counter[str] = Counter()
    waiting, looked_at = caused, time.monotonic() + DEFERRED_LOOK_AFTER
    while waiting:
        statuses = outbox.statuses(waiting)
        pending = [status is DeliveryStatus.PENDING for status in statuses]
        # The history forgets only sent notifications: one it no longer holds was sent.
        final.update(
            str(status or DeliveryStatus.SENT)
            for status in statuses
            if status is not DeliveryStatus.PENDING
        )
        waiting = list(itertools.compress(waiting, pending))
        if waiting and time.monotonic() >= looked_at:
            looked_at = float("inf")
            deferred = {nid for _, nid in waiting if _deferred_past_now(outbox.get(nid))}
            final[DEFERRED] += len(deferred)
            waiting = [pair for pair in waiting if pair[1] not in deferred]
        if waiting:
            time.sleep(0.05)
    return final


def _deferred_past_now(entry: OutboxEntry | None) -> bool:
    deliver_after = None if entry is None else entry.notification.deliver_after
    return deliver_after is not None and deliver_after > utc_now()


class Progress:
    """Events done and events per second, on a terminal only, at most twice a second."""

    interval = 0.5

    def __init__(self, stdout: OutputWrapper) -> None:
        self._stdout = stdout
        self._enabled = stdout.isatty()
        self._started = self._shown_at = time.monotonic()
        self._shown = False

    def update(self, done: int) -> None:
        now = time.monotonic()
        if not self._enabled or now - self._shown_at < self.interval:
            return
        rate = done / (now - self._started)
        self._stdout.write(f"\r{done:,} events, {rate:,.0f} events/s", ending="")
        self._stdout.flush()
        self._shown_at, self._shown = now, True

    def finish(self) -> None:
        if self._shown:
            self._stdout.write("")


def _open(path: str, stdin: TextIO | None) -> AbstractContextManager[TextIO]:
    if path == "-":
        return nullcontext(stdin or sys.stdin)
    try:
        return open(path, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc


def _read_items(source: TextIO) -> Iterator[tuple[int, Any]]:
    """(position, value) pairs; a JSON Lines line that is not JSON comes as its error."""
    first_line = next((line for line in source if line.strip()), "")
    if first_line.lstrip().startswith("["):
        yield from enumerate(_load_array(first_line + source.read()), start=1)
        return
    lines = (line for line in itertools.chain([first_line], source) if line.strip())
    for position, line in enumerate(lines, start=1):
        yield position, _load_line(line)


def _load_array(text: str) -> list[Any]:
    try:
        items: list[Any] = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise CommandError(f"The input is not a valid JSON array: {exc}") from exc
    return items


def _not_json(item: Any) -> bool:
    return isinstance(item, orjson.JSONDecodeError)


def _load_line(line: str) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return exc
