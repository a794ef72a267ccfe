"""The production server: the pages' own assets (Swagger UI, the browsable API), indented
JSON for people, and chunked request bodies."""

import json
import re

import pytest
import requests

from tests.e2e.conftest import GUNICORN, Server
from tests.sample import BRIEF_SAMPLE

pytestmark = pytest.mark.e2e

ASSET = re.compile(r"""(?:src|href)=["'](/static/[^"']+)["']""")


@pytest.fixture
def production(server_env):
    running = Server(GUNICORN, server_env)
    yield running.url
    running.stop()


@pytest.mark.parametrize("page", ["/v1/docs", "/v1/event", "/v1/notifications"])
def test_every_asset_a_page_references_answers_under_the_production_server(production, page):
    html = requests.get(production + page, headers={"Accept": "text/html"}, timeout=10)
    assets = set(ASSET.findall(html.text))

    answers = {asset: requests.get(production + asset, timeout=10) for asset in assets}

    assert html.status_code == 200
    assert len(assets) >= 3
    assert {asset: answer.status_code for asset, answer in answers.items()} == dict.fromkeys(
        assets, 200
    )


def test_assets_have_cache_busting_names_long_lived_caching_and_compression(production):
    html = requests.get(production + "/v1/docs", timeout=10).text
    [stylesheet] = [asset for asset in ASSET.findall(html) if asset.endswith(".css")]

    answer = requests.get(production + stylesheet, headers={"Accept-Encoding": "gzip"}, timeout=10)

    assert re.search(r"\.[0-9a-f]{12}\.css$", stylesheet)
    assert answer.headers["Content-Encoding"] == "gzip"
    assert "immutable" in answer.headers["Cache-Control"]


def test_the_browsable_api_and_json_ask_for_indentation_and_get_it(production):
    browsable = requests.get(production + "/v1/health", headers={"Accept": "text/html"}, timeout=10)
    indented = requests.get(production + "/v1/health?format=json&indent=2", timeout=10)
    compact = requests.get(production + "/v1/health?format=json", timeout=10)

    assert '{\n    "status"' in browsable.text.replace("&quot;", '"')
    assert indented.text.startswith('{\n  "')
    assert "\n" not in compact.text


def test_a_chunked_body_is_read_whole_under_the_production_server(production):
    body = json.dumps(BRIEF_SAMPLE[1]).encode()
    chunks = iter([body[:20], body[20:]])

    answer = requests.post(
        f"{production}/v1/event",
        data=chunks,  # a generator: requests sends it chunked
        headers={"Content-Type": "application/json"},
        timeout=10,
    )

    assert answer.request.headers["Transfer-Encoding"] == "chunked"
    assert answer.status_code == 202, answer.text
    assert answer.json()["event"]["user_id"] == BRIEF_SAMPLE[1]["user_id"]


def test_a_chunked_body_over_every_limit_is_a_413(production):
    chunks = (b"x" * 60_000 for _ in range(10))  # 600 KB: over 512 KB, the largest limit

    answer = requests.post(f"{production}/v1/events", data=chunks, timeout=10)

    assert answer.status_code == 413
