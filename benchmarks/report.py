"""Writes RESULTS.md from the figures of one run, with each target met or not."""

import json
from collections.abc import Callable
from pathlib import Path
from statistics import fmean
from typing import Any, cast

from benchmarks.slow_clients import ATTACKS

ANALYSIS = Path(__file__).resolve().parent / "analysis.md"
#: The figures of an earlier run, with a `label`, to compare this run with (optional).
BEFORE = Path(__file__).resolve().parent / "before.json"

Figures = dict[str, Any]
#: The server of runs that did not record theirs.
EARLIER_SERVER = "gunicorn, 8 threads per worker: the threaded worker before the gevent one"


def _deliveries(results: Figures) -> dict[str, float]:
    """Notifications a second by outbox store, of runs that measured them."""
    rows = results.get("delivery", {})
    return {store: rows[store]["per_second"] for store in ("memory", "redis") if store in rows}


def _deliveries_shown(results: Figures) -> str:
    shown = [f"{store} {rate:,.0f}/s" for store, rate in _deliveries(results).items()]
    return " / ".join(shown) or "not measured"


#: (target, how to show the measured figure, whether it is met) — issue 5's targets.
TARGETS: list[tuple[str, Callable[[Figures], str], Callable[[Figures], bool]]] = [
    (
        "Replay ≥ 20,000 events/s",
        lambda r: f"{r['replay']['full_per_second']:,.0f}/s",
        lambda r: r["replay"]["full_per_second"] >= 20_000,
    ),
    (
        "Replay ≥ 70% of parse-only",
        lambda r: f"{r['replay']['full_share_of_parse']:.0%}",
        lambda r: r["replay"]["full_share_of_parse"] >= 0.70,
    ),
    (
        "HTTP single event ≥ 90% of the bare DRF view, production defaults",
        lambda r: f"{r['http']['service_share_of_bare']:.1%}",
        lambda r: r["http"]["service_share_of_bare"] >= 0.90,
    ),
    (
        "p99 at 16 connections ≤ 1.5 x the bare DRF view's, memory, 1 worker (issue 28)",
        lambda r: _measured(_p99_over_bare(r), "{:.2f} x"),
        lambda r: _p99_over_bare(r) <= 1.5,
    ),
    (
        "p99 at 16 connections ≤ 1.5 x the bare DRF view's, Redis, 2 workers (issue 28)",
        lambda r: _measured(_redis_p99_over_bare(r), "{:.2f} x"),
        lambda r: _redis_p99_over_bare(r) <= 1.5,
    ),
    (
        "HTTP batches ≥ 10,000 events/s",
        lambda r: f"{r['http']['batch_events_per_second']:,.0f}/s",
        lambda r: r["http"]["batch_events_per_second"] >= 10_000,
    ),
    (
        "p99 with a 1 s notify ≤ 1.2 x p99 with a 1 ms notify",
        lambda r: f"{r['http']['slow_over_fast_p99']:.2f} x",
        lambda r: r["http"]["slow_over_fast_p99"] <= 1.2,
    ),
    (
        "State per active user ≤ 2 KB, with the window's events: memory store (issue 24)",
        lambda r: _measured(_memory_state(r), "{:,.0f} B"),
        lambda r: _memory_state(r) <= 2048,
    ),
    (
        "back to the baseline after the sessions close (≤ 5% of the active state left)",
        lambda r: f"{r['memory']['after_close_share']:.1%} left",
        lambda r: r["memory"]["after_close_share"] <= 0.05,
    ),
    (
        "Replay with the reorder window ≥ 90% of without (medians of interleaved turns; issue 24)",
        lambda r: _measured(_window_share(r), "{:.1%}") + _window_turns(r),
        lambda r: _window_share(r) >= 0.90,
    ),
    (
        "Replay with caps and quiet hours on both rules ≥ 90% of without (medians of "
        "interleaved turns; benchmarks/controls.toml; issue 26)",
        lambda r: _measured(_controls_share(r), "{:.1%}") + _window_turns(r),
        lambda r: _controls_share(r) >= 0.90,
    ),
    (
        "1M events take about 10 x the time of 100k (≤ 12)",
        lambda r: f"{r['replay']['scaling']:.1f}",
        lambda r: r["replay"]["scaling"] <= 12,
    ),
    (
        "Replay: 1M events take at most 11 x the time of 100k (issue 12)",
        lambda r: f"{r['replay']['scaling']:.1f}",
        lambda r: r["replay"]["scaling"] <= 11,
    ),
    (
        "HTTP: 1M events take at most 11 x the time of 100k (batches of 100)",
        lambda r: f"{_http_scaling(r):.1f}" if "http_curve" in r else "not measured",
        lambda r: _http_scaling(r) <= 11,
    ),
    (
        "Redis, 2 workers ≥ 1.5 x memory, 1 worker (HTTP single events)",
        lambda r: f"{r['stores']['http']['redis_2_over_memory_1']:.2f} x",
        lambda r: r["stores"]["http"]["redis_2_over_memory_1"] >= 1.5,
    ),
    (
        "Redis, 2 workers, delivery in its own process ≥ 2,441 req/s (NestJS), p99 < 30 ms",
        lambda r: f"{_apart(r)['per_second']:,.0f}/s, p99 {_apart(r)['p99_ms']:.1f} ms",
        lambda r: _apart(r)["per_second"] >= 2441 and _apart(r)["p99_ms"] < 30,
    ),
    (
        "One delivery process ≥ 5,000 notifications/s to a fast local receiver",
        _deliveries_shown,
        lambda r: bool(_deliveries(r)) and all(rate >= 5000 for rate in _deliveries(r).values()),
    ),
    (
        "Replay into Redis ≥ 10,000 events/s (ingesting; delivery after)",
        lambda r: f"{r['stores']['replay']['ingest_per_second']:,.0f}/s",
        lambda r: r["stores"]["replay"]["ingest_per_second"] >= 10_000,
    ),
    (
        "Redis round trips per event ≤ 3 (replay)",
        lambda r: f"{r['stores']['replay']['round_trips_per_event']:.3f}",
        lambda r: r["stores"]["replay"]["round_trips_per_event"] <= 3,
    ),
    (
        "State per active user ≤ 2 KB, with the window's events: Redis, the state key "
        "(`MEMORY USAGE`; issue 24)",
        lambda r: _measured(_redis_state(r), "{:,.0f} B"),
        lambda r: _redis_state(r) <= 2048,
    ),
    (
        "200 slow clients for 30 s: normal requests all answered, p99 < 200 ms",
        lambda r: f"{_worst_slow_client_p99(r):.1f} ms",
        lambda r: _worst_slow_client_p99(r) < 200 and _slow_clients_all_answered(r),
    ),
]


def _p99_over_bare(results: Figures) -> float:
    """The median over turns of the service's p99 over the bare view's in the turn beside
    it (runs from issue 28 on: 16 connections, 5 turns each)."""
    return float(results["http"].get("p99_over_bare", float("inf")))


def _redis_p99_over_bare(results: Figures) -> float:
    """Redis with two workers' p99 (its better turn of the stores' rows) over the bare view's
    median p99 (the HTTP rows'; both at 16 connections from issue 28 on)."""
    redis = results.get("stores", {}).get("http", {}).get("redis_2")
    if redis is None or "p99_over_bare" not in results["http"]:
        return float("inf")
    return float(redis["p99_ms"]) / float(results["http"]["bare_drf"]["p99_ms"])


def _memory_state(results: Figures) -> float:
    """The memory store's bytes per active user with a window, of runs that measured it."""
    memory = results["memory"]
    return float(memory["active_bytes_per_user"] if "window_events_per_user" in memory else "inf")


def _redis_state(results: Figures) -> float:
    """The Redis state key's bytes per active user, of runs that measured it."""
    return float(results["stores"]["memory"].get("state_bytes_per_user", float("inf")))


def _window(results: Figures) -> Figures:
    """The replays of the reorder window's cost, of runs that measured them."""
    return cast(Figures, results["replay"].get("window", {}))


def _window_share(results: Figures) -> float:
    return float(_window(results).get("window_share_of_no_window", 0.0))


def _controls_share(results: Figures) -> float:
    return float(_window(results).get("controls_share_of_window", 0.0))


def _window_turns(results: Figures) -> str:
    window = _window(results)
    return f" ({len(window['window']['turns'])} turns each)" if window else ""


def _measured(figure: float, shown: str) -> str:
    """`figure` as `shown`, or "not measured" for a run that did not measure it."""
    return "not measured" if figure in (0.0, float("inf")) else shown.format(figure)


def _http_scaling(results: Figures) -> float:
    return float(results.get("http_curve", {}).get("scaling", float("inf")))


def _apart(results: Figures) -> Figures:
    return cast(Figures, results["stores"]["http"].get("redis_2_apart", NOT_MEASURED))


#: A row of a run that did not measure it.
NOT_MEASURED: Figures = {"per_second": 0.0, "p99_ms": float("inf")}
#: The settings of the HTTP rows of runs that did not record theirs.
EARLIER_SETTINGS = "WARNING logs, throttles off (runs before issue 12)"


def _attacks(results: Figures) -> list[Figures]:
    section = results.get("slow_clients", {})
    return [section[kind] for kind in ATTACKS if kind in section]


def _worst_slow_client_p99(results: Figures) -> float:
    return max(
        (attack["normal_p99_ms"] or float("inf") for attack in _attacks(results)),
        default=float("inf"),
    )


def _slow_clients_all_answered(results: Figures) -> bool:
    attacks = _attacks(results)
    return bool(attacks) and all(attack["normal_unanswered"] == 0 for attack in attacks)


def write_report(results: Figures, path: Path) -> None:
    sections = [_header(results), _targets(results)]
    if BEFORE.exists():
        sections.append(_before_and_after(json.loads(BEFORE.read_text()), results))
    sections += [show(results[name]) for name, show in _sections() if name in results]
    if ANALYSIS.exists():
        sections.append(ANALYSIS.read_text().rstrip())
    path.write_text("\n\n".join(sections) + "\n")


def _sections() -> list[tuple[str, Callable[[Figures], str]]]:
    """Each part of the figures and how it is shown, in order (a run may lack some)."""
    return [
        ("replay", _replay),
        ("http", _http),
        ("http_curve", _http_curve),
        ("memory", _memory),
        ("stores", _stores),
        ("delivery", _delivery),
        ("slow_clients", _slow_clients),
    ]


def _header(results: Figures) -> str:
    machine = results["machine"]
    return (
        "# Benchmark results\n\n"
        f"Run {results['started']} to {results['finished']} by `make bench` "
        "(`python -m benchmarks.run`); the raw figures are in `results.json`.\n"
        f"Machine: {machine['cpus']} CPUs, {machine['processor']}, {machine['platform']}, "
        f"Python {machine['python']}. The machine is shared and noisy: read figures as +-15%."
    )


def _targets(results: Figures) -> str:
    rows = [
        f"| {name} | {shown(results)} | {'yes' if met(results) else '**no**'} |"
        for name, shown, met in TARGETS
    ]
    return "\n".join(["## Targets", "", "| target | measured | met |", "|---|---|---|", *rows])


#: (what, where in the figures, unit, whether more is better) for the before/after table.
COMPARED: list[tuple[str, tuple[str, ...], str, bool]] = [
    ("replay, full pipeline, 100k events", ("replay", "full_per_second"), "events/s", True),
    ("replay, full pipeline, 1M events", ("replay", "full_large_per_second"), "events/s", True),
    ("replay, parse alone (ceiling)", ("replay", "parse_per_second"), "events/s", True),
    ("HTTP `POST /v1/event`", ("http", "service", "per_second"), "req/s", True),
    ("HTTP `POST /v1/event`, p99", ("http", "service", "p99_ms"), "ms", False),
    ("HTTP bare DRF view (the machine's noise)", ("http", "bare_drf", "per_second"), "req/s", True),
    ("HTTP batches of 100", ("http", "batch_events_per_second"), "events/s", True),
    ("state per active user", ("memory", "active_bytes_per_user"), "bytes", False),
]


def _before_and_after(before: Figures, after: Figures) -> str:
    rows = [
        f"| {name} | {_at(before, keys):,.1f} | {_at(after, keys):,.1f} | {unit} | "
        f"{_change(_at(before, keys), _at(after, keys), more_is_better)} |"
        for name, keys, unit, more_is_better in COMPARED
        if keys[0] != "memory" or _same_users(before, after)
    ]
    left_out = (
        []
        if _same_users(before, after)
        else [
            "",
            "State per active user is left out: the two runs measured other users (reorder "
            f"windows of {_window_events(before)} and {_window_events(after)} events; 0: one "
            "event each, before issue 24).",
        ]
    )
    return "\n".join(
        [
            "## Before and after",
            "",
            f"Before: {before['label']}, run {before['started']}. After: this run. Same harness, "
            "same machine, one after the other.",
            "",
            "| measure | before | after | unit | change |",
            "|---|---|---|---|---|",
            *rows,
            *left_out,
        ]
    )


def _same_users(before: Figures, after: Figures) -> bool:
    """Whether the memory sections of two runs measured the same users (issue 24 gave each
    a reorder window of several events)."""
    return _window_events(before) == _window_events(after)


def _window_events(results: Figures) -> int:
    return int(results["memory"].get("window_events_per_user", 0))


def _at(figures: Figures, keys: tuple[str, ...]) -> float:
    for key in keys:
        figures = figures[key]
    return float(cast(float, figures))


def _change(before: float, after: float, more_is_better: bool) -> str:
    change = after / before - 1
    better = change >= 0 if more_is_better else change <= 0
    return f"{change:+.0%} ({'better' if better else 'worse'})"


def _replay(replay: Figures) -> str:
    small, large = replay["events_small"], replay["events_large"]
    return "\n".join(
        [
            "## Replay, in process",
            "",
            f"Workload: `benchmarks/workload.py`, {small:,} and {large:,} events, one user per "
            "20 events, half in each format, about 3% of unknown types.",
            "",
            "| measure | events/s |",
            "|---|---|",
            f"| `orjson.loads` alone (ceiling) | {replay['json_per_second']:,.0f} |",
            "| parse alone: `orjson.loads` and the real serializers (ceiling) | "
            f"{replay['parse_per_second']:,.0f} |",
            f"| full pipeline, {small:,} events | {replay['full_per_second']:,.0f} |",
            f"| full pipeline, {large:,} events | {replay['full_large_per_second']:,.0f} |",
            "",
            "Full pipeline: parse, `record_event` (idempotency check, signal, rules, decision "
            "log) and "
            "the outbox delivering to a counting backend, timed until the outbox is empty "
            f"({replay['notifications_small']:,} and {replay['notifications_large']:,} "
            f"notifications); {_scaling_of(replay)}",
            *_window_rows(replay.get("window")),
        ]
    )


def _window_rows(window: Figures | None) -> list[str]:
    """The replays of the reorder window's cost, for runs that measured them."""
    if not window:
        return []
    return [
        "",
        "### The reorder window's cost (issue 24)",
        "",
        f"The same {window['events']:,} events replayed with the reorder window (the "
        "defaults: `EVENTS_REORDER_WINDOW_SECONDS` 6 h, `EVENTS_REORDER_WINDOW_EVENTS` 64) and "
        "without it (`EVENTS_REORDER_WINDOW_EVENTS=0`: each event applied as it arrives); and "
        "with a third of the events, picked at random, arriving up to 20 minutes late "
        "(`workload.late_arrivals`: delayed by uniform(0, 1,200) s, then sorted by arrival; "
        "seed 24). The full pipeline, as above; the replays take turns, "
        f"{len(window['window']['turns'])} times each, and each row is the median of its turns.",
        "",
        "| replay | events/s, median | notifications | every turn, s |",
        "|---|---|---|---|",
        _window_row("in order, with the window", window["window"]),
        _window_row("in order, without the window", window["no_window"]),
        _window_row("a third up to 20 minutes late, with the window", window["late_window"]),
        "",
        f"With the window, a replay runs at **{window['window_share_of_no_window']:.1%}** of "
        "its throughput without it. The late input replayed once without the window sends "
        f"{window['late_no_window_notifications']:,} notifications: the order they arrive in "
        "decides there, event time with the window.",
    ]


def _window_row(name: str, row: Figures) -> str:
    notified = " or ".join(f"{count:,}" for count in row["notifications"])
    return f"| {name} | {row['per_second']:,.0f} | {notified} | {_listed(row['turns'])} |"


def _scaling_of(replay: Figures) -> str:
    """How the replay's sizes were measured, and the scaling from those figures."""
    times = replay["events_large"] / replay["events_small"]
    scaling = f"**{replay['scaling']:.1f}** for {times:.0f} times the events."
    if "turns_large" not in replay:
        return (
            f"one run of each size. Scaling: {replay['seconds_large']:.1f} s / "
            f"{replay['seconds_small']:.2f} s = {scaling}"
        )
    small, large = (replay["turns_small"], replay["turns_large"])
    return (
        f"the two sizes take turns, {len(large)} times each, and each row is its faster turn "
        f"({_listed(small)} s; {_listed(large)} s). Scaling, from the mean of every turn (a "
        "short run catches a fast minute of this host more often than a long one does): "
        f"{fmean(large):.1f} s / {fmean(small):.2f} s = {scaling}"
    )


def _listed(seconds: list[float]) -> str:
    return " and ".join(f"{each:.1f}" for each in seconds)


def _http(http: Figures) -> str:
    connections = http.get("connections", 8)
    return "\n".join(
        [
            "## HTTP: the production command (gunicorn, 1 process, gevent worker), "
            f"{connections} connections",
            "",
            f"Settings: {http.get('settings', EARLIER_SETTINGS)}. {_http_turns(http)}",
            "",
            "| server | requests/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors |",
            "|---|---|---|---|---|---|---|",
            _http_row("`POST /v1/event`, notify answers in 1 ms", http["service"]),
            _http_row("bare DRF view, same serializers and command", http["bare_drf"]),
            _http_row("`POST /v1/event`, notify answers in 1 s", http["slow_notify"]),
            "",
            *_paired_turns(http),
            "Batches of 100 events through `POST /v1/events` (4 connections): "
            f"**{http['batch_events_per_second']:,.0f} events/s** ({http['batch_errors']} errors).",
        ]
    )


def _http_turns(http: Figures) -> str:
    if "turns" not in http["service"]:
        return (
            "The service and the bare view take turns, twice, and each row is its better "
            "turn (runs from 2026-12-03 on; one turn each before)."
        )
    turns = len(http["service"]["turns"])
    return (
        f"The service and the bare view take turns, {turns} times; each of their rows is "
        "the median of its turns, figure by figure (runs from issue 28 on)."
    )


def _paired_turns(http: Figures) -> list[str]:
    """Each turn of the service beside the bare view's next to it, of runs that keep them."""
    if "service_share_turns" not in http:
        return []
    shares = ", ".join(f"{share:.0%}" for share in http["service_share_turns"])
    ratios = ", ".join(f"{ratio:.2f}" for ratio in http["p99_over_bare_turns"])
    return [
        f"Turn by turn, the service's requests/s over the bare view's: {shares} (median "
        f"**{http['service_share_of_bare']:.1%}**); its p99 over the bare view's: {ratios} "
        f"(median **{http['p99_over_bare']:.2f} x**).",
        "",
    ]


def _http_curve(curve: Figures) -> str:
    rows = [
        f"| {point['events']:,} | {point['seconds']:.1f} | {point['us_per_event']:.0f} | "
        f"{point['errors']} | {_listed(point.get('turns', [point['seconds']]))} |"
        for point in curve["points"]
    ]
    middle, large = curve["points"][-2:]
    middle_turns, large_turns = (
        point.get("turns", [point["seconds"]]) for point in (middle, large)
    )
    return "\n".join(
        [
            "## HTTP: the curve, batches of 100 through a fresh server each",
            "",
            f"Settings: {curve['settings']}; 4 connections, notifications delivered to a "
            "receiver answering in 1 ms; timed from the first request to the last answer.",
            "",
            "Each size through a fresh server; the sizes take turns (twice from 2026-12-03 "
            "17:45 on, once before) and each row is its faster turn.",
            "",
            "| events | seconds | µs per event | errors | every turn, s |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "Scaling, from the mean of every turn (a short run catches a fast minute of this "
            f"host more often than a long one does): {fmean(large_turns):.1f} s / "
            f"{fmean(middle_turns):.1f} s = **{curve['scaling']:.1f}** for "
            f"{large['events'] / middle['events']:.0f} times the events.",
        ]
    )


def _http_row(name: str, figures: Figures) -> str:
    return (
        f"| {name} | {figures['per_second']:,.0f} | {figures['p50_ms']:.1f} | "
        f"{_ms(figures, 'p90_ms')} | {figures['p99_ms']:.1f} | {_ms(figures, 'p99_9_ms')} | "
        f"{figures['errors']:.0f} |"
    )


def _ms(figures: Figures, name: str) -> str:
    """A latency of runs that measured it (p90 and p99.9 from issue 28 on), else a dash."""
    return f"{figures[name]:.1f}" if name in figures else "-"


STORE_ROWS = {
    "memory_1": "memory, 1 worker",
    "redis_1": "Redis, 1 worker",
    "redis_2": "Redis, 2 workers",
    "redis_2_apart": "Redis, 2 workers, ticker and delivery in `run_workers`",
}


def _stores(stores: Figures) -> str:
    http, replay, memory = stores["http"], stores["replay"], stores["memory"]
    return "\n".join(
        [
            "## Stores: memory and Redis",
            "",
            f"The production command ({stores.get('server', EARLIER_SERVER)}), 16 connections, "
            "single events, notify answering in 1 ms, the same settings but for `EVENTS_STORE` and "
            "`WEB_CONCURRENCY`. Redis is the machine's, on loopback; the load generator, the "
            "notify receiver, the workers and Redis share the 2 cores. The servers take "
            "turns twice and each row is its better turn: on this shared machine one turn "
            "varies by a third from the next. Settings: "
            f"{stores.get('settings', EARLIER_SETTINGS)}. CPU: the server's processes (and "
            "Redis's) per request answered, from /proc (and `INFO cpu`).",
            "",
            "| store, workers | requests/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors "
            "| Redis commands / request | server CPU us / request | Redis CPU us / request "
            "| machine CPU us / request | idle | stolen |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            *(
                f"| {name} | {row['per_second']:,.0f} | {row['p50_ms']:.1f} | "
                f"{_ms(row, 'p90_ms')} | {row['p99_ms']:.1f} | {_ms(row, 'p99_9_ms')} | "
                f"{row['errors']} | {row['redis_commands_per_request']:.1f} "
                f"| {row.get('server_cpu_us_per_request', 0):,.0f} "
                f"| {row.get('redis_cpu_us_per_request', 0):,.0f} | {_machine_row(row)} |"
                for name, row in ((STORE_ROWS[key], http[key]) for key in STORE_ROWS if key in http)
            ),
            "",
            *_budget_of_two_workers(http, stores),
            f"Replay of {replay['events']:,} events into Redis, delivery included: "
            f"**{replay['per_second']:,.0f} events/s** ({replay['ingest_per_second']:,.0f} "
            f"events/s ingesting alone; {replay['notifications']:,} notifications). "
            f"Per event: **{replay['round_trips_per_event']:.3f} round trips** (counted by the "
            "client; runs from 2026-12-03 on read and commit 500 events in one pipeline each, "
            f"earlier ones one event at a time), {replay['commands_per_event']:.1f} Redis "
            "commands (`INFO commandstats`, the script's own included).",
            "",
            _redis_memory(memory),
        ]
    )


def _redis_memory(memory: Figures) -> str:
    if "state_bytes_per_user" not in memory:  # runs before issue 24
        return (
            f"Redis memory per active user ({memory['users']:,} users, each with one open "
            f"session or pending reminder and one seen event id, `INFO memory`): "
            f"**{memory['bytes_per_user']:,.0f} bytes**; Redis CPU "
            f"{memory['cpu_ms_per_event']:.3f} ms per event."
        )
    parts = memory["state_json_parts"]
    shown = ", ".join(f"{name.replace('_', ' ')} {size:,.0f}" for name, size in parts.items())
    return (
        f'Redis memory per active user ({memory["users"]:,} users as in "Memory" above, '
        "four events in each window). `INFO memory`: "
        f"**{memory['bytes_per_user']:,.0f} bytes** a user, which holds the state, a seen key "
        "per event (kept `EVENTS_SEEN_IDS_MAX_AGE_HOURS`), the decision log (the earlier "
        "cycle's two records), and the reminder indexes of the users who launched. Of it, by "
        f"`MEMORY USAGE` on the first {memory['sampled_users']:,} users: the state key "
        f"**{memory['state_bytes_per_user']:,.0f} bytes** (its JSON "
        f"{memory['state_json_bytes_per_user']:,.0f} bytes, by part: {shown}) and the "
        f"decision log {memory['decision_log_bytes_per_user']:,.0f} bytes. Redis CPU "
        f"{memory['cpu_ms_per_event']:.3f} ms per event, delivery of the congratulations "
        "included."
    )


def _machine_row(row: Figures) -> str:
    if "machine_cpu_us_per_request" not in row:
        return "not measured | | "
    return (
        f"{row['machine_cpu_us_per_request']:,.0f} | {row['machine_idle_share']:.0%} "
        f"| {row['machine_stolen_share']:.0%}"
    )


def _budget_of_two_workers(http: Figures, stores: Figures) -> list[str]:
    """What issue 9's 1.5 x leaves each request of all the machine's CPU, beside what a
    request on Redis with two workers took of it."""
    redis_2, cpus = http["redis_2"], stores.get("cpus", 2)
    if "machine_cpu_us_per_request" not in redis_2:
        return []
    target = 1.5 * http["memory_1"]["per_second"]
    return [
        f"Machine CPU: every process's, the load generator's and the notify receiver's "
        f"included (`/proc/stat`). At 1.5 x memory with one worker ({target:,.0f} req/s), "
        f"the {cpus} cores leave **{cpus / target * 1e6:,.0f} us** of CPU per request for "
        "everything; a request on Redis with 2 workers took "
        f"**{redis_2['machine_cpu_us_per_request']:,.0f} us** of it, with the cores "
        f"{redis_2['machine_idle_share']:.0%} idle (a request on the memory store, "
        f"{http['memory_1'].get('machine_cpu_us_per_request', 0):,.0f} us).",
        "",
    ]


DELAYS = {"memory_5ms": "5 ms"}


def _delivery(section: Figures) -> str:
    return "\n".join(
        [
            "## Delivery",
            "",
            "`benchmarks/delivery.py`: notifications queued in the outbox, then one dispatcher "
            "with the real notify client (urllib3, keep-alive, signed the Standard Webhooks "
            "way) delivers them to `benchmarks/fast_receiver.py` (asyncio, a process of its "
            "own, answering `202`); timed from the dispatcher's start until nothing is pending. "
            "`NOTIFY_CONCURRENCY` is its default, 8.",
            "",
            "| outbox | receiver answers after | notifications | notifications/s | received |",
            "|---|---|---|---|---|",
            *(
                f"| {store.split('_')[0]} | {DELAYS.get(store, 'at once')} | "
                f"{row['notifications']:,} | {row['per_second']:,.0f} | {row['received']:,} |"
                for store, row in section.items()
            ),
        ]
    )


def _slow_clients(section: Figures) -> str:
    return "\n".join(
        [
            "## Slow clients",
            "",
            f"Run {section['started']}. `benchmarks/slow_clients.py` against the production "
            "command with its production defaults (INFO logs, throttles on, "
            "EVENTS_CLIENT_TIMEOUT_SECONDS 10): 200 connections that send nothing (`idle`), "
            "trickle a request's headers or its body a byte a second, opened 25 a second with "
            "a token of their own; meanwhile one client posts ordinary events one after "
            "another, each answer timed (10 s at most).",
            "",
            "| attack | normal requests answered | unanswered | p50 ms | p99 ms | "
            "attackers dropped by the server | after (median, max) s |",
            "|---|---|---|---|---|---|---|",
            *(
                f"| {kind} | {row['normal_answered']} | {row['normal_unanswered']} | "
                f"{row['normal_p50_ms']} | {row['normal_p99_ms']} | "
                f"{row['attackers_closed_by_server']} of {row['attacking_connections']} | "
                f"{row['attackers_closed_after_median_s']}, {row['attackers_closed_after_max_s']} |"
                for kind, row in section.items()
                if kind in ATTACKS
            ),
        ]
    )


def _remeasured(section: Figures) -> str:
    """What of a section was measured apart from the run, if anything."""
    return f"Note: {section['remeasured']}." if "remeasured" in section else ""


def _memory(memory: Figures) -> str:
    return "\n".join(
        [
            "## Memory",
            "",
            f"{_memory_users(memory)} Python objects counted with `tracemalloc` on "
            f"{memory['traced_users']:,} users (tracing is slow; the state is linear in users), "
            f"resident memory on {memory['users']:,}. {_remeasured(memory)}",
            "",
            "| measure | value |",
            "|---|---|",
            f"| state per active user{_with_window(memory)} | "
            f"{memory['active_bytes_per_user']:,.0f} bytes |",
            *_without_window(memory),
            f"| left once {_after_what(memory)} | {memory['after_close_bytes'] / 1024:,.0f} KiB "
            f"({memory['after_close_share']:.1%}) |",
            "| memory of seen event ids (bounded by `EVENTS_SEEN_IDS_LIMIT`) | "
            f"{memory['ids_bytes_per_event']:,.0f} bytes per id |",
            "| decision log kept once a user is done, with "
            f"{_entries(memory)} (bounded by `EVENTS_DECISION_LOG_LIMIT` entries and "
            "`EVENTS_DECISION_LOG_USERS` users) | "
            f"{memory.get('decision_log_bytes_per_user', 0):,.0f} bytes per user |",
            f"| resident memory added by {memory['users']:,} active users / left after they "
            f"closed | {memory['rss_active_mb']:,.0f} MiB / {memory['rss_after_mb']:,.0f} MiB |",
        ]
    )


def _memory_users(memory: Figures) -> str:
    if "window_events_per_user" not in memory:  # runs before issue 24
        return "Users, half with an open training session and half with a pending reminder."
    return (
        "Users as `benchmarks/active_users.py` makes them: each went through a cycle 3 hours "
        "earlier (a launch, a start 5 minutes later, a finish 40 minutes after the start), "
        "then half launch the app (a pending reminder) and half start a program (an open "
        f"session), so that {memory['window_events_per_user']} events are in each user's "
        "reorder window; v2 events with random ids, parsed from their JSON, received on a "
        "wall clock the benchmark moves (`bootstrap.build(clock=...)`), the ticker's turn "
        "after each step."
    )


def _with_window(memory: Figures) -> str:
    return ", with the window's events" if "window_events_per_user" in memory else ""


def _without_window(memory: Figures) -> list[str]:
    if "active_bytes_per_user_without_window" not in memory:
        return []
    return [
        "| the same without the window (`EVENTS_REORDER_WINDOW_EVENTS=0`) | "
        f"{memory['active_bytes_per_user_without_window']:,.0f} bytes |"
    ]


def _after_what(memory: Figures) -> str:
    if "window_events_per_user" not in memory:
        return "every session closed and every reminder was sent"
    return (
        "every session closed and every reminder was sent, then the clock went past the "
        "day a sent reminder is kept and past the window's span (idle windows expire)"
    )


def _entries(memory: Figures) -> str:
    entries = memory.get("decision_log_entries_per_user", 1)
    return "one entry" if entries == 1 else f"{entries:.0f} entries"
