"""HTTP benchmarks: the production command under load on loopback, beside a bare DRF view.

The server runs with the production defaults, as `make serve` does (INFO logs, throttles
on, notifications delivered), whatever the environment of the benchmark: nothing is
inherited but the paths. The load generator stands in for the load balancer in front
(a trusted proxy), and each user's requests come from that user's phone's address, so
the per-client throttle counts every phone apart, as it would in production.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from benchmarks import loadgen

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PRODUCTION_COMMAND = [sys.executable, "-m", "eventsproject.server"]
APART_COMMAND = [sys.executable, "manage.py", "run_workers"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def notify_standin(delay_seconds: float) -> Iterator[str]:
    """A `/v1/notify` answering `202` after `delay_seconds`, in a process of its own: the
    lean asyncio receiver, so that the two cores go to the server under test: the project's
    notify stand-in, a threaded `http.server` that parses and records every call, spent the
    CPU the server needed, on the service's runs only (the bare view notifies no one)."""
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.fast_receiver", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--delay", str(delay_seconds)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/v1/notify"
    finally:
        process.terminate()
        process.wait(timeout=30)


#: Production mode needs a token; the load generator sends this one.
BENCHMARK_TOKEN = "a-token-for-the-benchmarks-only"
#: What a benchmark server sets beyond the production defaults: its own key and token,
#: no .env file, and the load generator as the proxy in front.
SERVER_ENV = {
    "SECRET_KEY": "a-key-for-the-benchmarks-only-long-enough-for-django-s-own-bar",
    "EVENTS_API_TOKENS": BENCHMARK_TOKEN,
    "EVENTS_DOTENV": os.devnull,
    "EVENTS_TRUSTED_PROXIES": "127.0.0.1",
}
#: How every server row ran, for the report.
SERVER_SETTINGS = (
    "production defaults (INFO logs, throttles of 30/s and 200/s per client, notifications "
    "delivered by each web process); behind a trusted proxy, each phone from its own address; "
    "/v1/notify is benchmarks/fast_receiver.py (asyncio, answering 202)"
)


def _paths() -> dict[str, str]:
    """The benchmark's environment without its settings: only what finds programs."""
    return {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}


class Server(NamedTuple):
    port: int
    web: int  # the gunicorn arbiter's pid: its workers are its children
    apart: int | None  # `manage.py run_workers`, when the loops run apart from the web


@contextmanager
def production_server(
    notify_url: str,
    settings_module: str,
    extra_env: dict[str, str] | None = None,
    *,
    workers_apart: bool = False,
    command: list[str] = PRODUCTION_COMMAND,
) -> Iterator[Server]:
    """The documented production command on a free loopback port, with the production
    defaults. `extra_env` adds settings (EVENTS_STORE, WEB_CONCURRENCY, ...); with
    `workers_apart` the ticker and delivery run in `manage.py run_workers` (Redis);
    `command` replaces the production command (benchmarks/tail.py's traced one)."""
    port = free_port()
    env = {
        **_paths(),
        "DJANGO_SETTINGS_MODULE": settings_module,
        "NOTIFY_URL": notify_url,
        **SERVER_ENV,
        **(extra_env or {}),
        **({"EVENTS_WEB_RUNS_WORKERS": "false"} if workers_apart else {}),
    }
    web = [*command, "-b", f"127.0.0.1:{port}"]
    with ExitStack() as processes:
        server = processes.enter_context(_process(web, env))
        apart = processes.enter_context(_process(APART_COMMAND, env)) if workers_apart else None
        wait_for_port(port, server)
        yield Server(port, server.pid, apart.pid if apart else None)


@contextmanager
def _process(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=60)


def cpu_seconds(server: Server) -> float:
    """CPU time so far of the server's processes: the arbiter, its workers, run_workers."""
    pids = [server.web, *children(server.web), *([server.apart] if server.apart else [])]
    return sum(_cpu_of(pid) for pid in pids)


class MachineCpu(NamedTuple):
    """Seconds of CPU of every core together, from /proc/stat: what ran (user, nice, system,
    interrupts), what was idle (idle, iowait) and what the host took (steal)."""

    busy: float
    idle: float
    stolen: float

    def __sub__(self, earlier: "MachineCpu") -> "MachineCpu":
        return MachineCpu(*(now - then for now, then in zip(self, earlier, strict=True)))

    @property
    def share_idle(self) -> float:
        return self.idle / sum(self)

    @property
    def share_stolen(self) -> float:
        return self.stolen / sum(self)


def machine_cpu(stat: str | None = None) -> MachineCpu:
    """The machine's CPU so far; `stat` is the text of /proc/stat (read when not given)."""
    totals = (stat or Path("/proc/stat").read_text()).split("\n", 1)[0].split()[1:9]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(ticks) for ticks in totals)
    tick = os.sysconf("SC_CLK_TCK")
    return MachineCpu(
        (user + nice + system + irq + softirq) / tick, (idle + iowait) / tick, steal / tick
    )


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def load(
    port: int, path: str, bodies: list[bytes], connections: int, seconds: float
) -> loadgen.LoadResult:
    return loadgen.run(
        ("127.0.0.1", port),
        path,
        bodies,
        connections,
        seconds,
        loadgen.Sender(BENCHMARK_TOKEN, phones(bodies)),
    )


#: The latency percentiles every HTTP row reports: the tail is what users feel, and where
#: an app's retries start (issue 28).
PERCENTILES = {"p50_ms": 0.50, "p90_ms": 0.90, "p99_ms": 0.99, "p99_9_ms": 0.999}


def latencies(result: loadgen.LoadResult) -> dict[str, float]:
    """The result's latency percentiles, in milliseconds."""
    return {name: result.percentile(share) * 1000 for name, share in PERCENTILES.items()}


def phones(bodies: list[bytes]) -> list[str]:
    """Each body's sender: the address of its (first) event's user's phone."""
    return [_address_of(orjson.loads(body)) for body in bodies]


def _address_of(posted: dict[str, object] | list[dict[str, object]]) -> str:
    event = posted[0] if isinstance(posted, list) else posted
    number = zlib.crc32(str(event.get("user_id", "")).encode())
    return f"198.18.{number >> 8 & 0xFF}.{number & 0xFF}"  # the benchmarking range, RFC 2544


def wait_for_port(port: int, process: subprocess.Popen[Any], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited while starting")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port}")
