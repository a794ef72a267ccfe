"""The idle ticker, driven by a fake wall clock: reminders fire when no events arrive."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps

from events import services
from events.services import record_event
from events.ticker import IdleTicker
from tests.factories import at, launched, started, unknown


class FakeWallClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def wall() -> FakeWallClock:
    return FakeWallClock()


@pytest.fixture
def ticker(monkeypatch, wall) -> IdleTicker:
    fake = IdleTicker(services.advance_clock, wall_clock=wall)
    monkeypatch.setattr(apps.get_app_config("events"), "ticker", fake)
    return fake


def test_a_launch_followed_by_silence_gets_its_reminder_ten_minutes_later(ticker, wall, delivered):
    record_event(launched("a", at(0)))

    wall.advance(10 * 60)
    ticker.tick()
    assert delivered() == []

    wall.advance(1)
    ticker.tick()
    assert [n.user_id for n in delivered()] == ["a"]


def test_a_burst_of_old_events_does_not_fire_reminders_early(ticker, wall, delivered):
    for minute in range(0, 9):
        record_event(launched(f"user{minute}", at(minute)))
        wall.advance(0.01)
    ticker.tick()

    assert delivered() == []


def test_a_start_after_a_quiet_spell_still_cancels_within_the_deadline(ticker, wall, delivered):
    record_event(launched("a", at(0)))
    wall.advance(9 * 60)
    ticker.tick()

    record_event(started("a", at(9, 30)))
    wall.advance(5 * 60)
    ticker.tick()

    assert delivered() == []


def test_the_clock_follows_the_latest_event_not_a_late_one(ticker, wall, delivered):
    record_event(launched("a", at(0)))
    record_event(unknown("b", at(30)))
    wall.advance(1)
    record_event(unknown("c", at(5)))  # late: must not pull the ticker's reference back

    ticker.tick()

    assert [n.user_id for n in delivered()] == ["a"]


def test_the_lateness_allowance_keeps_the_clock_behind_wall_time(monkeypatch, wall, delivered):
    lenient = IdleTicker(services.advance_clock, lateness=timedelta(seconds=30), wall_clock=wall)
    monkeypatch.setattr(apps.get_app_config("events"), "ticker", lenient)
    record_event(launched("a", at(0)))

    wall.advance(10 * 60 + 20)
    lenient.tick()
    assert delivered() == []

    wall.advance(11)
    lenient.tick()
    assert len(delivered()) == 1


def test_before_any_event_a_tick_does_nothing(ticker, repository):
    ticker.tick()

    assert repository.clock is None


def test_a_started_ticker_ticks_by_itself_and_stops(monkeypatch):
    real = IdleTicker(services.advance_clock, period=0.01)
    ticked = threading.Event()
    monkeypatch.setattr(real, "tick", ticked.set)

    real.start()
    assert real.alive
    assert ticked.wait(timeout=5)
    real.stop()

    assert not real.alive


def test_a_failing_tick_does_not_stop_the_ticker(monkeypatch):
    real = IdleTicker(services.advance_clock, period=0.01)
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


def test_the_ticker_never_moves_the_clock_past_the_servers_time(monkeypatch, wall, repository):
    server_now = datetime(2030, 1, 1, tzinfo=UTC)
    capped = IdleTicker(services.advance_clock, wall_clock=wall, utc_now=lambda: server_now)
    monkeypatch.setattr(apps.get_app_config("events"), "ticker", capped)
    capped.saw_event(server_now + timedelta(minutes=50))

    wall.advance(60)
    capped.tick()

    assert repository.clock == server_now
