"""The Grafana dashboard (deploy/grafana/events-processor.json) imports anywhere: one
Prometheus data source chosen at import, no instance or job written in, and every query
valid PromQL; it shows what each alert watches."""

import json

from tests.ops.deploy import alert_queries, dashboard, dashboard_queries, panels
from tests.ops.promql import read
from tests.ops.promtool import promtool

DATA_SOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
#: Every selector of a panel is narrowed by the dashboard's two variables, and only by them.
NARROWED = {"job": '=~"$job"', "instance": '=~"$instance"'}


def test_the_dashboard_asks_for_its_prometheus_data_source_at_import():
    board = dashboard()

    assert board["__inputs"] == [
        {
            "name": "DS_PROMETHEUS",
            "label": "Prometheus",
            "description": board["__inputs"][0]["description"],
            "type": "datasource",
            "pluginId": "prometheus",
            "pluginName": "Prometheus",
        }
    ]
    queried = [panel for panel in panels(board) if panel["type"] != "row"]
    variables = board["templating"]["list"]
    assert all(item["datasource"] == DATA_SOURCE for item in queried + variables)
    assert all(t["datasource"] == DATA_SOURCE for p in queried for t in p["targets"])


def test_the_dashboard_has_a_fixed_uid_and_no_id_of_a_grafana_it_came_from():
    board = dashboard()

    assert board["uid"] == "events-processor"
    assert board["id"] is None
    assert isinstance(board["schemaVersion"], int)
    assert board["schemaVersion"] >= 39  # Grafana 11 and later


def test_panels_have_ids_of_their_own_and_do_not_overlap():
    board = dashboard()
    every = list(panels(board))
    cells = [
        (panel["gridPos"]["y"] + row, panel["gridPos"]["x"] + column)
        for panel in every
        for row in range(panel["gridPos"]["h"])
        for column in range(panel["gridPos"]["w"])
    ]

    assert len({panel["id"] for panel in every}) == len(every)
    assert all(panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24 for panel in every)
    assert len(set(cells)) == len(cells)


def test_every_panel_query_is_narrowed_by_the_job_and_instance_variables_only():
    for query in dashboard_queries():
        if query.where.startswith("variable"):
            continue
        for selector in read(query.with_intervals).selectors:
            narrowed = {k: v for k, v in selector.matchers.items() if k in NARROWED}
            assert narrowed == NARROWED, f"{query.where}: {selector}"


def test_every_dashboard_query_is_valid_promql(tmp_path):
    """promtool checks a rule file's expressions: each query becomes a recording rule."""
    queries = dashboard_queries()
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard_query_{n}", "expr": query.expr}
                    for n, query in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(json.dumps(rules))  # JSON is YAML

    done = promtool("check", "rules", path)

    assert f"SUCCESS: {len(queries)} rules found" in done.stdout


def test_the_dashboard_shows_every_metric_an_alert_watches():
    shown = {metric for query in dashboard_queries() for metric in read(query.expr).metrics}
    watched = {metric for query in alert_queries() for metric in read(query.expr).metrics}

    assert watched - shown == set()
