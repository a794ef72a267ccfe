"""The files under deploy/ as the tests read them: the alert rules, the Grafana dashboard,
and every PromQL query of both, with Grafana's variables replaced so that the queries are
plain PromQL."""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts_test.yml"
DASHBOARD = DEPLOY / "grafana" / "events-processor.json"

#: Grafana's own interval variables, as a duration; any other variable stands in a matcher's
#: value (`job=~"$job"`), where "All" is `.*`.
_INTERVALS = re.compile(r"\$__(?:rate_interval|interval|range)\b")
_VARIABLE = re.compile(r"\$\{?\w+\}?")
_LABEL_VALUES = re.compile(r"^\s*label_values\((?P<expr>.*),\s*(?P<label>\w+)\s*\)\s*$", re.DOTALL)
_LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_ANNOTATION_LABEL = re.compile(r"\$labels\.(\w+)")


@dataclass(frozen=True)
class Query:
    where: str  # "alert EventsStoreDown", "panel 'Store' A", "variable instance"
    written: str  # as the file has it, Grafana's variables and all
    shown_labels: frozenset[str]  # labels its legend, annotations or variable show

    @property
    def expr(self) -> str:
        """Plain PromQL."""
        return _VARIABLE.sub(".*", self.with_intervals)

    @property
    def with_intervals(self) -> str:
        """Grafana's interval variables replaced, the dashboard's own kept (in strings)."""
        return _INTERVALS.sub("5m", self.written)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def alert_rules() -> list[dict[str, Any]]:
    groups = load_yaml(ALERTS)["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside collapsed rows too."""
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def alert_queries() -> list[Query]:
    return [
        Query(
            f"alert {rule['alert']}",
            rule["expr"],
            frozenset(_ANNOTATION_LABEL.findall(" ".join(rule["annotations"].values()))),
        )
        for rule in alert_rules()
    ]


def dashboard_queries() -> list[Query]:
    board = dashboard()
    queries = [
        Query(
            f"panel {panel['title']!r} {target['refId']}",
            target["expr"],
            frozenset(_LEGEND_LABEL.findall(target.get("legendFormat", ""))),
        )
        for panel in panels(board)
        for target in panel.get("targets", [])
    ]
    return queries + [variable_query(variable) for variable in board["templating"]["list"]]


def variable_query(variable: dict[str, Any]) -> Query:
    """A query variable's `label_values(selector, label)`."""
    query = variable["query"]
    text = query["query"] if isinstance(query, dict) else query
    found = _LABEL_VALUES.match(text)
    assert found, f"variable {variable['name']}: not a label_values() query: {text!r}"
    return Query(f"variable {variable['name']}", found["expr"], frozenset([found["label"]]))
