"""The HTTP server of `manage.py run_workers`, which serves no API: its own `/metrics`,
`/v1/health`, `/v1/health/live` and `/v1/health/ready`, on EVENTS_WORKERS_HTTP_ADDRESS.

The standard library's server, in a thread of its own, answering one request at a time,
each cut off after `timeout` seconds: a scraper and a prober are all it expects, and no
client can hold more than that one thread for longer than that.
"""

import json
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from eventsproject import metrics, serving
from eventsproject.config import host_and_port

logger = logging.getLogger(__name__)

Answer = tuple[int, str, bytes]


def _report(report: dict[str, Any]) -> Answer:
    status = 200 if report["status"] == "ok" else 503
    return status, "application/json", json.dumps(report).encode()


PAGES: dict[str, Callable[[], Answer]] = {
    "/metrics": lambda: (200, CONTENT_TYPE_LATEST, metrics.exposition()),
    "/v1/health": lambda: _report(serving.health_report()),
    "/v1/health/live": lambda: _report(serving.liveness()),
    "/v1/health/ready": lambda: _report(serving.readiness()),
}
NOT_FOUND: Answer = (404, "application/json", b'{"detail": "Not found."}')
FAILED: Answer = (500, "application/json", b'{"detail": "A server error occurred."}')


class _Handler(BaseHTTPRequestHandler):
    timeout = 5  # seconds a client may take to send its request, or to read the answer
    server_version = "events-run-workers"

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, *, body: bool) -> None:
        status, content_type, content = _page(self.path.partition("?")[0])
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if body:
            self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)


def _page(path: str) -> Answer:
    page = PAGES.get(path)
    if page is None:
        return NOT_FOUND
    try:
        return page()
    except Exception:
        logger.exception("run_workers could not answer %s", path)
        return FAILED


class _Server(HTTPServer):
    def __init__(self, host: str, port: int) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)


class StatusServer:
    def __init__(self, address: str) -> None:
        """Bound at once: `OSError` if the address cannot be had."""
        self._server = _Server(*host_and_port(address))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
