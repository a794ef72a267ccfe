"""The WSGI middleware that gives a chunked body its length, in front of Django."""

import io

import pytest

from eventsproject.web.chunked import with_whole_bodies


def seen_by_django(environ):
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        start_response("202 Accepted", [])
        return [b"ok"]

    statuses = []
    answer = with_whole_bodies(app)(environ, lambda status, headers: statuses.append(status))
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


class FallsSilent(io.BytesIO):
    def read(self, size=-1):
        raise TimeoutError("timed out")


CHUNKED = {"REQUEST_METHOD": "POST", "HTTP_TRANSFER_ENCODING": "chunked"}


@pytest.mark.parametrize(
    ("environ", "status", "said"),
    [
        (
            {**CHUNKED, "wsgi.input": io.BytesIO(b"x" * 11)},
            "413 Request Entity Too Large",
            b"too large",
        ),
        ({**CHUNKED, "wsgi.input": FallsSilent()}, "408 Request Timeout", b"stopped arriving"),
        (
            {"REQUEST_METHOD": "POST", "wsgi.input": io.BytesIO(b"{}")},
            "411 Length Required",
            b"Content-Length",
        ),
    ],
    ids=["chunked over the largest limit", "chunked, then silent", "neither length nor chunks"],
)
def test_a_body_that_cannot_be_read_whole_never_reaches_django(settings, environ, status, said):
    settings.EVENTS_MAX_BODY_BYTES = settings.EVENTS_BATCH_MAX_BODY_BYTES = 10

    seen, answered, body = seen_by_django(environ)

    assert (seen, answered) == ({}, status)
    assert said in body


def test_other_requests_pass_untouched():
    environ = {"CONTENT_LENGTH": "2", "wsgi.input": io.BytesIO(b"{}")}

    seen, _, _ = seen_by_django(environ)

    assert seen == environ


def test_a_get_needs_no_length():
    environ = {"REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO(b"")}

    seen, status, _ = seen_by_django(environ)

    assert (seen["REQUEST_METHOD"], status) == ("GET", "202 Accepted")
