"""The alert rules that ship with the service (deploy/prometheus) are valid, and each alert
is unit-tested with promtool: a case that fires it and one that looks alike but does not."""

import re
from typing import Any

from tests.ops.deploy import ALERT_TESTS, ALERTS, DEPLOY, alert_rules, load_yaml
from tests.ops.promtool import promtool


def test_the_alert_rules_pass_promtool_check():
    done = promtool("check", "rules", ALERTS)

    assert f"SUCCESS: {len(alert_rules())} rules found" in done.stdout


def test_every_alert_unit_test_passes_under_promtool():
    promtool("test", "rules", ALERT_TESTS)


def test_every_alert_says_how_bad_it_is_what_it_means_and_where_to_read_more():
    for rule in alert_rules():
        annotations = rule["annotations"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert {"summary", "description", "runbook_url"} <= annotations.keys(), rule["alert"]
        assert annotations["runbook_url"].startswith("README.md#"), rule["alert"]


def test_the_readme_says_what_each_alert_means_and_runbooks_point_at_its_headings():
    readme = (DEPLOY.parent / "README.md").read_text()
    section = readme.partition("### Dashboard and alerts\n")[2].partition("\n## ")[0]
    rows = [line.split("|") for line in section.splitlines() if line.startswith("| `")]
    headings = {slug(line) for line in readme.splitlines() if line.startswith("#")}

    assert {row[1].strip(" `"): row[2].strip() for row in rows} == {
        rule["alert"]: rule["labels"]["severity"] for rule in alert_rules()
    }
    for rule in alert_rules():
        assert rule["annotations"]["runbook_url"].removeprefix("README.md#") in headings


def slug(heading: str) -> str:
    """A heading's anchor, as GitHub makes it."""
    words = re.sub(r"[^\w\- ]", "", heading.lstrip("# ").strip().lower())
    return words.replace(" ", "-")


def test_every_alert_has_a_case_that_fires_it_and_one_that_does_not():
    cases = cases_by_alert(load_yaml(ALERT_TESTS)["tests"])

    assert cases.keys() == {rule["alert"] for rule in alert_rules()}
    for alert, (fires, stays_quiet) in cases.items():
        assert fires, f"{alert}: no case fires it"
        assert stays_quiet, f"{alert}: no case where it stays quiet"


def cases_by_alert(tests: list[dict[str, Any]]) -> dict[str, tuple[bool, bool]]:
    """Per alert: whether a case expects it to fire, and whether one expects it silent: an
    evaluation that expects no alert, or an input series no expected alert stands for."""
    cases: dict[str, tuple[bool, bool]] = {}
    for test in tests:
        series = [parse_series(entry["series"]) for entry in test["input_series"]]
        for check in test["alert_rule_test"]:
            expected = [alert["exp_labels"] for alert in check.get("exp_alerts", [])]
            fired, quiet = cases.get(check["alertname"], (False, False))
            silent = not expected or any(not stands_for(expected, labels) for labels in series)
            cases[check["alertname"]] = (fired or bool(expected), quiet or silent)
    return cases


def stands_for(expected: list[dict[str, Any]], series: dict[str, str]) -> bool:
    return any(
        all(str(value) == series[name] for name, value in alert.items() if name in series)
        for alert in expected
    )


def parse_series(selector: str) -> dict[str, str]:
    """`name{a="1", b="2"}` as {"a": "1", "b": "2"}: the tests' series have plain values."""
    labels = selector.partition("{")[2].rstrip("}")
    pairs = (pair.split("=", 1) for pair in labels.split(",") if pair.strip())
    return {name.strip(): value.strip().strip('"') for name, value in pairs}
