"""A rules change takes effect when the production server reloads (`kill -HUP` its master):
the new workers read the file; the old ones answer with the old rules until they go."""

import signal
import time

import requests

from tests.e2e.conftest import GUNICORN, Server


def rules_version(url: str) -> str:
    version: str = requests.get(f"{url}/v1/rules", timeout=5).json()["version"]
    return version


def settled_on(url: str, version: str, within: float = 20) -> bool:
    """Whether every answer names `version` once the old workers are gone (five in a row)."""
    deadline, in_a_row = time.monotonic() + within, 0
    while in_a_row < 5 and time.monotonic() < deadline:
        in_a_row = in_a_row + 1 if rules_version(url) == version else 0
        time.sleep(0.1)
    return in_a_row == 5


def test_a_reload_puts_the_new_rules_file_in_force(server_env, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('version = "v1"\n')
    server = Server(GUNICORN, {**server_env, "EVENTS_RULES_FILE": str(rules)})
    try:
        assert rules_version(server.url) == "v1"
        rules.write_text('version = "v2"\n[rules.training_dose_congratulation]\nenabled = false\n')

        server.process.send_signal(signal.SIGHUP)

        assert settled_on(server.url, "v2")
        health = requests.get(f"{server.url}/v1/health", timeout=5).json()
        assert health["rules_version"] == "v2"
    finally:
        server.stop()
        server.log.close()


def test_a_reload_onto_a_broken_rules_file_stops_the_server_saying_why(server_env, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('version = "v1"\n')
    server = Server(GUNICORN, {**server_env, "EVENTS_RULES_FILE": str(rules)})
    try:
        rules.write_text(
            "[rules.start_training_reminder]\ndelay_secnds = 60\n"
            'quiet_hours = { from = "22:00", to = "22:00" }\n'
        )

        server.process.send_signal(signal.SIGHUP)

        server.process.wait(timeout=30)  # not a worker booting and failing for ever
        output = server.output()
        assert f"EVENTS_RULES_FILE: {rules}: rules.start_training_reminder.delay_secnds" in output
        assert "Worker failed to boot" in output
        assert "Traceback" not in output, output
    finally:
        if server.process.poll() is None:
            server.stop()
        server.log.close()
