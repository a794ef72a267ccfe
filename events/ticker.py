"""The idle ticker: moves the event-time clock forward while no events arrive.

Event time stays the clock of the rules. While the stream is idle the ticker
sets it to: time of the latest event + wall time elapsed since it arrived -
a lateness allowance, and never past the server's own UTC time. A launch
followed by silence therefore gets its reminder about ten minutes later, while
a burst of old events posted quickly (a replay over HTTP) moves the clock by
only the seconds the burst took, so no reminder fires early. Only a serving
process starts the thread (see eventsproject.serving); tests drive `tick` with
a fake wall clock.
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

logger = logging.getLogger(__name__)


class IdleTicker:
    def __init__(
        self,
        advance: Callable[[datetime], object],
        *,
        period: float = 1.0,
        lateness: timedelta = timedelta(0),
        wall_clock: Callable[[], float] = time.monotonic,
        utc_now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._advance = advance
        self._period = period
        self._lateness = lateness
        self._wall_clock = wall_clock
        self._utc_now = utc_now
        self._lock = threading.Lock()
        self._latest_event: datetime | None = None
        self._arrived_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def saw_event(self, occurred_at: datetime) -> None:
        with self._lock:
            if self._latest_event is None or occurred_at >= self._latest_event:
                self._latest_event = occurred_at
                self._arrived_at = self._wall_clock()

    def tick(self) -> None:
        with self._lock:
            if self._latest_event is None:
                return
            idle = timedelta(seconds=self._wall_clock() - self._arrived_at)
            clock = self._latest_event + idle - self._lateness
        # Never past the server's own time: an event from a clock running ahead must
        # not drag every user's reminders forward.
        self._advance(min(clock, self._utc_now()))

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.alive:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True, name="idle-ticker")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._period + 1)

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            try:
                self.tick()
            except Exception:  # one bad tick must not stop the clock for good
                logger.exception("the idle ticker failed to advance the clock")
