"""The PromQL reader finds every metric and label an expression names, and nothing else."""

import pytest

from tests.ops.promql import read


def labels_of(expr: str) -> set[tuple[str, frozenset[str]]]:
    return {(use.label, use.metrics) for use in read(expr).labels}


@pytest.mark.parametrize(
    ("expr", "metrics"),
    [
        ("up", {"up"}),
        ('http_requests_total{status=~"5..", route!="v1/health"}', {"http_requests_total"}),
        ("rate(events_total[5m])", {"events_total"}),
        (
            "histogram_quantile(0.99, sum by (le, route) (rate(a_seconds_bucket[5m])))",
            {"a_seconds_bucket"},
        ),
        ("sum(rate(a_total[1h] offset 10m)) by (job) > 2 * b", {"a_total", "b"}),
        ("max(rate(a[5m:1m])) or vector(0)", {"a"}),
        ("a unless on (job) b and bool c", {"a", "b", "c"}),
        ("count(count by (version) (events_rules_info))", {"events_rules_info"}),
        ("x * ignoring (state) group_left y", {"x", "y"}),
        ("topk(3, sum without (pid) (a:recorded))", {"a:recorded"}),
        ('label_replace(a, "dst", "$1", "src", "(.*)")', {"a"}),
        ("inf > nan", set()),
    ],
)
def test_metrics_are_the_names_that_are_not_functions_keywords_or_labels(expr, metrics):
    assert read(expr).metrics == metrics


def test_matchers_name_labels_of_their_own_metric():
    uses = labels_of('a{job=~".*", status!="200"} / b{instance="x"}')

    assert uses == {
        ("job", frozenset({"a"})),
        ("status", frozenset({"a"})),
        ("instance", frozenset({"b"})),
    }


def test_a_matcher_keeps_its_operator_and_value():
    (selector,) = read('a{status=~"5..", route!="v1/health"}').selectors

    assert selector.matchers == {"status": '=~"5.."', "route": '!="v1/health"'}


@pytest.mark.parametrize(
    "expr",
    [
        "sum by (route, status) (rate(a[5m])) / on (job) b",
        "sum(rate(a[5m])) by (route, status) / on (job) b",
    ],
)
def test_an_aggregations_labels_speak_of_its_argument_wherever_the_list_stands(expr):
    uses = labels_of(expr)

    assert ("route", frozenset({"a"})) in uses
    assert ("status", frozenset({"a"})) in uses
    assert ("job", frozenset({"a", "b"})) in uses  # `on`: both sides


def test_strings_durations_and_numbers_name_nothing():
    assert read('a{x="sum by (nope) (b)"}[1h30m] > 0.05').metrics == {"a"}


@pytest.mark.parametrize("expr", ["sum(a", "a{x=1]", "a)", "a $job"])
def test_what_it_cannot_read_is_an_error_not_a_silent_skip(expr):
    with pytest.raises(ValueError, match=r"bracket|cannot read"):
        read(expr)
