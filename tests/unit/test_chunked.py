"""The WSGI middleware that gives a chunked body its length, in front of Django."""

import io

from eventsproject.chunked import with_chunked_bodies


def seen_by_django(environ):
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        start_response("202 Accepted", [])
        return [b"ok"]

    statuses = []
    answer = with_chunked_bodies(app)(environ, lambda status, headers: statuses.append(status))
    return seen, statuses[0], b"".join(answer)


def test_a_chunked_body_reaches_django_with_its_length():
    environ = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(b'{"a": 1}')}

    seen, status, _ = seen_by_django(environ)

    assert (status, seen["CONTENT_LENGTH"], seen["wsgi.input"].read()) == (
        "202 Accepted",
        "8",
        b'{"a": 1}',
    )
    assert "HTTP_TRANSFER_ENCODING" not in seen


def test_a_chunked_body_over_the_largest_limit_never_reaches_django(settings):
    settings.EVENTS_MAX_BODY_BYTES = settings.EVENTS_BATCH_MAX_BODY_BYTES = 10
    environ = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(b"x" * 11)}

    seen, status, body = seen_by_django(environ)

    assert (seen, status) == ({}, "413 Request Entity Too Large")
    assert b"too large" in body


def test_other_requests_pass_untouched():
    environ = {"CONTENT_LENGTH": "2", "wsgi.input": io.BytesIO(b"{}")}

    seen, _, _ = seen_by_django(environ)

    assert seen == environ


class FallsSilent(io.BytesIO):
    def read(self, size=-1):
        raise TimeoutError("timed out")


def test_a_chunked_body_that_stops_arriving_is_a_408_without_django():
    environ = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": FallsSilent()}

    seen, status, body = seen_by_django(environ)

    assert (seen, status) == ({}, "408 Request Timeout")
    assert b"stopped arriving" in body
