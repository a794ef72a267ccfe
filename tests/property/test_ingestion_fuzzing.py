"""The ingestion endpoints and the paginated lists fuzzed from the OpenAPI schema by
schemathesis: every check, the coverage phase included, a bounded number of examples,
with the token production requires. Schema and server must agree: what the schema allows
is accepted, what it refuses gets a 4xx, and nothing gets a 5xx or an undocumented answer."""

import re
from functools import cache
from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.strategies._internal import regex

from events.schema_rules import LEGACY_DATE_TIME

TOKEN = "an-app-token"
ADMIN_TOKEN = "an-admin-token"

# Times are not explored here (tests/property/test_properties.py and the time model's tests
# do): which times the server takes depends on its clock and on other fields, as `sent_at`
# on `occurred_at`, which no schema states. Every time is the one of the schema's examples,
# which the coverage phase combines with generated ones.
schemathesis.openapi.format("date-time", st.just("2021-02-28T16:59:43Z"))
schemathesis.openapi.format(
    LEGACY_DATE_TIME, st.sampled_from(["2021-02-28 16:59:43", "2021-02-28T16:59:43Z"])
)

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

schema = schemathesis.openapi.from_wsgi("/v1/schema", get_wsgi_application())
schema.config.phases.coverage.enabled = True
# A query parameter an endpoint does not read is ignored, as HTTP APIs do: nothing in the
# schema forbids one, so there is nothing to reject.
schema.config.generation.update(allow_extra_parameters=False)
# A v2 event_id used again with other content is a conflict: a documented 409, not a
# rejection of the request's form.
schema.config.checks.positive_data_acceptance.expected_statuses = ["2XX", "409"]
# More events than a batch may hold is a documented 413, as a body too large is.
schema.config.checks.negative_data_rejection.expected_statuses.append("413")
ingestion = schema.include(method="POST", path_regex=r"^/v1/events?$")
#: Every paginated list (an operator's reads): `limit` and `offset` as the schema bounds them.
lists = schema.include(
    method="GET", path_regex=r"^/v1/(events|notifications|users/\{user_id\}/decisions)$"
)


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


@lists.parametrize()
@BOUNDED
def test_every_list_agrees_with_its_schema(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
