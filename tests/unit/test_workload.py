"""The benchmarks' workloads: events that arrive late, and the memory benchmarks' users."""

from datetime import timedelta

from benchmarks import active_users, memory, workload
from events.service.ingestion import parse
from events.wire.serializers import EventFormat
from eventsproject import bootstrap

STREAM = list(workload.events(600, 40, seed=5))


def test_a_third_of_the_events_arrive_late_by_at_most_twenty_minutes():
    arrivals = workload.late_arrivals(STREAM)

    lateness = [arrival.at - workload.happened(arrival.event) for arrival in arrivals]
    assert sum(late > timedelta(0) for late in lateness) == 200
    assert min(lateness) == timedelta(0)
    assert max(lateness) <= timedelta(minutes=20)


def test_every_event_arrives_once_in_the_order_of_arrival():
    arrivals = workload.late_arrivals(STREAM)

    assert sorted(id(arrival.event) for arrival in arrivals) == sorted(map(id, STREAM))
    assert [arrival.at for arrival in arrivals] == sorted(arrival.at for arrival in arrivals)
    assert [arrival.event for arrival in arrivals] != STREAM


def test_events_arriving_together_keep_their_order():
    on_time = workload.late_arrivals(STREAM, share=0)

    assert [arrival.event for arrival in on_time] == STREAM  # many share a second


def test_the_same_seed_makes_the_same_events_late():
    assert workload.late_arrivals(STREAM) == workload.late_arrivals(STREAM)
    assert workload.late_arrivals(STREAM, seed=1) != workload.late_arrivals(STREAM)


def test_each_active_user_of_the_memory_benchmarks_holds_four_events_in_their_window(transport):
    clock = memory.WallClock(memory.START)
    parts = bootstrap.build(transport=transport, clock=clock)

    with bootstrap.installed(parts):
        memory.receive_all(parts, clock, active_users.opening(6, memory.START))

    states = [parts.repository.user_state(active_users.user_id(n)) for n in range(6)]
    assert [len(state.window.events) for state in states] == [active_users.WINDOW_EVENTS] * 6
    assert [bool(state.open_sessions) for state in states] == [True, False] * 3
    assert [state.pending_reminder is not None for state in states] == [False, True] * 3


def test_the_memory_benchmarks_users_are_all_forgotten_once_done(transport):
    clock = memory.WallClock(memory.START)
    parts = bootstrap.build(transport=transport, clock=clock)

    with bootstrap.installed(parts):
        parts.dispatcher.start()
        memory.one_round(parts, clock, 6, memory.START + timedelta(days=2))
        parts.dispatcher.close(timeout=5)

    assert parts.repository.stats()["users"] == 0
    # The earlier cycle's congratulations, then the reminders and the closing ones.
    assert len(transport.sent) == 6 + 3 + 3


def test_each_event_as_a_segment_message_is_the_same_event():
    for event in STREAM:
        own = parse(event)
        message = parse(workload.segment(event), EventFormat.SEGMENT)

        assert (message.event_type, message.user_id, message.device_id) == (
            own.event_type,
            own.user_id,
            own.device_id,
        )
        assert message.occurred_at == own.occurred_at
        assert getattr(message, "training_program_id", None) == getattr(
            own, "training_program_id", None
        )
