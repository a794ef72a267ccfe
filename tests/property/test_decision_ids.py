"""A decision's id is the UUID 5 of its rule and events, however it is written."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from events.domain.decisions import _DECISION_NAMESPACE, decision_id

NAMES = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)


@given(NAMES, st.lists(NAMES, max_size=4))
def test_a_decision_id_is_uuid5_of_the_rule_and_the_events(rule: str, event_ids: list[str]):
    expected = uuid.uuid5(_DECISION_NAMESPACE, ":".join((rule, *event_ids)))

    assert decision_id(rule, *event_ids) == str(expected)
