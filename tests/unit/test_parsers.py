"""The body-limited JSON parser's answers to bodies that cannot be read."""

import gzip
import io
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from django.http import UnreadablePostError
from rest_framework.exceptions import ParseError

from events.wire.parsers import LimitedJSONParser, PayloadTooLarge
from eventsproject.web.chunked import BodyNotReceived


class FallsSilent(io.BytesIO):
    def read(self, size=-1):
        raise UnreadablePostError("timed out")


def test_a_body_that_stops_arriving_is_a_408_naming_why():
    with pytest.raises(BodyNotReceived) as refused:
        LimitedJSONParser().parse(FallsSilent())

    assert refused.value.status_code == 408
    assert "stopped arriving" in str(refused.value.detail)


def test_a_whole_body_is_parsed():
    assert LimitedJSONParser().parse(io.BytesIO(b'{"a": 1}')) == {"a": 1}


def parse(body: bytes, encoding: str = "") -> Any:
    request = SimpleNamespace(META={"HTTP_CONTENT_ENCODING": encoding})
    return LimitedJSONParser().parse(io.BytesIO(body), parser_context={"request": request})


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (b'{"user_id": "a", "user_id": "b"}', "user_id"),
        (b'{"a": 1, "\\u0061": 2}', "a"),  # the same key, escaped
        (b'[{"ok": 1}, {"data": {"device_id": "d", "device_id": "e"}}]', "device_id"),
        (b'{"a": {"b": 1, "c": 2}, "a": {"b": 1, "c": 2}}', "a"),  # even with equal values
        (b'{"a": 1, "a": "\\u003a"}', "a"),  # an escaped colon makes up for the lost one
        (b'{"a": ' * 300 + b'{"b": 1, "b": 2}' + b"}" * 300, "b"),  # deeper than orjson writes
    ],
)
def test_a_duplicate_key_in_any_object_is_a_parse_error_naming_it(body, key):
    with pytest.raises(ParseError) as refused:
        parse(body)

    assert refused.value.detail == f"JSON parse error - duplicate key {key!r} in an object."
    assert refused.value.detail.code == "duplicate_key"


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "x\\":", "b\\\\": 1, "c": ["d\\"", {"d": "\\"e\\": 1"}]}',  # quotes in strings
        b'{"a": {"a": {"a": 1}}, "b": [{"a": 1}, {"a": 2}]}',  # one name in other objects
        b'{"a\\u003ab": "\\u003A", "c": {"d": [1, {"d": 2}]}, "d": "{:}"}',  # escaped colons
    ],
)
def test_objects_without_duplicate_keys_parse_as_before(body):
    assert parse(body) == orjson.loads(body)


def test_nesting_as_deep_as_orjson_reads_is_checked_without_recursion():
    deepest = parse(b'{"a": ' * 1000 + b"1" + b"}" * 1000)
    for _ in range(1000):
        deepest = deepest["a"]

    assert deepest == 1


def test_gzip_with_bytes_after_its_end_is_a_parse_error_saying_so():
    with pytest.raises(ParseError) as refused:
        parse(gzip.compress(b'{"a": 1}') + b"\x00garbage", "gzip")

    assert refused.value.detail == "The gzip body has 8 bytes after its end."


def test_gzip_of_several_members_is_read_whole_as_rfc_1952_allows():
    assert parse(gzip.compress(b'{"a": ') + gzip.compress(b"1}"), "gzip") == {"a": 1}


def test_the_limit_counts_every_gzip_member(settings):
    settings.EVENTS_MAX_BODY_BYTES = 1000
    half = gzip.compress(b" " * 600)

    with pytest.raises(PayloadTooLarge):
        parse(half + half + gzip.compress(b"{}"), "gzip")
