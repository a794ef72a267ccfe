"""Where the slow requests' time went: one traced run of the production command under the
HTTP rows' load (16 connections, single events), each request binned by its latency.

Usage: python -m benchmarks.tail [--seconds 10] [--store memory|redis] [--workers 1]

The server records what its worker ran (benchmarks/tail_trace.py); this prints,
for the requests of each latency bin, how long they took as the worker handled them, the
CPU their own greenlet spent, the collections that ran meanwhile and what else ran; then
where requests gave up the worker, the collections by generation, the slices by who ran,
and the load generator's percentiles. The summary goes to benchmarks/flames/tail-*.txt.
"""

import argparse
import bisect
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventsproject.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.conf import settings  # noqa: E402

from benchmarks import http_load, stores  # noqa: E402
from benchmarks.run import _bodies  # noqa: E402

HERE = Path(__file__).resolve().parent
TRACED = [sys.executable, "-m", "benchmarks.tail_trace"]
TIMES = ("took", "own", "collecting", "logging")
BINS = ((0.0, 0.5), (0.5, 0.9), (0.9, 0.99), (0.99, 0.999), (0.999, 1.0))
Trace = dict[str, Any]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--store", default="memory")
    parser.add_argument("--workers", default="1")
    args = parser.parse_args()
    env = {"EVENTS_STORE": args.store, "WEB_CONCURRENCY": args.workers}
    with stores.redis_prefix() as (_, prefix):  # its keys deleted afterwards
        lines = traced_run(
            args.seconds, {**env, "EVENTS_REDIS_PREFIX": prefix, "REDIS_URL": settings.REDIS_URL}
        )
    out = HERE / "flames" / f"tail-{args.store}-{args.workers}.txt"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def traced_run(seconds: float, env: dict[str, str]) -> list[str]:
    with tempfile.TemporaryDirectory() as directory:
        with (
            http_load.notify_standin(0.001) as notify_url,
            http_load.production_server(
                notify_url, "eventsproject.settings", env, command=[*TRACED, directory]
            ) as server,
        ):
            http_load.load(server.port, "/v1/event", _bodies(2000, seed=2), 8, 2)
            result = http_load.load(server.port, "/v1/event", _bodies(200_000, seed=3), 16, seconds)
        traces = [json.loads(path.read_text()) for path in Path(directory).glob("*.json")]
    figures = http_load.latencies(result)
    lines = [
        f"{env['EVENTS_STORE']} store, {env['WEB_CONCURRENCY']} worker(s), 16 connections: "
        f"{result.per_second:,.0f} requests/s, "
        + ", ".join(f"{name[:-3]} {value:.1f} ms" for name, value in figures.items())
    ]
    for trace in traces:
        lines += ["", *worker_summary(trace)]
    return lines


def worker_summary(trace: Trace) -> list[str]:
    start = min(started for started, _, _ in trace["requests"])
    end = max(started + took for started, took, _ in trace["requests"])
    return [
        f"worker: {len(trace['requests']):,} requests in {end - start:.1f} s, "
        f"{trace['frozen']:,} objects frozen",
        *by_latency(trace),
        "",
        "where a request gave up the worker while handled (times, innermost frames):",
        *(f"  {times:,} {stack[:160]}" for stack, times in trace["yields"][:6]),
        "",
        *collections(trace, start, end),
        _logging(trace, start, end),
        "",
        *slices(trace, start, end),
    ]


def by_latency(trace: Trace) -> list[str]:
    """The requests binned by how long the worker took with them (p0-p50, ..., p99.9-max)."""
    rows = sorted(_request_rows(trace), key=lambda row: row["took"])
    lines = ["requests by latency bin: ms each, mean (own CPU: the request's greenlet)"]
    for low, high in BINS:
        part = rows[int(low * len(rows)) : int(high * len(rows))] or rows[-1:]
        others: Counter[str] = Counter()
        for row in part:
            others.update(row["others"])
        mean = {name: sum(row[name] for row in part) / len(part) * 1000 for name in TIMES}
        ran = ", ".join(f"{kind} {took / len(part) * 1000:.2f}" for kind, took in others.items())
        lines.append(
            f"  p{low * 100:g}-p{high * 100:g}: took {mean['took']:.2f}, own {mean['own']:.2f}, "
            f"collections {mean['collecting']:.2f}, logging {mean['logging']:.2f}; others: {ran}"
        )
    return lines


def _request_rows(trace: Trace) -> list[dict[str, Any]]:
    slices, collected, logs = trace["slices"], trace["collections"], trace["logs"]
    slice_starts = [each[0] for each in slices]
    rows = []
    for started, took, runner in trace["requests"]:
        ended, own, others = started + took, 0.0, Counter[str]()
        index = max(bisect.bisect_right(slice_starts, started) - 1, 0)
        while index < len(slices) and slices[index][0] < ended:
            begun, length, kind, who, _ = slices[index]
            overlap = min(begun + length, ended) - max(begun, started)
            if overlap > 0:
                if who == runner:
                    own += overlap
                else:
                    others[kind] += overlap
            index += 1
        rows.append(
            {
                "took": took,
                "own": own,
                "collecting": _within(collected, started, ended),
                "logging": _within(logs, started, ended),
                "others": others,
            }
        )
    return rows


def _within(spans: list[list[float]], started: float, ended: float) -> float:
    return sum(span[1] for span in spans if started <= span[0] < ended)


def collections(trace: Trace, start: float, end: float) -> list[str]:
    lines = ["collections during the load, by generation:"]
    for generation in (0, 1, 2):
        took = sorted(
            each[1]
            for each in trace["collections"]
            if each[2] == generation and start <= each[0] <= end
        )
        if took:
            lines.append(
                f"  gen{generation}: {len(took)}, {sum(took) * 1000:.0f} ms in all, median "
                f"{took[len(took) // 2] * 1000:.1f} ms, longest {took[-1] * 1000:.1f} ms"
            )
    return lines


def _logging(trace: Trace, start: float, end: float) -> str:
    took = sorted(each[1] for each in trace["logs"] if start <= each[0] <= end)
    slow = [each for each in took if each > 0.001]
    return (
        f"log records handled: {len(took):,}, {sum(took) * 1000:.0f} ms in all, longest "
        f"{took[-1] * 1000:.1f} ms, {len(slow)} over 1 ms ({sum(slow) * 1000:.0f} ms)"
        if took
        else "log records handled: none"
    )


def slices(trace: Trace, start: float, end: float) -> list[str]:
    took: Counter[str] = Counter()
    cpu: Counter[str] = Counter()
    count: Counter[str] = Counter()
    longest: dict[str, float] = {}
    for begun, length, kind, _, spent in trace["slices"]:
        if start <= begun <= end:
            took[kind] += length
            cpu[kind] += spent
            count[kind] += 1
            longest[kind] = max(longest.get(kind, 0.0), length)
    return [
        "who ran during the load: seconds (CPU seconds), slices, longest ms",
        *(
            f"  {kind}: {took[kind]:.2f} ({cpu[kind]:.2f}), {count[kind]:,}, "
            f"{longest[kind] * 1000:.1f}"
            for kind, _ in took.most_common()
        ),
    ]


if __name__ == "__main__":
    main()
