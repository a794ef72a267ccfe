"""What a rules change would have changed: two replays of the same history compared.

`replay_events FILE --what-if OTHER.toml` replays the file under the rules in
force and under the other file, each into a throwaway memory store whose
notifications are counted, never delivered (`TallyTransport`), and compares
them: per notification kind, how many, and how many the rules' controls held
back (`capped`, `quiet_hours`: counted from the decisions saved); and the users
whose notifications change, a user changing when the multiset of (kind, minutes)
they are told differs.
"""

import threading
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from events.domain.decisions import DecisionRecord, Verdict
from events.service.notices import KIND_OF_RULE
from notifications.domain.notification import Notification, NotificationKind

#: The outcomes of notifications held back, as a what-if counts them.
HELD = (Verdict.CAPPED, Verdict.QUIET_HOURS)

#: What a user is told, as a what-if compares it: a deferral alone is no change.
Told = tuple[str, int | None]


class TallyTransport:
    """A transport that delivers nothing and counts what it is given. Thread-safe: the
    dispatcher's senders call it together."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_kind: Counter[str] = Counter({str(kind): 0 for kind in NotificationKind})
        self.held: Counter[tuple[str, str]] = Counter()  # (kind, outcome)
        self.deferred: Counter[str] = Counter()
        self.by_user: defaultdict[str, Counter[Told]] = defaultdict(Counter)

    def send(self, notification: Notification) -> None:
        told = (str(notification.kind), notification.minutes)
        with self._lock:
            self.by_kind[told[0]] += 1
            self.deferred[told[0]] += notification.deliver_after is not None
            self.by_user[notification.user_id][told] += 1

    def decided(self, records: Sequence[DecisionRecord], **signal: Any) -> None:
        """A receiver of `decisions_saved`: counts the notifications held back."""
        held = [
            (str(KIND_OF_RULE[record.rule]), str(record.outcome))
            for record in records
            if record.outcome in HELD
        ]
        if held:
            with self._lock:
                self.held.update(held)


@dataclass(frozen=True, slots=True)
class Changed:
    user_id: str
    before: Counter[Told]
    after: Counter[Told]

    def as_data(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "before": _told(self.before), "after": _told(self.after)}


@dataclass(frozen=True, slots=True)
class Comparison:
    before: TallyTransport
    after: TallyTransport

    def changed(self) -> Iterator[Changed]:
        """The users whose notifications differ, in the order of their ids."""
        for user_id in sorted(self.before.by_user.keys() | self.after.by_user.keys()):
            before, after = self.before.by_user.get(user_id), self.after.by_user.get(user_id)
            if (before or Counter()) != (after or Counter()):
                yield Changed(user_id, before or Counter(), after or Counter())

    def as_table(self) -> dict[str, Any]:
        """What the table shows: `as_data`'s, with how many notifications were deferred."""
        table = self.as_data()
        for side, tally in (("before", self.before), ("after", self.after)):
            for kind, columns in table[side].items():
                table[side][kind] = {
                    "notifications": columns.pop("notifications"),
                    "of which deferred": tally.deferred[kind],
                    **columns,
                }
        return table

    def as_data(self) -> dict[str, Any]:
        """What `--json` prints."""
        return {
            "before": _by_kind(self.before),
            "after": _by_kind(self.after),
            "users_changed": sum(1 for _ in self.changed()),
        }


def _by_kind(tally: TallyTransport) -> dict[str, dict[str, int]]:
    return {
        kind: {
            "notifications": count,
            **{str(outcome): tally.held[kind, str(outcome)] for outcome in HELD},
        }
        for kind, count in sorted(tally.by_kind.items())
    }


def _told(told: Counter[Told]) -> list[dict[str, Any]]:
    return [
        {"kind": kind, "minutes": minutes}
        for (kind, minutes), count in sorted(told.items(), key=str)
        for _ in range(count)
    ]
