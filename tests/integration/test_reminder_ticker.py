"""Silence is measured by the server's wall clock: the ticker, driven by a fake clock."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from events.domain.decisions import Trigger, Verdict
from events.service import processing
from events.service.ticker import ReminderTicker
from tests.factories import FakeClock, launched, received, started, unknown
from tests.service import record_event, send_due_reminders

pytestmark = pytest.mark.both_stores


RECEIVED = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
DUE_AFTER = timedelta(minutes=10, seconds=30)  # the reminder delay and the allowed lateness


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(RECEIVED)


@pytest.fixture
def ticker(parts, clock) -> ReminderTicker:
    return ReminderTicker(parts.processor.send_due_reminders, utc_now=clock)


def post(event, clock):
    """Record the event as the API would, received at the clock's time."""
    return record_event(received(event, clock.now))


@pytest.mark.parametrize(
    "phone_clock_error",
    [
        pytest.param(timedelta(0), id="a right clock"),
        pytest.param(timedelta(minutes=-15), id="a phone 15 minutes slow"),
        pytest.param(timedelta(minutes=50), id="a phone 50 minutes fast"),
    ],
)
def test_a_silent_user_is_reminded_by_the_servers_clock_whatever_the_phones_clock_says(
    ticker, clock, delivered, phone_clock_error
):
    post(launched("a", RECEIVED + phone_clock_error), clock)

    clock.advance(minutes=10, seconds=29)
    ticker.tick()
    assert delivered() == []

    clock.advance(seconds=1)
    ticker.tick()
    [reminder] = delivered()
    assert reminder.user_id == "a"
    assert reminder.decision.trigger == Trigger.WALL_CLOCK


def test_a_start_in_time_cancels_the_reminder_before_it_is_due(ticker, clock, delivered):
    post(launched("a", RECEIVED), clock)
    clock.advance(minutes=9)
    post(started("a", RECEIVED + timedelta(minutes=9)), clock)

    clock.advance(minutes=5)
    ticker.tick()

    assert delivered() == []


def test_one_users_events_never_send_or_delay_another_users_reminder(ticker, clock, delivered):
    post(launched("a", RECEIVED - timedelta(minutes=15)), clock)  # a's phone is slow
    clock.advance(seconds=5)
    post(unknown("b", RECEIVED + timedelta(minutes=50)), clock)  # b's phone is fast
    post(launched("b", RECEIVED + timedelta(minutes=51)), clock)
    ticker.tick()
    assert delivered() == []

    clock.advance(minutes=10, seconds=25)  # a's due time, not yet b's
    ticker.tick()

    assert [n.user_id for n in delivered()] == ["a"]


def test_a_reminder_that_fails_to_send_holds_up_no_other_and_is_sent_once_its_lease_ends(
    ticker, clock, delivered, monkeypatch, caplog
):
    post(launched("a", RECEIVED), clock)
    post(launched("b", RECEIVED), clock)
    clock.advance(minutes=11)
    real = processing._remind_if_due
    failing = iter([RuntimeError("a broken store")])

    def failing_once(now, thresholds, state):
        if state.pending_reminder.user_id == "a" and (error := next(failing, None)):
            raise error
        return real(now, thresholds, state)

    monkeypatch.setattr(processing, "_remind_if_due", failing_once)
    ticker.tick()
    assert [n.user_id for n in delivered()] == ["b"]
    assert "could not send the reminder of user a" in caplog.text

    clock.advance(seconds=5)
    ticker.tick()
    assert [n.user_id for n in delivered()] == ["b"]
    clock.advance(seconds=30)
    ticker.tick()
    assert [n.user_id for n in delivered()] == ["b", "a"]


def test_a_sent_reminder_is_forgotten_once_a_late_start_would_be_a_retry(
    ticker, clock, delivered, repository
):
    post(launched("a", RECEIVED), clock)
    clock.advance(minutes=11)
    ticker.tick()
    clock.advance(hours=24)
    ticker.tick()

    post(started("a", RECEIVED + timedelta(minutes=5)), clock)

    assert [r.outcome for r in repository.decisions("a")] == [Verdict.SENT]
    assert repository.stats()["pending_reminders"] == 0


def test_a_burst_of_old_events_sends_nothing_before_its_users_fall_silent(ticker, clock, delivered):
    old = datetime(2021, 2, 28, 16, 0, tzinfo=UTC)
    for minute in range(9):
        post(launched(f"user{minute}", old + timedelta(minutes=minute)), clock)
        clock.advance(seconds=0.01)
    ticker.tick()

    assert delivered() == []


def test_the_allowed_lateness_delays_the_wall_clock_and_comes_from_settings(
    ticker, clock, delivered, thresholds
):
    thresholds(allowed_lateness=timedelta(seconds=90))
    post(launched("a", RECEIVED), clock)

    clock.advance(minutes=11, seconds=29)
    ticker.tick()
    assert delivered() == []

    clock.advance(seconds=1)
    ticker.tick()
    assert len(delivered()) == 1


def test_a_reminder_is_sent_once_however_often_the_clock_passes_it(ticker, clock, delivered):
    post(launched("a", RECEIVED), clock)
    clock.advance(minutes=11)
    ticker.tick()
    post(unknown("a", RECEIVED + timedelta(minutes=11)), clock)
    ticker.tick()

    assert len(delivered()) == 1


def test_a_start_that_arrives_after_the_wall_clock_sent_the_reminder_is_a_late_start(
    ticker, clock, delivered, repository
):
    post(launched("a", RECEIVED), clock)
    clock.advance(minutes=11)
    ticker.tick()
    # Stamped 9 minutes after the launch, delivered 2 minutes late by a bad network.
    post(started("a", RECEIVED + timedelta(minutes=9)), clock)

    outcomes = [record.outcome for record in repository.decisions("a")]
    assert outcomes == [Verdict.LATE_START_AFTER_SENT, Verdict.SENT]
    assert len(delivered()) == 1


def test_replayed_events_have_no_wall_clock_due_time(ticker, clock, delivered):
    record_event(launched("a", RECEIVED))  # no received_at: as replay_events records it

    clock.advance(days=1)
    ticker.tick()

    assert delivered() == []


def test_before_any_event_a_tick_sends_nothing(ticker, delivered):
    ticker.tick()

    assert delivered() == []


def test_a_started_ticker_ticks_by_itself_and_stops(monkeypatch):
    real = ReminderTicker(send_due_reminders, period=0.01)
    ticked = threading.Event()
    monkeypatch.setattr(real, "tick", ticked.set)

    real.start()
    assert real.alive
    assert ticked.wait(timeout=5)
    real.stop()

    assert not real.alive


def test_a_failing_tick_does_not_stop_the_ticker(monkeypatch):
    real = ReminderTicker(send_due_reminders, period=0.01)
    calls = []

    def failing_tick():
        calls.append(1)
        raise RuntimeError("boom")

    monkeypatch.setattr(real, "tick", failing_tick)
    real.start()
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    real.stop()

    assert len(calls) >= 3


def test_an_outage_is_logged_once_and_its_end_too(monkeypatch, caplog):
    real = ReminderTicker(send_due_reminders, period=0.01)
    outcomes = iter([RuntimeError("store down")] * 5)
    recovered = threading.Event()

    def tick():
        error = next(outcomes, None)
        if error is None:
            recovered.set()
            return
        raise error

    monkeypatch.setattr(real, "tick", tick)
    real.start()
    assert recovered.wait(timeout=5)
    time.sleep(0.05)
    real.stop()

    assert caplog.text.count("the reminder ticker failed: store down") == 1
    assert caplog.text.count("the reminder ticker works again after 5 failures") == 1
