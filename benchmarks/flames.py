"""Flame graphs of the hot paths, sampled with py-spy: `make flames` writes
benchmarks/flames/<path>.svg (open one in a browser; click to zoom).

Each HTTP graph samples the production command's worker while the benchmarks' load runs
against it, with the same production defaults as `make bench`; the replay graph samples
a process replaying the benchmarks' workload. Profile first, then cut what the graph
shows.

Usage: python -m benchmarks.flames [--seconds 10] [path ...]
"""

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventsproject.settings")

import django

django.setup()

from benchmarks import http_load, replay, run, stores  # noqa: E402

OUT = Path(__file__).resolve().parent / "flames"
PY_SPY = str(Path(sys.executable).with_name("py-spy"))  # installed by requirements-dev
RATE = "200"  # samples a second


class HttpPath(NamedTuple):
    env: dict[str, str]
    path: str
    bodies: Callable[[], list[bytes]]
    connections: int


HTTP_PATHS = {
    "http_event_memory": HttpPath({}, "/v1/event", lambda: run._bodies(200_000), 16),
    "http_event_redis": HttpPath(
        {"EVENTS_STORE": "redis"}, "/v1/event", lambda: run._bodies(200_000), 16
    ),
    "http_batches_memory": HttpPath({}, "/v1/events", lambda: run._batches(300_000), 4),
}
REPLAY = "replay_memory"
#: The argument that makes this module the replay that py-spy samples.
REPLAY_CHILD = "--replay-sampled"
EVERY_PATH = [*HTTP_PATHS, REPLAY]


def main() -> None:
    args = _arguments()
    OUT.mkdir(exist_ok=True)
    for name in args.paths or EVERY_PATH:
        print(f"flames: {name}", flush=True)
        if name == REPLAY:
            _replay_graph(OUT / f"{name}.svg")
        else:
            _http_graph(HTTP_PATHS[name], args.seconds, OUT / f"{name}.svg")


def _http_graph(setup: HttpPath, seconds: float, svg: Path) -> None:
    bodies = setup.bodies()
    with stores.redis_prefix() as (_, prefix):
        env = {**setup.env, "EVENTS_REDIS_PREFIX": prefix}
        with (
            http_load.notify_standin(0.001) as notify_url,
            http_load.production_server(notify_url, "eventsproject.settings", env) as server,
        ):
            http_load.load(server.port, setup.path, bodies[:2000], setup.connections, 2)
            [worker] = http_load.children(server.web)
            with _sampling(["--pid", str(worker), "--duration", str(int(seconds))], svg):
                http_load.load(server.port, setup.path, bodies, setup.connections, seconds)


def _replay_graph(svg: Path) -> None:
    command = [sys.executable, "-m", "benchmarks.flames", REPLAY_CHILD]
    with _sampling(["--", *command], svg):
        pass  # py-spy runs the replay itself, to its end


class _sampling:
    """py-spy sampling in the background; the graph is written when it stops."""

    def __init__(self, target: list[str], svg: Path) -> None:
        self.command = [PY_SPY, "record", "--rate", RATE, "--format", "flamegraph"]
        self.command += ["--output", str(svg), *target]

    def __enter__(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        time.sleep(0.5)  # attached before the load starts

    def __exit__(self, *exc: object) -> None:
        self.process.wait(timeout=600)


def _replay_only() -> None:
    lines = run._lines(100_000)
    replay.full_pipeline(lines)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="*", help=f"some of {', '.join(EVERY_PATH)} (default: all)")
    parser.add_argument("--seconds", type=float, default=10, help="of each HTTP load")
    args = parser.parse_args()
    unknown = set(args.paths) - set(EVERY_PATH)
    if unknown:
        parser.error(f"unknown paths: {', '.join(sorted(unknown))}")
    return args


if __name__ == "__main__":
    if sys.argv[1:] == [REPLAY_CHILD]:
        _replay_only()
    else:
        main()
