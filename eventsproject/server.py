"""The production command: gunicorn with `eventsproject.gunicorn`'s settings, started once
the service's settings are known to be good.

    python -m eventsproject.server [gunicorn options]      (make serve: -b HOST:PORT)

gunicorn reads `WEB_CONCURRENCY` itself as it is imported, and a value it cannot read
would end in its traceback; here a bad setting ends in the service's one line per
variable instead, before gunicorn is imported.
"""

import sys

from eventsproject.config import BadSettings
from eventsproject.startup import checked

APP = "eventsproject.wsgi"


def main(options: list[str]) -> None:
    try:
        checked()
    except BadSettings as bad:
        sys.exit(str(bad))
    from gunicorn.app.wsgiapp import run  # type: ignore[import-untyped]

    sys.argv = ["gunicorn", "-c", "python:eventsproject.gunicorn", *options, APP]
    run()


if __name__ == "__main__":
    main(sys.argv[1:])
