"""The event repository on Redis: state shared by every process, kept across restarts.

Per user, in the user's shard (eventsproject.platform.redis.Layout): the state
(`state:<user>`, JSON, expiring after `EVENTS_USER_STATE_TTL_HOURS` idle), the
decision log (`log:<user>`) and one key per seen event (`seen:<digest>`, holding
the event's content digest and the token of the unit of work that checked it in,
expiring after `EVENTS_SEEN_IDS_MAX_AGE_HOURS`). Per shard: pending reminders
by wall-clock due time (`due`) and by deadline (`pending`), the recent events
(`recent`) and the tallies (`tally`).

A unit of work is optimistic: the caller decides on the state this process
last saw of the user (none, for a user it has not seen), and one script
commits — only if the state is still that — the state, the seen key, the
decision records, the reminder indexes and the notifications (the
transactional outbox). A refused commit answers with the state the store
holds and the event's seen key, and the work is done again on those, a
bounded number of times: one round trip when this process made the user's
last change, two when another process did. A batch reads its users' states
and seen keys in one round trip first, and commits in a second.
"""

import hashlib
import os
import random
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import orjson

from events.adapters.codec import (
    decode_event,
    decode_record,
    decode_state,
    encode_event,
    encode_record,
    encode_state,
    event_to_dict,
)
from events.domain.decisions import NO_STATE, DecisionRecord, Reminder, UserState
from events.domain.events import Event
from events.ports import (
    Arrival,
    Change,
    ChangeOf,
    Committed,
    NeedsStoredState,
    StoreUnavailable,
    UnitOfWork,
    decided_on_held,
)
from eventsproject.platform.redis import Client, Layout, Pipelines, unavailable_as_store_error
from notifications.adapters.redis import APPEND_NOTES, RedisOutboxStore

#: KEYS: state, seen, log, due, pending, recent, tally, then the outbox's stream, notes,
#: counts and undelivered index, then one key per notification. ARGV: see
#: `RedisEventRepository._commit_args`.
_COMMIT = (
    APPEND_NOTES
    + """
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then
  return {'retry', current, ARGV[4] ~= '' and redis.call('GET', KEYS[2])}
end
if ARGV[4] ~= '' and not redis.call('SET', KEYS[2], ARGV[4], 'NX', 'PX', ARGV[5]) then
  return 'seen:' .. redis.call('GET', KEYS[2])
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
elseif ARGV[2] ~= ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
if ARGV[7] == '' then redis.call('ZREM', KEYS[4], ARGV[6])
else redis.call('ZADD', KEYS[4], ARGV[7], ARGV[6]) end
if ARGV[8] == '' then redis.call('ZREM', KEYS[5], ARGV[6])
else redis.call('ZADD', KEYS[5], ARGV[8], ARGV[6]) end
if ARGV[9] ~= '' then
  redis.call('HINCRBY', KEYS[7], 'type:' .. ARGV[9], 1)
  if tonumber(ARGV[11]) > 0 then
    redis.call('LPUSH', KEYS[6], ARGV[10])
    redis.call('LTRIM', KEYS[6], 0, tonumber(ARGV[11]) - 1)
  end
end
if ARGV[14] ~= '0' then redis.call('HINCRBY', KEYS[7], 'open_sessions', ARGV[14]) end
if ARGV[15] ~= '0' then
  redis.call('HINCRBY', KEYS[7], 'users_with_open_sessions', ARGV[15])
end
local records = tonumber(ARGV[16])
if records > 0 and tonumber(ARGV[12]) > 0 then
  for j = 1, records do redis.call('LPUSH', KEYS[3], ARGV[16 + j]) end
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[12]) - 1)
  redis.call('PEXPIRE', KEYS[3], ARGV[13])
end
append_notes(12, 8, 17 + records)
return 'ok'
"""
)

#: KEYS: due. ARGV: now in ms, lease end in ms, limit. Claims the due users for a lease.
_CLAIM = """
local users = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, user in ipairs(users) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], user) end
return users
"""


#: Between two tries of a unit of work whose state changed meanwhile: none after the first
#: refusal (it says this process's view of the user was old), then a random wait up to
#: BASE * 2**refusals, at most CAP ("full jitter"), so that writers who collided part.
CONTENTION_BACKOFF_BASE_SECONDS = 0.0005
CONTENTION_BACKOFF_CAP_SECONDS = 0.05


def _back_off(refusals: int) -> None:
    if refusals > 1:
        ceiling = CONTENTION_BACKOFF_BASE_SECONDS * 2**refusals
        time.sleep(random.uniform(0, min(CONTENTION_BACKOFF_CAP_SECONDS, ceiling)))


class TooMuchContention(StoreUnavailable):
    """Other processes kept changing the user's state while this one decided: a retry later
    is safe, as when the store does not answer."""


@dataclass(frozen=True, slots=True)
class Retention:
    """How much is kept, and for how long."""

    recent_limit: int = 1000
    seen_max_age: timedelta = timedelta(hours=24)
    decisions_per_user: int = 100
    state_ttl: timedelta = timedelta(hours=48)
    claim_lease: timedelta = timedelta(seconds=30)
    #: A state that holds nothing but the user's reorder window expires after this (when
    #: shorter than the state's TTL).
    window_ttl: timedelta | None = None


@dataclass(frozen=True, slots=True)
class _Unit:
    """One unit of work: a user, in a shard, and maybe an event to check in."""

    shard: int
    user_id: str
    event: Event | None
    seen_key: str = ""
    content: str = ""
    token: str = ""  # tells this unit's own check-in from another's with the same content

    @property
    def check_in(self) -> str:
        """What the seen key holds once this unit is committed."""
        return f"{self.content} {self.token}" if self.seen_key else ""


@dataclass(slots=True)
class _Batch:
    """The units of one `update_many`, decided in order on the states read together, their
    commits queued on one pipeline."""

    units: list[_Unit]
    reads: list[tuple[bytes, bytes | None]]  # each unit's state and seen id, as read
    commits: Pipelines
    results: list[Committed | None]
    # What the queued commits leave: each user's state (raw and decoded), the ids seen.
    states: dict[str, tuple[bytes, UserState]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    queued: list[tuple[int, Change, bytes]] = field(default_factory=list)  # and the state
    # Units whose id a queued unit checks in: done after it, on what it left.
    repeats: list[int] = field(default_factory=list)


@unavailable_as_store_error
class RedisEventRepository:
    attempts = 20  # optimistic commits per unit of work before giving up
    claim_batch = 1000
    #: Users whose last state this process remembers, as written and decoded, to decide
    #: on without reading or decoding it first; the least recently changed are forgotten.
    #: A state larger than `remembered_bytes` (a long reorder window, many sessions open)
    #: is not remembered: read when committed.
    remembered_users = 10_000
    remembered_bytes = 8192

    def __init__(
        self,
        client: Client,
        layout: Layout,
        outbox: RedisOutboxStore,
        retention: Retention | None = None,
    ) -> None:
        retention = retention or Retention()
        self._client: Any = client  # redis-py's annotations mix in its asyncio client's
        self._layout = layout
        self._outbox = outbox
        self._recent_limit = retention.recent_limit
        self._decisions_per_user = retention.decisions_per_user
        self._state_ttl_ms = _ms_of(retention.state_ttl)
        self._window_ttl_ms = min(
            self._state_ttl_ms, _ms_of(retention.window_ttl or retention.state_ttl)
        )
        self._seen_ttl_ms = _ms_of(retention.seen_max_age)
        self._lease = retention.claim_lease
        self._commit_script = client.register_script(_COMMIT)
        self._claim_script = client.register_script(_CLAIM)
        self._last_states: dict[str, tuple[bytes, UserState]] = {}  # oldest first
        self._remembering = threading.Lock()  # the ticker's thread changes it too

    def update(self, user_id: str, change_of: ChangeOf, event: Event | None = None) -> Committed:
        return self._settle(self._unit(user_id, event, _token()), change_of)

    def update_many(self, work: Sequence[UnitOfWork]) -> list[Committed]:
        """Two round trips for all the units: one reads every state and seen id, one runs
        every unit's commit script, which still checks the state it was decided on. A
        unit whose user changed meanwhile is done again on its own (`update`)."""
        token = _token()
        units = [self._unit(user_id, event, token) for user_id, _, event in work]
        reads = self._read_many(units)
        if reads is None:  # a node moved a slot: the cluster client finds it, unit by unit
            return [self.update(*unit) for unit in work]
        batch = _Batch(units, reads, Pipelines(self._client), [None] * len(units))
        try:
            for index, unit in enumerate(work):
                self._queue(batch, index, unit.change_of)
        except Exception:  # what was decided before a decision that raised is saved
            self._commit_queued(batch, work)
            raise
        self._commit_queued(batch, work)
        return cast(list[Committed], batch.results)

    def user_state(self, user_id: str) -> UserState:
        shard = self._layout.shard_of(user_id)
        return self._decoded(self._client.get(self._key(shard, "state", user_id)) or b"")

    def decisions(self, user_id: str) -> list[DecisionRecord]:
        shard = self._layout.shard_of(user_id)
        log = self._client.lrange(self._key(shard, "log", user_id), 0, -1)
        return [decode_record(raw) for raw in log]

    def claim_due_reminders(self, now: datetime) -> list[str]:
        lease_end = now + self._lease
        users = []
        for shard in range(self._layout.shards):
            claimed = self._claim_script(
                keys=[self._key(shard, "due")],
                args=[_ms(now), _ms(lease_end), self.claim_batch],
            )
            users += [user.decode() for user in claimed]
        return users

    def pending_reminders(self) -> list[Reminder]:
        reminders = []
        for shard in range(self._layout.shards):
            users = self._client.zrange(self._key(shard, "pending"), 0, -1)
            states = [self.user_state(user.decode()) for user in users]
            reminders += [state.pending_reminder for state in states if state.pending_reminder]
        return sorted(reminders, key=lambda reminder: reminder.deadline)

    def recent_events(self) -> list[Event]:
        events = []
        for shard in range(self._layout.shards):
            recent = self._client.lrange(self._key(shard, "recent"), 0, self._recent_limit - 1)
            events += [decode_event(raw) for raw in recent]
        events.sort(key=lambda event: event.received_at or event.occurred_at, reverse=True)
        return events[: self._recent_limit]

    def event_counts(self) -> dict[str, int]:
        return {
            name.removeprefix("type:"): count
            for name, count in self._tallies().items()
            if name.startswith("type:")
        }

    def stats(self) -> dict[str, int]:
        tallies = self._tallies()
        pipe = self._client.pipeline(transaction=False)
        for shard in range(self._layout.shards):
            pipe.zcard(self._key(shard, "pending"))
        return {
            "users_with_open_sessions": tallies.get("users_with_open_sessions", 0),
            "open_sessions": tallies.get("open_sessions", 0),
            "pending_reminders": sum(pipe.execute()),
        }

    # --- the unit of work ---------------------------------------------------------

    def _settle(self, unit: _Unit, change_of: ChangeOf, decided: Change | None = None) -> Committed:
        """Decide and commit, until the commit finds the state it was decided on.

        The first try decides on the state this process last left; a refused commit brings
        the state the store holds. `decided` is a change already sent for the unit: the
        store is read first, and when the unit's own check-in is found, that commit ran
        (its reply was lost, and a retrying client sent it again)."""
        raw, seen = self._first_view(unit, decided)
        held = decided is not None  # whether `raw` is what the store holds
        for attempt in range(self.attempts):
            if seen is not None:
                return self._answer(unit, seen, decided)
            before = self._state_of(unit.user_id, raw)
            decided = _decided(change_of, before, on_what_is_held=held)
            outcome, written = self._commit_or_read(unit, raw, before, decided)
            if outcome == b"ok" and decided is not None:
                self._remember(unit.user_id, written, decided.state)
                return self._new(decided)
            if isinstance(outcome, bytes):  # b"seen:" and what the seen key holds
                return self._answer(unit, outcome[5:], decided)
            (_, raw, seen), held = outcome, True  # refused: what the store holds
            _back_off(attempt + 1)
        raise TooMuchContention(f"user {unit.user_id}'s state kept changing")

    def _first_view(self, unit: _Unit, decided: Change | None) -> tuple[bytes, bytes | None]:
        """The state this process last left, or, for a unit whose commit was sent already,
        the state and seen key the store holds."""
        if decided is None:
            return self._last_states.get(unit.user_id, (b"", NO_STATE))[0], None
        return self._read(unit)

    def _remember(self, user_id: str, raw: bytes, state: UserState) -> None:
        """`raw` is `user_id`'s state as this process left it (empty: none), `state` it
        decoded."""
        with self._remembering:
            self._last_states.pop(user_id, None)
            if not raw or len(raw) > self.remembered_bytes:
                return
            if len(self._last_states) >= self.remembered_users:
                del self._last_states[next(iter(self._last_states))]
            self._last_states[user_id] = (raw, state)

    def _state_of(self, user_id: str, raw: bytes) -> UserState:
        """`raw` decoded: as remembered, when this process left the user's state so."""
        remembered = self._last_states.get(user_id)
        if remembered is not None and remembered[0] == raw:
            return remembered[1]
        return self._decoded(raw)

    def _answer(self, unit: _Unit, seen: bytes, decided: Change | None) -> Committed:
        """The answer to a unit whose event id is checked in already, by `seen`."""
        content, _, token = seen.decode().partition(" ")
        if decided is not None and token == unit.token:
            return self._new(decided)
        return Committed(Arrival.DUPLICATE if content == unit.content else Arrival.CONFLICT)

    def _new(self, change: Change) -> Committed:
        if change.notifications:
            self._outbox.wake()
        return Committed(Arrival.NEW, change)

    def _unit(self, user_id: str, event: Event | None, token: str) -> _Unit:
        shard = self._layout.shard_of(user_id)
        if event is None:
            return _Unit(shard, user_id, None, token=token)
        # The seen key is a stable digest of the user and the id; the content's digest
        # tells a retry from another event reusing the id.
        content = event_to_dict(event)
        for key in _NOT_IDENTITY:
            content.pop(key, None)
        seen_key = self._key(shard, "seen", _digest((event.user_id, event.event_id)))
        return _Unit(shard, user_id, event, seen_key, _digest(content), token)

    def _read(self, unit: _Unit) -> tuple[bytes, bytes | None]:
        state_key = self._key(unit.shard, "state", unit.user_id)
        if not unit.seen_key:
            return self._client.get(state_key) or b"", None
        state, seen = self._client.mget(state_key, unit.seen_key)  # one slot: one command
        return state or b"", seen

    def _read_many(self, units: list[_Unit]) -> list[tuple[bytes, bytes | None]] | None:
        """Each unit's state and seen id; None if a node answered with an error."""
        reads = Pipelines(self._client)
        for unit in units:
            state_key = self._key(unit.shard, "state", unit.user_id)
            reads.queue(state_key, "mget", state_key, unit.seen_key or state_key)
        read = reads.execute()
        if any(isinstance(result, Exception) for result in read):
            return None
        return [
            (state or b"", seen if unit.seen_key else None)
            for unit, (state, seen) in zip(units, read, strict=True)
        ]

    def _queue(self, batch: _Batch, index: int, change_of: ChangeOf) -> None:
        """Decide one unit on its user's state as the commits queued before leave it."""
        unit, (raw, seen) = batch.units[index], batch.reads[index]
        if unit.seen_key in batch.seen:  # what it meets is known once the first copy is
            batch.repeats.append(index)
            return
        if seen is not None:
            batch.results[index] = self._answer(unit, seen, None)
            return
        raw, before = batch.states.get(unit.user_id) or (raw, self._state_of(unit.user_id, raw))
        change = decided_on_held(change_of, before)
        keys, args = self._commit_keys(unit, change), self._commit_args(unit, raw, before, change)
        batch.commits.queue(keys[0], "evalsha", self._commit_script.sha, len(keys), *keys, *args)
        batch.queued.append((index, change, args[1]))
        batch.states[unit.user_id] = (args[1], change.state)
        if unit.seen_key:
            batch.seen.add(unit.seen_key)

    def _commit_queued(self, batch: _Batch, work: Sequence[UnitOfWork]) -> None:
        """Run the queued commits; those refused (the state changed, or the script is not
        loaded on that node yet) are done again one at a time, in their order, and so are
        the repeats of an id (a duplicate or a conflict of what the store then holds)."""
        outcomes = batch.commits.execute()
        again: dict[int, Change] = {}
        for (index, change, written), outcome in zip(batch.queued, outcomes, strict=True):
            if outcome == b"ok":
                batch.results[index] = Committed(Arrival.NEW, change)
                self._remember(batch.units[index].user_id, written, change.state)
            elif isinstance(outcome, bytes) and outcome.startswith(b"seen:"):
                batch.results[index] = self._answer(batch.units[index], outcome[5:], change)
            else:
                again[index] = change
        if any(change.notifications for _, change, _ in batch.queued):
            self._outbox.wake()
        for index in sorted([*again, *batch.repeats]):
            batch.results[index] = self._redo(batch.units[index], work[index], again.get(index))

    def _redo(self, unit: _Unit, work: UnitOfWork, sent: Change | None) -> Committed:
        """A unit whose commit was sent is settled by its own check-in if that commit ran;
        a repeat of an id is a unit of its own, after its first copy."""
        if sent is None:
            return self.update(*work)
        return self._settle(unit, work.change_of, sent)

    def _decoded(self, raw: bytes) -> UserState:
        return decode_state(raw) if raw else NO_STATE

    def _commit_or_read(
        self, unit: _Unit, raw: bytes, before: UserState, change: Change | None
    ) -> tuple[Any, bytes]:
        """The commit's answer; for no change (a decision that needs the state the store
        holds), a refusal with that state, as the script answers when the state changed."""
        if change is None:
            return (b"refused", *self._read(unit)), b""
        return self._commit(unit, raw, before, change)

    def _commit(
        self, unit: _Unit, raw: bytes, before: UserState, change: Change
    ) -> tuple[Any, bytes]:
        """The script's answer, and the state it writes when it commits."""
        args = self._commit_args(unit, raw, before, change)
        return self._commit_script(keys=self._commit_keys(unit, change), args=args), args[1]

    def _commit_keys(self, unit: _Unit, change: Change) -> list[str]:
        shard, state_key = unit.shard, self._key(unit.shard, "state", unit.user_id)
        return [
            state_key,
            unit.seen_key or state_key,
            self._key(shard, "log", unit.user_id),
            self._key(shard, "due"),
            self._key(shard, "pending"),
            self._key(shard, "recent"),
            self._key(shard, "tally"),
            *self._outbox.keys(shard),
            *(self._outbox.note_key(shard, n.notification_id) for n in change.notifications),
        ]

    def _commit_args(self, unit: _Unit, raw: bytes, before: UserState, change: Change) -> list[Any]:
        """The state read and the one to write (the same: only its TTL is renewed; empty:
        deleted), the seen id's content digest, the user's due time and deadline in the
        reminder indexes, the event for the counts and the recent window, the limits, the
        tallies' changes, the decision records, then the notifications (`APPEND_NOTES`)."""
        after, event = change.state, unit.event
        pending = after.pending_reminder
        records = [encode_record(record) for record in change.records]
        return [
            raw,
            raw if raw and after == before else (encode_state(after) if after else b""),
            self._window_ttl_ms if after.only_window else self._state_ttl_ms,
            unit.check_in,
            self._seen_ttl_ms,
            unit.user_id,
            _ms(pending.due_at) if pending and pending.due_at else "",
            _ms(pending.deadline) if pending else "",
            event.event_type if event is not None else "",
            encode_event(event) if event is not None else "",
            self._recent_limit,
            self._decisions_per_user,
            self._state_ttl_ms,
            len(after.open_sessions) - len(before.open_sessions),
            bool(after.open_sessions) - bool(before.open_sessions),
            len(records),
            *records,
            *self._outbox.append_args(change.notifications),
        ]

    # --- keys ---------------------------------------------------------------------

    def _key(self, shard: int, *parts: str) -> str:
        return self._layout.key(shard, *parts)

    def _tallies(self) -> dict[str, int]:
        pipe = self._client.pipeline(transaction=False)
        for shard in range(self._layout.shards):
            pipe.hgetall(self._key(shard, "tally"))
        totals: dict[str, int] = {}
        for tally in pipe.execute():
            for name, count in tally.items():
                totals[name.decode()] = totals.get(name.decode(), 0) + int(count)
        return totals


def _decided(change_of: ChangeOf, before: UserState, *, on_what_is_held: bool) -> Change | None:
    """The unit's decision; None when it needs the state the store holds and `before` is
    only the one this process remembers."""
    try:
        return change_of(before)
    except NeedsStoredState as needs:
        return needs.confirmed() if on_what_is_held else None


#: The codec's keys of what is no part of an event's identity (its `compare=False` fields):
#: the device's and the server's stamps, and the user's zone. A retry may differ in them.
_NOT_IDENTITY = ("s", "r", "tz", "uo")


def _token() -> str:
    return os.urandom(6).hex()


def _digest(value: Iterable[Any] | dict[str, Any]) -> str:
    canonical = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(canonical, digest_size=12).hexdigest()


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _ms_of(duration: timedelta) -> int:
    return max(int(duration.total_seconds() * 1000), 1)
