"""Whether an earned notification goes: quiet hours in the user's zone, then the rule's cap.

A rule decides that a notification is earned; `gated` then decides whether it
goes (the rules file's controls, events/domain/ruleset.py). Quiet hours are
judged at the notification's trigger time in the user's local time: `skip`
holds it back (outcome `quiet_hours`), `defer` sends it when the user's clock
next reaches the end of the quiet hours (`deliver_after`). Then a cap holds it
back (outcome `capped`) when the user already has `max` notifications of the
rule whose trigger times lie in (T - per, T]; only the ones sent or deferred
count. Both are judged in event time, so a replay and the live service agree.
Plain Python, like the rules.
"""

import logging
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from events.domain.decisions import Decision, DecisionRecord, NoteNotified, UserState, Verdict, Zone
from events.domain.ruleset import Cap, Controls, QuietAction, QuietHours

logger = logging.getLogger(__name__)


def gated(
    record: DecisionRecord,
    controls: Controls,
    at: datetime,
    state: UserState,
    default_zone: str,
    keep_for: timedelta,
) -> list[Decision]:
    """`record`, earning a notification triggered `at`, once `controls` had their say; with
    the note that counts it for the cap, when it goes and there is one (kept for `keep_for`
    past the cap's window, the reorder window, so that a late event is counted right)."""
    quiet, cap = controls.quiet_hours, controls.cap
    if quiet is not None:
        record = _in_quiet_hours(record, quiet, at, state.contact.zone, default_zone)
        if record.notification_id is None:
            return [record]  # skipped: it does not count for the cap
    if cap is None:
        return [record]
    count = _notified_within(state, record.rule, cap, at)
    if count >= cap.max:
        return [_held(record, Verdict.CAPPED, cap=_cap_figures(cap, count))]
    return [record, NoteNotified(record.rule, at, at - cap.per - keep_for)]


def _in_quiet_hours(
    record: DecisionRecord, quiet: QuietHours, at: datetime, zone: Zone, default_zone: str
) -> DecisionRecord:
    tz, zone_name = zone_in_force(zone, default_zone)
    local = at.astimezone(tz)
    if not quiet.covers(local.time()):
        return record
    figures = {"zone": zone_name, "local_time": local.isoformat(), **quiet.as_data()}
    if quiet.action is QuietAction.SKIP:
        return _held(record, Verdict.QUIET_HOURS, quiet_hours=figures)
    deliver_after = next_local(at, quiet.end, tz)
    figures["deliver_after"] = deliver_after.isoformat()
    return replace(
        record,
        deliver_after=deliver_after,
        figures={**record.figures, "quiet_hours": figures},
    )


def _held(record: DecisionRecord, outcome: Verdict, **figures: object) -> DecisionRecord:
    return replace(
        record,
        outcome=outcome,
        notification_id=None,
        deliver_after=None,
        figures={**record.figures, **figures},
    )


def _notified_within(state: UserState, rule: str, cap: Cap, at: datetime) -> int:
    since = at - cap.per
    return sum(1 for other, then in state.contact.recent if other == rule and since < then <= at)


def _cap_figures(cap: Cap, count: int) -> dict[str, int]:
    return {"count": count, "max": cap.max, "per_hours": cap.per // timedelta(hours=1)}


def zone_in_force(zone: Zone, default_zone: str) -> tuple[tzinfo, str]:
    """The user's time zone and its name: the latest IANA name their events stated, else the
    latest UTC offset, else the default. A name this process's tz database does not have
    (stated to a process with a newer one, on a shared store) counts as none."""
    named = None if zone.name is None else _named(zone.name)
    if named is not None:
        return named, cast(str, zone.name)
    if zone.offset is not None:
        offset = timezone(zone.offset)
        return offset, offset.tzname(None)
    return cast(tzinfo, _named(default_zone)), default_zone  # checked at startup


@lru_cache(maxsize=1024)  # so a name this process cannot read is logged once
def _named(name: str) -> tzinfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("time zone %r is not in this process's tz database: judged as none", name)
        return None


def next_local(after: datetime, wall: time, tz: tzinfo) -> datetime:
    """The first instant after `after` at which the clock of `tz` reaches `wall`: if the
    clock skips it (a DST gap), the first instant past it; if the clock passes it twice,
    the first of them after `after`."""
    day = after.astimezone(tz).date()
    shown = (*_instants_at(day, wall, tz), *_instants_at(day + timedelta(days=1), wall, tz))
    return min(instant for instant in shown if instant > after)


def _instants_at(day: date, wall: time, tz: tzinfo) -> tuple[datetime, ...]:
    """When the clock of `tz` shows `wall` on `day`: once, twice (a repeated hour), or, in a
    gap, never: then the jump past it."""
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) != naive:
        return (_clock_jump(min(first, second), max(first, second), naive, tz),)
    return (first,) if second == first else (first, second)


def _clock_jump(low: datetime, high: datetime, naive: datetime, tz: tzinfo) -> datetime:
    """In a gap: the first second whose local time is past `naive` (the jump itself)."""
    before, past = int(low.timestamp()), int(high.timestamp())
    while past - before > 1:
        middle = (before + past) // 2
        if datetime.fromtimestamp(middle, tz).replace(tzinfo=None) >= naive:
            past = middle
        else:
            before = middle
    return datetime.fromtimestamp(past, UTC)
