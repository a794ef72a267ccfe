"""The body-limited JSON parser's answers to bodies that cannot be read."""

import io

import pytest
from django.http import UnreadablePostError

from events.parsers import BodyNotReceived, LimitedJSONParser


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
