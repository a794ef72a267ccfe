"""A request leaves nothing for the garbage collector: what it built is freed as its answer
is, by reference counting. DRF ties its view, request and response into reference cycles;
left to the collector, they made its young collections run every few milliseconds of a
load and pause the server while they did (benchmarks/analysis.md, issue 28, target 1)."""

import gc
import io
import json

from django.core.handlers.wsgi import WSGIHandler

from tests.sample import BRIEF_SAMPLE


def serve(application: WSGIHandler, body: bytes) -> str:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/v1/event",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
    }
    statuses = []
    answer = application(environ, lambda status, headers, *_: statuses.append(status))
    b"".join(answer)
    answer.close()
    return statuses[0]


def test_posting_events_leaves_no_reference_cycles():
    application = WSGIHandler()
    bodies = [json.dumps({**event, "user_id": "cycles"}).encode() for event in BRIEF_SAMPLE]
    serve(application, bodies[0])  # what a first request builds once and keeps
    gc.collect()
    gc.disable()
    try:
        statuses = [serve(application, body) for body in bodies[1:]]
        found = gc.collect()
    finally:
        gc.enable()

    assert set(statuses) == {"202 Accepted"}
    assert found == 0
