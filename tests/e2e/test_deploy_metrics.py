"""Every metric and label the dashboard and the alerts under deploy/ use is one that the
production server exports, so that they cannot drift apart: a real scrape of `/metrics`
after the brief's sample and a refused event, once with each store."""

import time
from collections import defaultdict
from collections.abc import Callable

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import GUNICORN, Server
from tests.ops.deploy import Query, alert_queries, dashboard_queries
from tests.ops.promql import LabelUse, read
from tests.sample import BRIEF_SAMPLE

pytestmark = pytest.mark.e2e

#: Exported with one store only: delivery processes write their heartbeat to Redis.
ONLY_WITH_STORE = {"events_delivery_heartbeat_age_seconds": "redis"}
#: Labels Prometheus gives every series it scrapes.
TARGET_LABELS = frozenset({"job", "instance"})
#: How long a scrape may lag the traffic: a worker publishes its event tallies once a second.
LAG_SECONDS = 10


@pytest.fixture(params=["memory", "redis"])
def store(request, server_env) -> str:
    if request.param == "redis":
        request.getfixturevalue("redis_env")  # the Redis settings, into server_env
    return request.param


@pytest.fixture
def production_server(store, server_env):
    workers = ["-w", "2"] if store == "redis" else []  # memory: one process holds the state
    running = Server(GUNICORN, server_env, *workers)
    yield running
    running.stop()
    running.log.close()


def test_every_metric_the_dashboard_and_alerts_use_is_exported(production_server, store, standin):
    queries = alert_queries() + dashboard_queries()

    exported = scrape_after_traffic(
        production_server.url, standin, lambda seen: unexported_metrics(queries, seen, store)
    )

    missing = unexported_metrics(queries, exported, store)
    assert not missing, f"not exported with the {store} store:\n{listed(missing)}"


def test_every_label_the_dashboard_and_alerts_use_is_on_its_metric(production_server, standin):
    queries = alert_queries() + dashboard_queries()

    exported = scrape_after_traffic(
        production_server.url, standin, lambda seen: labels_not_on_their_metric(queries, seen)
    )

    missing = labels_not_on_their_metric(queries, exported)
    assert not missing, f"labels the metrics do not have:\n{listed(missing)}"


def scrape_after_traffic(
    base_url: str, standin, missing: Callable[[dict[str, set[str]]], dict[str, list[str]]]
) -> dict[str, set[str]]:
    """Sample names and their label names after events of each outcome, a refusal and
    deliveries, scraped again while something is `missing` for up to LAG_SECONDS: the
    worker that answers may not have the other's last second of tallies yet."""
    for event in BRIEF_SAMPLE:
        assert requests.post(f"{base_url}/v1/event", json=event, timeout=5).status_code == 202
    refused = requests.post(
        f"{base_url}/v1/event",
        data="{oops",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert refused.status_code == 400
    standin.wait_for(2)
    deadline = time.monotonic() + LAG_SECONDS
    exported = scrape(base_url)
    while missing(exported) and time.monotonic() < deadline:
        time.sleep(0.1)
        exported = scrape(base_url)
    return exported


def scrape(base_url: str) -> dict[str, set[str]]:
    """By sample name, as queries name them: a histogram `x` as `x_bucket`, `x_sum`, `x_count`."""
    text = requests.get(f"{base_url}/metrics", timeout=5).text
    exported: dict[str, set[str]] = defaultdict(set)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            exported[sample.name] |= set(sample.labels)
    return dict(exported)


def unexported_metrics(
    queries: list[Query], exported: dict[str, set[str]], store: str
) -> dict[str, list[str]]:
    """Each metric this server should export and does not, with the queries that use it."""
    missing: dict[str, list[str]] = defaultdict(list)
    for query in queries:
        for metric in read(query.expr).metrics - exported.keys():
            if ONLY_WITH_STORE.get(metric, store) == store:
                missing[metric].append(query.where)
    return dict(missing)


def labels_not_on_their_metric(
    queries: list[Query], exported: dict[str, set[str]]
) -> dict[str, list[str]]:
    """Each `metric: label` the queries group, match or show that the metric lacks (metrics
    not exported at all are the other test's)."""
    missing: dict[str, list[str]] = defaultdict(list)
    for query in queries:
        for use in label_uses(query):
            for metric in use.metrics & exported.keys():
                if use.label not in exported[metric] | TARGET_LABELS:
                    missing[f"{metric}: {use.label}"].append(query.where)
    return dict(missing)


def label_uses(query: Query) -> set[LabelUse]:
    usage = read(query.expr)
    shown = {LabelUse(label, usage.metrics) for label in query.shown_labels}
    return set(usage.labels) | shown


def listed(missing: dict[str, list[str]]) -> str:
    return "\n".join(f"{name} (in {', '.join(where)})" for name, where in sorted(missing.items()))
