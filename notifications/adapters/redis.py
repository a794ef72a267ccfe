"""The outbox store on Redis: shared by every process, kept across restarts.

Per shard (eventsproject.platform.redis.Layout): a hash per notification (`note:<id>`,
its payload and delivery state), a stream of notifications to deliver
(`outbox`, read by the consumer group `dispatch`), a sorted set of retries by
due time (`retry`), an index by creation (`notes`), the sent ones by time
(`sent`, trimmed to the history limit), the counts by status (`ncounts`) and the
pending ones by the time they fell due (`undelivered`: the oldest one's age is a metric).

Claiming reads the stream with `XREADGROUP`; an entry a dead process claimed
is taken over with `XAUTOCLAIM` once its lease has run out. Every change of an
entry is one script, so the entry, the stream and the counts agree.
Notifications are appended by the event repository in the same script as the
state that caused them (`APPEND_NOTES`), or by `append`.
"""

import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import redis
from redis.cluster import RedisCluster

from eventsproject.platform.redis import (
    Client,
    Layout,
    Pipelines,
    report_lost_data,
    unavailable_as_store_error,
)
from notifications.domain.notification import Notification, notification_from_payload, utc_now
from notifications.ports import DeliveryStatus, NotResendable, OutboxEntry, UnknownNotification

GROUP = "dispatch"

#: Lua: append the notifications described from ARGV[first] on (count, then id, payload,
#: now in ms and as text, and deliver_after in ms or 0, for each), their hashes being
#: KEYS[first_key..]; the shard's stream, notes index, counts and undelivered index are
#: KEYS[stream] to KEYS[stream+3] (`RedisOutboxStore.keys`).
APPEND_NOTES = """
local function append_notes(first_key, stream, first)
  local count = tonumber(ARGV[first])
  for j = 0, count - 1 do
    local key = KEYS[first_key + j]
    local at = first + 1 + j * 5
    local nid, payload, now_ms, now = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
    local after_ms = tonumber(ARGV[at + 4])
    if redis.call('EXISTS', key) == 0 then
      redis.call('HSET', key, 'n', payload, 's', 'pending', 'a', 0, 'e', '', 'c', now,
        'u', now, 'x', now, 'rs', now, 'ra', 0, 'da', after_ms)
      redis.call('ZADD', KEYS[stream + 1], now_ms, nid)
      redis.call('ZADD', KEYS[stream + 3], math.max(tonumber(now_ms), after_ms), nid)
      redis.call('XADD', KEYS[stream], '*', 'id', nid)
      redis.call('HINCRBY', KEYS[stream + 2], 'pending', 1)
    end
  end
end
"""

_APPEND = (
    APPEND_NOTES
    + """
append_notes(5, 1, 1)
return 1
"""
)

#: KEYS: note, stream, ncounts, retry, sent, notes, undelivered.
#: ARGV: message id, status, attempted (0/1), error, now, next attempt ('' for none),
#: next attempt in ms, now in ms, id, history limit, note key prefix.
_SETTLE = """
local previous = redis.call('HGET', KEYS[1], 's')
if not previous then return false end
local status = ARGV[2]
if previous == 'sent' and status == 'sent' then  -- again: its reply was lost
  return redis.call('HGETALL', KEYS[1])
end
redis.call('HINCRBY', KEYS[1], 'a', ARGV[3])
redis.call('HSET', KEYS[1], 's', status, 'e', ARGV[4], 'u', ARGV[5], 'x', ARGV[6])
if ARGV[1] ~= '' then
  redis.call('XACK', KEYS[2], 'dispatch', ARGV[1])
  redis.call('XDEL', KEYS[2], ARGV[1])
end
if previous ~= status then
  redis.call('HINCRBY', KEYS[3], previous, -1)
  redis.call('HINCRBY', KEYS[3], status, 1)
end
local entry = redis.call('HGETALL', KEYS[1])
if status ~= 'pending' then redis.call('ZREM', KEYS[7], ARGV[9]) end
if status == 'pending' then
  redis.call('ZADD', KEYS[4], ARGV[7], ARGV[9])
elseif status == 'sent' then
  redis.call('ZADD', KEYS[5], ARGV[8], ARGV[9])
  local over = redis.call('ZCARD', KEYS[5]) - tonumber(ARGV[10])
  if over > 0 then
    local popped = redis.call('ZPOPMIN', KEYS[5], over)
    for i = 1, #popped, 2 do
      redis.call('DEL', ARGV[11] .. popped[i])
      redis.call('ZREM', KEYS[6], popped[i])
    end
  end
end
return entry
"""

#: KEYS: note, stream, ncounts, undelivered. ARGV: now, id, now in ms.
_RESEND = """
local status = redis.call('HGET', KEYS[1], 's')
if not status then return 'unknown' end
if status ~= 'failed' then return status end
local attempts = redis.call('HGET', KEYS[1], 'a')
redis.call('HSET', KEYS[1], 's', 'pending', 'u', ARGV[1], 'x', ARGV[1], 'rs', ARGV[1],
  'ra', attempts)
local after_ms = tonumber(redis.call('HGET', KEYS[1], 'da')) or 0
redis.call('ZADD', KEYS[4], math.max(tonumber(ARGV[3]), after_ms), ARGV[2])
redis.call('HINCRBY', KEYS[3], 'failed', -1)
redis.call('HINCRBY', KEYS[3], 'pending', 1)
redis.call('XADD', KEYS[2], '*', 'id', ARGV[2])
return 'resent'
"""

#: KEYS: retry, stream, marker. ARGV: now in ms, limit, mode. Moves the due retries to the
#: stream. The marker is written when a process first claims (mode `start`, which also
#: creates the consumer group); found missing later, Redis lost the shard's data: the
#: script writes it and creates the group again, and answers 1 as its second value. Mode
#: `repair` creates the group whatever the marker says.
_PROMOTE = """
local lost = 0
local marked = redis.call('EXISTS', KEYS[3]) == 1
if not marked then
  redis.call('SET', KEYS[3], ARGV[1])
  if ARGV[3] ~= 'start' then lost = 1 end
end
if not marked or ARGV[3] ~= 'check' then
  redis.pcall('XGROUP', 'CREATE', KEYS[2], 'dispatch', '0', 'MKSTREAM')  -- BUSYGROUP: there
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, nid in ipairs(due) do
  redis.call('ZREM', KEYS[1], nid)
  redis.call('XADD', KEYS[2], '*', 'id', nid)
end
return {#due, lost}
"""


@unavailable_as_store_error
class RedisOutboxStore:
    """Thread-safe (redis-py's pool); `claim_due` is safe across processes."""

    durable = True
    poll = 0.2  # seconds between looks for what other processes appended

    def __init__(
        self,
        client: Client,
        layout: Layout,
        *,
        history_limit: int = 1000,
        lease: timedelta = timedelta(seconds=60),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._client: Any = client  # redis-py's annotations mix in its asyncio client's
        self._layout = layout
        self._history_limit = history_limit  # per shard
        self._lease_ms = int(lease.total_seconds() * 1000)
        self._clock = clock
        self._consumer = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._claimed: dict[str, tuple[int, bytes]] = {}  # id -> (shard, stream message id)
        self._claimed_lock = threading.Lock()
        self._woken = threading.Event()
        self._reclaimed_at = 0.0
        self._promoted_at = datetime.min.replace(tzinfo=UTC)
        self._append = client.register_script(_APPEND)
        self._settle = client.register_script(_SETTLE)
        self._resend = client.register_script(_RESEND)
        self._promote = client.register_script(_PROMOTE)
        self._groups_ready = False
        self._clustered = isinstance(client, RedisCluster)
        self._streams = [self.keys(shard)[0] for shard in range(layout.shards)]
        self._shard_of_stream = {
            stream.encode(): shard for shard, stream in enumerate(self._streams)
        }

    # --- keys -------------------------------------------------------------------

    def keys(self, shard: int) -> list[str]:
        """The stream, notes index, counts and undelivered index of a shard, in
        `APPEND_NOTES`'s order."""
        key = self._layout.key
        return [
            key(shard, "outbox"),
            key(shard, "notes"),
            key(shard, "ncounts"),
            key(shard, "undelivered"),
        ]

    def note_key(self, shard: int, notification_id: str) -> str:
        return self._layout.key(shard, "note", notification_id)

    def append_args(self, notifications: Sequence[Notification]) -> list[Any]:
        """`APPEND_NOTES`'s arguments for these notifications."""
        now = self._clock()
        now_ms, stamp = _ms(now), now.isoformat()
        args: list[Any] = [len(notifications)]
        for notification in notifications:
            payload = orjson.dumps(notification.as_payload())
            after = notification.deliver_after
            after_ms = 0 if after is None else _ms(after)
            args += [notification.notification_id, payload, now_ms, stamp, after_ms]
        return args

    # --- the port -----------------------------------------------------------------

    def append(self, notifications: Sequence[Notification]) -> None:
        by_shard: dict[int, list[Notification]] = {}
        for notification in notifications:
            shard = self._layout.shard_of(notification.user_id)
            by_shard.setdefault(shard, []).append(notification)
        for shard, batch in by_shard.items():
            note_keys = [self.note_key(shard, n.notification_id) for n in batch]
            self._append(keys=[*self.keys(shard), *note_keys], args=self.append_args(batch))
        if notifications:
            self.wake()

    def claim_due(self, now: datetime, limit: int) -> list[OutboxEntry]:
        if not self._groups_ready:
            self._promote_retries(now, limit, mode="start")
            self._groups_ready = True
        self._promote_retries(now, limit)
        try:
            messages = self._read_new(limit)
        except redis.ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            self._promote_retries(now, limit, mode="repair")
            messages = self._read_new(limit)
        if len(messages) < limit and self._reclaim_due():
            messages += self._take_over(limit - len(messages))
        return self._entries_of(messages)

    def acknowledge(self, notification_ids: Sequence[str]) -> list[OutboxEntry]:
        """One pipeline of settle scripts; a script that failed there (not loaded on that
        node yet, a connection lost) runs again on its own, through the client."""
        settles = [self._settle_of(nid, _Settling(DeliveryStatus.SENT)) for nid in notification_ids]
        queued = [settle for settle in settles if settle is not None]
        pipelines = Pipelines(self._client)
        for keys, args in queued:
            pipelines.queue(keys[0], "evalsha", self._settle.sha, len(keys), *keys, *args)
        answers = [
            self._settle(keys=keys, args=args) if isinstance(answer, Exception) else answer
            for (keys, args), answer in zip(queued, pipelines.execute(), strict=True)
        ]
        return [_entry_of_settled(fields) for fields in answers if fields]

    def retry_later(
        self, notification_id: str, at: datetime, error: str, *, attempted: bool = True
    ) -> OutboxEntry:
        return self._settled(
            notification_id, _Settling(DeliveryStatus.PENDING, error, attempted, at)
        )

    def dead_letter(
        self, notification_id: str, error: str, *, attempted: bool = True
    ) -> OutboxEntry:
        return self._settled(notification_id, _Settling(DeliveryStatus.FAILED, error, attempted))

    def resend(self, notification_id: str) -> OutboxEntry:
        shard = self._shard_holding(notification_id)
        if shard is None:
            raise UnknownNotification(notification_id)
        stream, _, counts, undelivered = self.keys(shard)
        now = self._clock()
        outcome = self._resend(
            keys=[self.note_key(shard, notification_id), stream, counts, undelivered],
            args=[now.isoformat(), notification_id, _ms(now)],
        ).decode()
        if outcome == "unknown":
            raise UnknownNotification(notification_id)
        if outcome != "resent":
            raise NotResendable(f"only failed notifications are re-sent; this one is {outcome}")
        self.wake()
        entry = self.get(notification_id)
        assert entry is not None, "just re-sent"
        return entry

    def get(self, notification_id: str) -> OutboxEntry | None:
        shard = self._shard_holding(notification_id)
        if shard is None:
            return None
        fields = self._client.hgetall(self.note_key(shard, notification_id))
        return _entry(fields) if fields else None

    def statuses(self, notifications: Sequence[tuple[str, str]]) -> list[DeliveryStatus | None]:
        pipe = self._client.pipeline(transaction=False)
        for user_id, notification_id in notifications:
            pipe.hget(self.note_key(self._layout.shard_of(user_id), notification_id), "s")
        return [None if raw is None else DeliveryStatus(raw.decode()) for raw in pipe.execute()]

    def entries(self, status: DeliveryStatus | None = None) -> list[OutboxEntry]:
        found = []
        for shard in range(self._layout.shards):
            ids = self._client.zrevrange(self.keys(shard)[1], 0, -1)
            pipe = self._client.pipeline(transaction=False)
            for notification_id in ids:
                pipe.hgetall(self.note_key(shard, notification_id.decode()))
            found += [_entry(fields) for fields in pipe.execute() if fields]
        found.sort(key=lambda entry: entry.created_at, reverse=True)
        return [entry for entry in found if status is None or entry.status is status]

    def counts(self) -> dict[str, int]:
        pipe = self._client.pipeline(transaction=False)
        for shard in range(self._layout.shards):
            pipe.hgetall(self.keys(shard)[2])
        totals = dict.fromkeys((status.value for status in DeliveryStatus), 0)
        for counts in pipe.execute():
            for status in totals:
                totals[status] += int(counts.get(status.encode(), 0))
        return totals

    def oldest_pending_since(self, now: datetime) -> datetime | None:
        pipe = self._client.pipeline(transaction=False)
        for shard in range(self._layout.shards):
            pipe.zrange(self.keys(shard)[3], 0, 0, withscores=True)
        oldest = min((score for found in pipe.execute() for _, score in found), default=None)
        if oldest is None or oldest > _ms(now):
            return None
        return datetime.fromtimestamp(oldest / 1000, UTC)

    def wait(self, timeout: float) -> None:
        """Until this process appends, or a poll's time: other processes append too."""
        self._woken.wait(min(timeout, self.poll))
        self._woken.clear()

    def wake(self) -> None:
        self._woken.set()

    # --- claiming -----------------------------------------------------------------

    def _promote_retries(self, now: datetime, limit: int, mode: str = "check") -> None:
        """Due retries back to their streams, and the shards' markers checked: a script
        per shard, at most every `poll` seconds (of the claims' clock) unless another
        `mode` than `check` asks for it now, since a retry waits seconds anyway."""
        if mode == "check" and 0 <= (now - self._promoted_at).total_seconds() < self.poll:
            return
        self._promoted_at = now
        lost = []
        for shard in range(self._layout.shards):
            retry, stream = self._layout.key(shard, "retry"), self.keys(shard)[0]
            marker = self._layout.key(shard, "marker")
            _, shard_lost = self._promote(
                keys=[retry, stream, marker], args=[_ms(now), limit, mode]
            )
            if shard_lost:
                lost.append(shard)
        if lost:
            report_lost_data(lost, self._layout.shards)

    def _read_new(self, limit: int) -> list[tuple[int, bytes, bytes]]:
        """New messages of every shard's stream, up to `limit` each, in one round trip: one
        command on a single Redis, one per shard (pipelined) on a cluster, where a command's
        keys must share a slot."""
        if self._clustered:
            pipe = self._client.pipeline(transaction=False)
            for stream in self._streams:
                pipe.xreadgroup(GROUP, self._consumer, {stream: ">"}, count=limit)
            answers = [stream for answer in pipe.execute() for stream in answer or ()]
        else:
            answers = self._client.xreadgroup(
                GROUP, self._consumer, dict.fromkeys(self._streams, ">"), count=limit
            )
        messages: list[tuple[int, bytes, bytes]] = []
        for stream, batch in answers or ():
            shard = self._shard_of_stream[stream]
            messages += [(shard, message_id, fields[b"id"]) for message_id, fields in batch]
        return messages

    def _reclaim_due(self) -> bool:
        """A tenth of a lease after the last look: what a dead process claimed is taken
        over at most that long after its lease ran out, busy or not."""
        now = self._clock().timestamp()
        if now - self._reclaimed_at < self._lease_ms / 10_000:
            return False
        self._reclaimed_at = now
        return True

    def _take_over(self, limit: int) -> list[tuple[int, bytes, bytes]]:
        """What consumers that died (or hung) past the lease had claimed. What this process
        holds itself (waiting for a sender, or being sent) comes back too, its lease renewed
        by the claim: it is not handed out again."""
        messages: list[tuple[int, bytes, bytes]] = []
        for shard in range(self._layout.shards):
            if limit - len(messages) <= 0:
                break
            _, claimed, *_ = self._client.xautoclaim(
                self.keys(shard)[0],
                GROUP,
                self._consumer,
                min_idle_time=self._lease_ms,
                start_id="0-0",
                count=limit - len(messages),
            )
            messages += [
                (shard, message_id, fields[b"id"])
                for message_id, fields in claimed
                if not self._holds(shard, message_id, fields[b"id"])
            ]
        return messages

    def _holds(self, shard: int, message_id: bytes, notification_id: bytes) -> bool:
        with self._claimed_lock:
            return self._claimed.get(notification_id.decode()) == (shard, message_id)

    def _entries_of(self, messages: list[tuple[int, bytes, bytes]]) -> list[OutboxEntry]:
        pipe = self._client.pipeline(transaction=False)
        for shard, _, notification_id in messages:
            pipe.hgetall(self.note_key(shard, notification_id.decode()))
        claimed = []
        for (shard, message_id, notification_id), fields in zip(
            messages, pipe.execute(), strict=True
        ):
            entry = _entry(fields) if fields else None
            if entry is None or entry.status is not DeliveryStatus.PENDING:
                self._drop(shard, message_id)  # delivered or given up on meanwhile
                continue
            with self._claimed_lock:
                self._claimed[notification_id.decode()] = (shard, message_id)
            entry.next_attempt_at = None
            claimed.append(entry)
        return claimed

    def _drop(self, shard: int, message_id: bytes) -> None:
        stream = self.keys(shard)[0]
        pipe = self._client.pipeline(transaction=False)
        pipe.xack(stream, GROUP, message_id)
        pipe.xdel(stream, message_id)
        pipe.execute()

    # --- settling -----------------------------------------------------------------

    def _settled(self, notification_id: str, settling: "_Settling") -> OutboxEntry:
        settle = self._settle_of(notification_id, settling)
        fields = None if settle is None else self._settle(keys=settle[0], args=settle[1])
        if not fields:
            raise UnknownNotification(notification_id)
        if settling.status is DeliveryStatus.PENDING:
            self.wake()
        return _entry_of_settled(fields)

    def _settle_of(
        self, notification_id: str, settling: "_Settling"
    ) -> tuple[list[str], list[Any]] | None:
        """The settle script's keys and arguments; None for a notification not held."""
        with self._claimed_lock:
            shard, message_id = self._claimed.pop(notification_id, (None, b""))
        if shard is None:
            shard = self._shard_holding(notification_id)
        if shard is None:
            return None
        now = self._clock()
        stream, notes, counts, undelivered = self.keys(shard)
        keys = [
            self.note_key(shard, notification_id),
            stream,
            counts,
            self._layout.key(shard, "retry"),
            self._layout.key(shard, "sent"),
            notes,
            undelivered,
        ]
        at = settling.at
        args = [
            message_id,
            settling.status.value,
            int(settling.attempted),
            settling.error,
            now.isoformat(),
            "" if at is None else at.isoformat(),
            _ms(at or now),
            _ms(now),
            notification_id,
            self._history_limit,
            self.note_key(shard, ""),
        ]
        return keys, args

    def _shard_holding(self, notification_id: str) -> int | None:
        pipe = self._client.pipeline(transaction=False)
        for shard in range(self._layout.shards):
            pipe.exists(self.note_key(shard, notification_id))
        found = [shard for shard, exists in enumerate(pipe.execute()) if exists]
        return found[0] if found else None


@dataclass(frozen=True, slots=True)
class _Settling:
    """How an attempt settles a notification: its new status, error and next attempt."""

    status: DeliveryStatus
    error: str = ""
    attempted: bool = True
    at: datetime | None = None


def _entry_of_settled(fields: list[bytes]) -> OutboxEntry:
    """The entry from the settle script's answer, its fields and values in turn."""
    return _entry(dict(zip(fields[::2], fields[1::2], strict=True)))


def _entry(fields: dict[bytes, bytes]) -> OutboxEntry:
    def time(name: bytes) -> datetime | None:
        value = fields.get(name, b"")
        return datetime.fromisoformat(value.decode()) if value else None

    created, updated, round_start = time(b"c"), time(b"u"), time(b"rs")
    assert created is not None, "every entry has its times"
    assert updated is not None, "every entry has its times"
    assert round_start is not None, "every entry has its times"
    return OutboxEntry(
        notification=notification_from_payload(orjson.loads(fields[b"n"])),
        created_at=created,
        updated_at=updated,
        status=DeliveryStatus(fields[b"s"].decode()),
        attempts=int(fields[b"a"]),
        last_error=fields[b"e"].decode(),
        next_attempt_at=time(b"x"),
        round=(round_start, int(fields[b"ra"])),
    )


def _ms(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)
