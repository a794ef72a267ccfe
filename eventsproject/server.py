"""The production command: gunicorn with `eventsproject.gunicorn`'s settings, started once
the service's settings are known to be good.

    python -m eventsproject.server [gunicorn options]      (make serve: -b HOST:PORT)

gunicorn reads `WEB_CONCURRENCY` itself as it is imported, and a value it cannot read
would end in its traceback; here a bad setting ends in the service's one line per
variable instead, before gunicorn is imported. Each start gets a fresh directory for the
workers' metrics (prometheus-client's multiprocess mode: eventsproject/metrics.py).
"""

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from eventsproject.config import BadSettings, share_metrics_in
from eventsproject.startup import checked

APP = "eventsproject.wsgi"


def main(options: list[str]) -> None:
    with metrics_directory():
        try:
            checked()
        except BadSettings as bad:
            sys.exit(str(bad))
        from gunicorn.app.wsgiapp import run  # type: ignore[import-untyped]

        sys.argv = ["gunicorn", "-c", "python:eventsproject.gunicorn", *options, APP]
        run()


@contextmanager
def metrics_directory() -> Iterator[str]:
    """A fresh directory of this server's own (mode 0700, under TMPDIR) where each worker
    writes its metrics, so that a scrape sums every worker's; removed when the server
    exits. Set before anything imports prometheus-client, which the workers inherit."""
    directory = tempfile.mkdtemp(prefix="events-metrics-")
    share_metrics_in(directory)
    master = os.getpid()
    try:
        yield directory
    finally:
        # A worker is a fork of the master and leaves through here too: only the master
        # removes the directory, once every worker is gone.
        if os.getpid() == master:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
