"""Replay throughput in process: the full pipeline beside two ceilings, in one run."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from django.test import override_settings

from events.management.commands.replay_events import CHUNK
from events.service.ingestion import ingest_many, parse, replaying
from eventsproject import bootstrap
from notifications.domain.notification import Notification


class CountingTransport:
    """The delivery backend of the benchmark: counts instead of calling HTTP."""

    def __init__(self) -> None:
        self.count = 0

    def send(self, notification: Notification) -> None:
        self.count += 1


@dataclass(frozen=True)
class Timing:
    events: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds


def fresh_state() -> tuple[bootstrap.Components, CountingTransport]:
    """Empty repository and outbox, as a new process would have, with the dispatcher on."""
    transport = CountingTransport()
    parts = bootstrap.build(transport=transport)
    bootstrap.install(parts)
    parts.dispatcher.start()
    return parts, transport


def timed(lines: list[bytes], per_line: Callable[[bytes], Any]) -> Timing:
    started = time.perf_counter()
    for line in lines:
        per_line(line)
    return Timing(len(lines), time.perf_counter() - started)


def json_only(lines: list[bytes]) -> Timing:
    return timed(lines, orjson.loads)


def parse_only(lines: list[bytes]) -> Timing:
    return timed(lines, lambda line: parse(orjson.loads(line)))


def replay_lines(lines: list[bytes]) -> None:
    """What `replay_events` does with its input: events ingested a chunk at a time, the
    cycle collector paused."""
    with replaying():
        for start in range(0, len(lines), CHUNK):
            ingest_many(
                bootstrap.components().processor,
                [orjson.loads(line) for line in lines[start : start + CHUNK]],
            )


def full_pipeline(lines: list[bytes], **overrides: Any) -> tuple[Timing, int]:
    """Parse, record, signal, rules and outbox delivery; timed until the outbox is empty.
    `overrides` are settings, for the whole replay (the parts are built from them)."""
    with override_settings(**overrides):
        parts, transport = fresh_state()
        started = time.perf_counter()
        replay_lines(lines)
        parts.dispatcher.flush()
        elapsed = time.perf_counter() - started
        parts.dispatcher.close(timeout=0)
    return Timing(len(lines), elapsed), transport.count
