"""The reminder ticker: silence is measured by the server's wall clock.

A pending reminder whose user sends nothing more is due at its `due_at`: the
launch's arrival (receive time less the wait on the device) plus the reminder
delay plus the allowed lateness. Every `period` seconds the ticker asks the
service to send the reminders due by the server's clock. Only a serving process
starts the thread (see eventsproject.serving); tests call `tick` with a fake
clock.
"""

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from eventsproject.platform.loops import LoopHealth

logger = logging.getLogger(__name__)


class ReminderTicker:
    def __init__(
        self,
        send_due: Callable[[datetime], object],
        *,
        period: float = 1.0,
        utc_now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._send_due = send_due
        self._period = period
        self._utc_now = utc_now
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.health = LoopHealth("the reminder ticker", period)

    def tick(self) -> None:
        self._send_due(self._utc_now())

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.alive:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True, name="reminder-ticker")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._period + 1)

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            try:
                self.tick()
            except Exception as error:  # one bad tick must not stop the reminders for good
                self.health.failed(error)
            else:
                self.health.succeeded()
