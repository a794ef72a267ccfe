"""The ingestion endpoints and the paginated lists fuzzed from the OpenAPI schema by
schemathesis: every check, the coverage phase included (but for Segment's endpoints), a
bounded number of examples, with the token production requires. Schema and server must
agree: what the schema allows is accepted, what it refuses gets a 4xx, and nothing gets a
5xx or an undocumented answer."""

import re
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.strategies._internal import regex
from schemathesis.generation import GenerationMode

from events.api.schema_rules import LEGACY_DATE_TIME
from events.wire.serializers import MAX_WAIT

TOKEN = "an-app-token"
ADMIN_TOKEN = "an-admin-token"

# Times are drawn from a few fixed instants, far behind any clock this runs on, so that no
# answer depends on the server's clock. They straddle the bounds that hold whatever the
# clock says (2000-01-01, and `sent_at` from `occurred_at` to 30 days after it) and include
# what the server refuses however a time is spelled (1999, an empty legacy time): a format
# names a spelling, so it is the schema's other keywords that must exclude those, and
# schema-valid cases that the server refuses fail the test.
DATE_TIMES = [
    "1999-12-31T23:59:59Z",
    "2000-01-01T00:00:00Z",
    "2021-02-28T16:59:43Z",
    "2021-03-30T16:59:43Z",  # 30 days after the one before: the longest wait
]
LEGACY_TIMES = ["", "1999-12-31 23:59:59", "2000-01-01 00:00:00", "2021-02-28 16:59:43"]
schemathesis.openapi.format("date-time", st.sampled_from(DATE_TIMES))
schemathesis.openapi.format(LEGACY_DATE_TIME, st.sampled_from(LEGACY_TIMES + DATE_TIMES))
#: An event's device times, which the server checks together: (occurred, sent).
DEVICE_TIMES = [("occurred_at", "sent_at"), ("originalTimestamp", "sentAt")]

# Hypothesis builds a pattern's strategy anew on each call, one code point of a character class
# at a time, and the Text pattern's class holds 280,000 of them: remembered, the coverage phase
# takes seconds instead of minutes. The strategy depends only on the pattern and the alphabet.
_build_regex_strategy = regex.base_regex_strategy


@cache
def _regex_strategy(pattern: re.Pattern[str], alphabet: str) -> Any:
    return _build_regex_strategy(pattern, alphabet=_alphabets[alphabet])


_alphabets: dict[str, Any] = {}


def _remembered_regex_strategy(pattern: re.Pattern[str], *, parsed: Any, alphabet: Any) -> Any:
    _alphabets.setdefault(repr(alphabet), alphabet)
    return _regex_strategy(pattern, repr(alphabet))


regex.base_regex_strategy = _remembered_regex_strategy  # type: ignore[assignment]


FUZZED_ZONES = {"UTC", "Etc/UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu"}


def _loaded(*, coverage: bool) -> Any:
    """The served schema, with what every run here shares."""
    loaded = schemathesis.openapi.from_wsgi("/v1/schema", get_wsgi_application())
    # The served enum of time zones has every name of the tz database (~600): the coverage
    # phase would send each one. A few stand for them all (test_schema.py holds the enum
    # to the tz database).
    zones = loaded.raw_schema["components"]["schemas"]["TimeZone"]
    zones["enum"] = [name for name in zones["enum"] if name in FUZZED_ZONES]
    loaded.config.phases.coverage.enabled = coverage
    # A query parameter an endpoint does not read is ignored, as HTTP APIs do: nothing in the
    # schema forbids one, so there is nothing to reject.
    loaded.config.generation.update(allow_extra_parameters=False)
    # An event_id (messageId) used again with other content is a conflict: a documented 409,
    # not a rejection of the request's form.
    loaded.config.checks.positive_data_acceptance.expected_statuses = ["2XX", "409"]
    # More events than a batch may hold is a documented 413, as a body too large is.
    rejection = loaded.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    loaded.hook(map_case)
    return loaded


def map_case(context: Any, case: Any) -> Any:
    """A schema-valid event whose `sent_at` is before its `occurred_at` or more than 30 days
    after it is sent with the two equal: no JSON Schema can compare two fields, so the schema
    only says so in words. Negative cases are sent as drawn."""
    positive = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
    if positive and isinstance(case.body, dict):
        for occurred, sent in DEVICE_TIMES:
            if not _within_wait(case.body.get(occurred), case.body.get(sent)):
                case.body[sent] = case.body[occurred]
    return case


def _within_wait(occurred: object, sent: object) -> bool:
    if not (isinstance(occurred, str) and isinstance(sent, str)):
        return True  # one is missing: nothing to compare
    if occurred not in DATE_TIMES or sent not in DATE_TIMES:
        return True  # not a time the strategy drew: left to the schema
    waited = datetime.fromisoformat(sent) - datetime.fromisoformat(occurred)
    return timedelta(0) <= waited <= MAX_WAIT


schema = _loaded(coverage=True)
ingestion = schema.include(method="POST", path_regex=r"^/v1/events?$")
#: Every paginated list (an operator's reads): `limit` and `offset` as the schema bounds them.
lists = schema.include(
    method="GET", path_regex=r"^/v1/(events|notifications|users/\{user_id\}/decisions)$"
)
# Segment's endpoints without the coverage phase: it would add some 45 s to the collection
# (the Text pattern's cases again), and the fuzzing phase alone finds their disagreements.
segment = _loaded(coverage=False).include(method="POST", path_regex=r"^/v1/(track|batch)$")


@pytest.fixture(autouse=True)
def production(settings):
    settings.EVENTS_ALLOW_ANONYMOUS = False
    settings.EVENTS_API_TOKENS = [TOKEN]
    settings.EVENTS_ADMIN_TOKENS = [ADMIN_TOKEN]


BOUNDED = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same cases on every run, so CI cannot go red by chance
    suppress_health_check=list(HealthCheck),
)


@ingestion.parametrize()
@BOUNDED
def test_ingestion_agrees_with_its_schema(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"})


@segment.parametrize()
@BOUNDED
def test_segment_ingestion_agrees_with_its_schema(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"})


@lists.parametrize()
@BOUNDED
def test_every_list_agrees_with_its_schema(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
