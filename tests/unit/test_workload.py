"""The benchmarks' workload: events that arrive late."""

from datetime import timedelta

from benchmarks import workload

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
