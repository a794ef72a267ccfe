"""An event's times: the device's, the server's, and the one the rules judge it by."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from events.domain.events import AppLaunched
from tests.factories import at, launched


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def test_segments_own_example_is_corrected_as_segment_corrects_it():
    # Segment's Common Fields spec: receivedAt 04:08:31.909, sentAt 04:08:31.581 and a
    # corrected timestamp of 04:08:31.905, so the device stamped the call at 04:08:31.577.
    event = AppLaunched(
        event_id="022bb90c-bbac-11e4-8dfc-aa07a5b093db",
        user_id="97980cfea0067",
        device_id="B5372DB0-C21E-11E4-8DFC-AA07A5B093DB",
        occurred_at=moment("2015-12-10T04:08:31.577Z"),
        sent_at=moment("2015-12-10T04:08:31.581Z"),
        received_at=moment("2015-12-10T04:08:31.909Z"),
    )

    assert event.effective_at == moment("2015-12-10T04:08:31.905Z")
    assert event.arrival == event.effective_at
    assert event.waited == timedelta(milliseconds=4)


def test_without_sent_at_the_device_time_is_judged_and_arrival_is_the_receive_time():
    received = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    event = replace(launched("u1", at(0)), received_at=received)

    assert event.effective_at == at(0)
    assert event.arrival == received
    assert event.waited is None


def test_in_a_replay_there_is_no_arrival_and_the_device_time_is_judged():
    event = replace(launched("u1", at(0)), sent_at=at(3))

    assert (event.effective_at, event.arrival, event.corrected_at) == (at(0), None, None)


def test_a_retry_with_another_sent_at_and_receive_time_is_the_same_event():
    first = replace(launched("u1", at(0)), sent_at=at(1), received_at=at(2))
    retry = replace(first, sent_at=at(5), received_at=at(6))

    assert first == retry
    assert hash(first) == hash(retry)
