"""The production command with a diagnostic of its worker's tail: what ran while a
request waited. benchmarks/tail.py starts it in place of `python -m eventsproject.server`:

    python -m benchmarks.tail_trace DIRECTORY [gunicorn options]

It costs a Python call at every switch between greenlets. Each worker writes
`DIRECTORY/<pid>.json` when it exits, every time from time.perf_counter():

- `slices`: who ran between two switches (the hub, a connection's greenlet — gevent names
  them `Dummy-N` once they log — or a background thread by its name), for how long, and
  the CPU time of the process's thread meanwhile (less than the slice: the kernel ran
  something else, such as the load generator);
- `collections`: each garbage collection's start, duration, generation, objects freed and
  CPU time;
- `requests`: each request as gunicorn handled it (from its head read to the worker taking
  it up again after the answer), and its greenlet;
- `logs`: each log record handled, its start and duration;
- `yields`: where a request gave up the worker while it was being handled, by stack.

benchmarks/tail.py reads them: benchmarks/analysis.md, issue 28, target 1.
"""

import atexit
import gc
import json
import logging
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

import greenlet  # type: ignore[import-untyped]

clock = time.perf_counter


class Trace:
    def __init__(self, directory: str) -> None:
        self.path = Path(directory) / f"{os.getpid()}.json"
        self.slices: list[tuple[float, float, str, int, float]] = []
        self.collections: list[tuple[float, float, int, int, float]] = []
        self.requests: list[tuple[float, float, int]] = []
        self.logs: list[tuple[float, float]] = []
        self.yields: Counter[str] = Counter()
        self.in_request: set[int] = set()
        self._last, self._last_cpu = clock(), time.thread_time()
        self._collecting = (0.0, 0.0)
        self._kinds: dict[int, str] = {}

    def kind(self, runner: Any) -> str:
        known = self._kinds.get(id(runner))
        if known is not None:
            return known
        thread = threading._active.get(id(runner))  # type: ignore[attr-defined]
        if type(runner).__name__ == "Hub":
            name = "hub"
        elif thread is not None and thread.name != "MainThread":
            name = thread.name.rstrip("0123456789_")
        elif getattr(runner, "parent", None) is None:
            name = "main"
        else:
            return "conn"  # not kept: gevent registers a thread at its first log line
        self._kinds[id(runner)] = name
        return name

    def switched(self, event: str, args: Any) -> None:
        now, cpu = clock(), time.thread_time()
        origin = args[0]
        if id(origin) in self.in_request:
            self.yields[_stack(origin.gr_frame or sys._getframe(1))] += 1
        ran = (self._last, now - self._last, self.kind(origin), id(origin), cpu - self._last_cpu)
        self.slices.append(ran)
        self._last, self._last_cpu = now, cpu

    def collected(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._collecting = (clock(), time.thread_time())
            return
        started, cpu = self._collecting
        elapsed = (clock() - started, info["generation"], info["collected"])
        self.collections.append((started, *elapsed, time.thread_time() - cpu))

    def dump(self) -> None:
        figures = {
            "slices": self.slices,
            "collections": self.collections,
            "requests": self.requests,
            "logs": self.logs,
            "yields": self.yields.most_common(40),
            "frozen": gc.get_freeze_count(),
            "tracked": Counter(type(each).__name__ for each in gc.get_objects()).most_common(25),
        }
        self.path.write_text(json.dumps(figures))


def install(worker: Any, directory: str) -> Trace:
    trace = Trace(directory)
    greenlet.settrace(trace.switched)
    gc.callbacks.append(trace.collected)
    worker.handle_request = _timed(worker.handle_request, trace)
    handle = logging.Handler.handle

    def timed_handle(self: logging.Handler, record: logging.LogRecord) -> Any:
        started = clock()
        try:
            return handle(self, record)
        finally:
            trace.logs.append((started, clock() - started))

    logging.Handler.handle = timed_handle  # type: ignore[method-assign]
    atexit.register(trace.dump)
    return trace


def _timed(handle_request: Any, trace: Trace) -> Any:
    def timed(*args: Any) -> Any:
        started, me = clock(), id(greenlet.getcurrent())
        trace.in_request.add(me)
        try:
            return handle_request(*args)
        finally:
            trace.in_request.discard(me)
            trace.requests.append((started, clock() - started, me))

    return timed


def _stack(frame: FrameType | None, depth: int = 14) -> str:
    names: list[str] = []
    while frame is not None and len(names) < depth:
        code = frame.f_code
        names.append(f"{Path(code.co_filename).name}:{code.co_name}:{frame.f_lineno}")
        frame = frame.f_back
    return " < ".join(names)


def main(directory: str, options: list[str]) -> None:
    """The production command, its gunicorn settings' post_worker_init followed by the
    trace's installation (gunicorn reads its settings from the module imported here)."""
    from eventsproject import gunicorn as production_settings
    from eventsproject import server

    after_init = production_settings.post_worker_init

    def post_worker_init(worker: Any) -> None:
        after_init(worker)
        install(worker, directory)

    production_settings.post_worker_init = post_worker_init
    server.main(options)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
