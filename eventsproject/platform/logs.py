"""Log lines: the id of the request being served on every line, and the JSON format.

`LOG_FORMAT=json` writes one JSON object per line with every field a line
carries (`request_id`, `notification_id`, `event_ids`, `status`, ...), for log
pipelines; otherwise lines are plain text for people.
"""

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

#: The two line formats, for Django's LOGGING and gunicorn's logconfig_dict alike.
FORMATTERS = {
    "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    "json": {"()": "eventsproject.platform.logs.json_formatter"},
}

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_installed: list[bool] = []


@contextmanager
def request_id(value: str) -> Iterator[None]:
    """Lines logged in this context, in this thread, carry `request_id`."""
    token = _request_id.set(value)
    try:
        yield
    finally:
        _request_id.reset(token)


#: This process's id, for every log record: `logging` asks the kernel for it on each one, a
#: system call that cost 7% of a batch's CPU time on a virtual machine. Renewed by a fork.
_process_id = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _process_id.__setitem__(0, os.getpid()))


def _record_with_request_id(factory: Callable[..., logging.LogRecord]) -> Callable[..., Any]:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = _request_id.get()
        record.process = _process_id[0]
        return record

    return make


def install_request_ids() -> None:
    """Every log record gets `request_id`: the id of the request its thread serves, if any,
    and the process id without a system call."""
    if not _installed:
        _installed.append(True)
        logging.logProcesses = False
        logging.setLogRecordFactory(_record_with_request_id(logging.getLogRecordFactory()))


def json_formatter() -> logging.Formatter:
    """One JSON object per line (LOG_FORMAT=json): time, level, logger, message, and every
    field the line carries (request_id, notification_id, event_ids, status, ...)."""
    return JsonFormatter(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        timestamp=False,
    )


def not_a_store_outage(record: logging.LogRecord) -> bool:
    """Django logs each 5xx as an error; a 503 for a store out of reach is the store's
    outage, logged once (eventsproject.platform.redis.OUTAGE), and each one has its access line."""
    return getattr(record, "status_code", None) != 503
