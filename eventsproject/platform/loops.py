"""Failures that repeat, logged once: an outage of a background loop or of a dependency.

`Outage` is told of each attempt: `succeeded()` or `failed(error)`. It logs once when
the failures start and once when an attempt succeeds again (how long, how many
failed), never once an attempt, and counts every failure in its Prometheus counter.

`LoopHealth` is the outage of a background loop (the reminder ticker, the dispatcher),
told of each pass, counted in `events_background_failures_total{loop}`. A loop that has
failed for longer than `tolerance` of its periods is `stuck`, which makes `/v1/health`
degraded: an orchestrator then takes the process out of service.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter

logger = logging.getLogger(__name__)

FAILURES = Counter("events_background_failures", "Failed passes of a background loop.", ["loop"])


class Outage:
    def __init__(
        self,
        name: str,
        failures: Any,
        *,
        traceback: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._failures = failures  # a Prometheus counter, or a counter's child
        self._traceback = traceback
        self._clock = clock
        self._lock = threading.Lock()
        self._failing_since: float | None = None
        self._failed = 0
        self._error = ""

    @property
    def failing(self) -> bool:
        return self._failing_since is not None

    def succeeded(self) -> None:
        if self._failing_since is None:  # the usual case, without the lock
            return
        with self._lock:
            if self._failing_since is None:
                return
            since, failed = self._failing_since, self._failed
            self._failing_since, self._failed, self._error = None, 0, ""
        logger.warning(
            "%s works again after %s failures in %.1f s", self.name, failed, self._clock() - since
        )

    def failed(self, error: BaseException) -> None:
        self._failures.inc()
        with self._lock:
            self._failed += 1
            self._error = str(error) or type(error).__name__
            if self._failing_since is not None:
                return
            self._failing_since = self._clock()
        logger.error(
            "%s failed: %s (logged once until it works again)",
            self.name,
            self._error,
            exc_info=error if self._traceback else None,
        )

    def state(self) -> tuple[float | None, str]:
        """Since when it fails (None: it does not) and its last error."""
        with self._lock:
            return self._failing_since, self._error


class LoopHealth(Outage):
    def __init__(
        self,
        name: str,
        period: float,
        *,
        tolerance: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name, FAILURES.labels(loop=name), clock=clock)
        self._allowed = period * tolerance
        self._last_success: float | None = None

    def succeeded(self) -> None:
        self._last_success = self._clock()
        super().succeeded()

    @property
    def stuck(self) -> bool:
        since, _ = self.state()
        return since is not None and self._clock() - since > self._allowed

    def report(self) -> dict[str, Any]:
        (since, error), now, last = self.state(), self._clock(), self._last_success
        report: dict[str, Any] = {
            "status": "ok" if since is None else "failing",
            "last_success_seconds_ago": None if last is None else round(now - last, 1),
        }
        if since is not None:
            report.update(failing_for_seconds=round(now - since, 1), error=error)
        return report
