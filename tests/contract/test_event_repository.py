"""The event repository's contract: every adapter passes the very same tests."""

import threading
from dataclasses import replace
from datetime import timedelta
from types import MappingProxyType

import pytest

from events.adapters.memory import InMemoryEventRepository
from events.domain.decisions import NO_STATE, DecisionRecord, Reminder, UserState, Verdict
from events.ports import Arrival, Change, UnitOfWork
from tests.contract.conftest import NOW
from tests.factories import at, launched, received, reminder_for, started, unknown


def opening(event):
    """A change that opens `event`'s session, with a record and a notification."""

    def change_of(state: UserState) -> Change:
        sessions = {**state.open_sessions, event.training_program_id: event}
        record = DecisionRecord(Verdict.CANCELLED, "a_rule", (event,), about=event)
        after = replace(state, open_sessions=MappingProxyType(sessions))
        return Change(after, [record], [reminder_for(event.user_id, len(sessions))])

    return change_of


def arming(launch, due_at=None):
    reminder = Reminder(launch, deadline=launch.occurred_at + timedelta(minutes=10), due_at=due_at)
    return reminder, lambda state: Change(replace(state, pending_reminder=reminder))


def clearing(state: UserState) -> Change:
    return Change(NO_STATE)


def never_saved(event):
    """The change of a duplicate or a conflict, which a store may decide on (Redis does,
    before its commit finds the id checked in) but never saves: it would open a session."""
    return opening(replace(event, training_program_id="never-saved"))


def test_a_new_event_saves_the_state_the_records_and_the_notifications_together(make_stores):
    stores = make_stores()
    event = started("a", at(0))

    committed = stores.repository.update("a", opening(event), event=event)

    assert committed.arrival is Arrival.NEW
    assert stores.repository.user_state("a").open_sessions == {"p1": event}
    assert [record.about for record in stores.repository.decisions("a")] == [event]
    assert [entry.notification for entry in stores.outbox.entries()] == [reminder_for("a", 1)]
    assert stores.repository.event_counts() == {"training_program_started": 1}
    assert stores.repository.recent_events() == [event]
    assert stores.outbox.oldest_pending_since(NOW) == NOW  # pending from its commit on


def test_the_decision_log_is_newest_first(make_stores):
    stores = make_stores()
    first, second = started("a", at(0), program="p1"), started("a", at(1), program="p2")
    for event in (first, second):
        stores.repository.update("a", opening(event), event=event)

    assert [record.about for record in stores.repository.decisions("a")] == [second, first]


def test_an_event_seen_before_is_a_duplicate_and_saves_nothing(make_stores):
    stores = make_stores()
    event = started("a", at(0))
    stores.repository.update("a", opening(event), event=event)

    committed = stores.repository.update("a", never_saved(event), event=event)

    assert (committed.arrival, committed.change) == (Arrival.DUPLICATE, None)
    assert stores.repository.user_state("a").open_sessions == {"p1": event}
    assert len(stores.repository.decisions("a")) == 1
    assert len(stores.outbox.entries()) == 1


def test_an_id_seen_before_with_other_content_is_a_conflict(make_stores):
    stores = make_stores()
    event = started("a", at(0))
    stores.repository.update("a", opening(event), event=event)
    other = replace(event, occurred_at=at(5))

    committed = stores.repository.update("a", opening(other), event=other)

    assert committed.arrival is Arrival.CONFLICT
    assert stores.repository.user_state("a").open_sessions == {"p1": event}


def test_the_same_event_id_from_another_user_is_another_event(make_stores):
    stores = make_stores()
    event = started("a", at(0))
    stores.repository.update("a", opening(event), event=event)
    theirs = replace(event, user_id="b")

    assert stores.repository.update("b", opening(theirs), event=theirs).arrival is Arrival.NEW


def test_a_failing_decision_saves_nothing_and_its_retry_is_new(make_stores):
    stores = make_stores()
    event = started("a", at(0))

    def broken(state):
        raise RuntimeError("a bug in a rule")

    with pytest.raises(RuntimeError):
        stores.repository.update("a", broken, event=event)

    assert stores.repository.user_state("a") == NO_STATE
    assert stores.repository.decisions("a") == []
    assert stores.outbox.entries() == []
    assert stores.repository.update("a", opening(event), event=event).arrival is Arrival.NEW


def test_an_update_without_an_event_checks_nothing_in(make_stores):
    stores = make_stores()
    event = started("a", at(0))

    stores.repository.update("a", opening(event))

    assert stores.repository.user_state("a").open_sessions == {"p1": event}
    assert stores.repository.update("a", opening(event), event=event).arrival is Arrival.NEW


def test_a_user_left_with_nothing_open_is_forgotten(make_stores):
    stores = make_stores()
    event = started("a", at(0))
    stores.repository.update("a", opening(event), event=event)
    assert stores.repository.stats()["open_sessions"] == 1

    stores.repository.update("a", clearing)

    assert stores.repository.user_state("a") == NO_STATE
    assert stores.repository.stats()["open_sessions"] == 0
    assert stores.repository.stats()["users_with_open_sessions"] == 0


def test_a_due_reminder_is_claimed_once_at_its_due_time_and_again_after_its_lease(make_stores):
    stores = make_stores()
    launch = received(launched("a", at(0)), NOW)
    _, arm = arming(launch, due_at=NOW + timedelta(minutes=10))
    stores.repository.update("a", arm, event=launch)

    assert stores.repository.claim_due_reminders(NOW + timedelta(minutes=9)) == []
    assert stores.repository.claim_due_reminders(NOW + timedelta(minutes=10)) == ["a"]
    assert stores.repository.claim_due_reminders(NOW + timedelta(minutes=10, seconds=1)) == []
    assert stores.repository.claim_due_reminders(NOW + timedelta(minutes=11)) == ["a"]


def test_a_reminder_no_longer_pending_is_not_claimed(make_stores):
    stores = make_stores()
    launch = received(launched("a", at(0)), NOW)
    _, arm = arming(launch, due_at=NOW + timedelta(minutes=10))
    stores.repository.update("a", arm, event=launch)

    stores.repository.update("a", clearing)

    assert stores.repository.claim_due_reminders(NOW + timedelta(hours=1)) == []


def test_pending_reminders_come_in_deadline_order(make_stores):
    stores = make_stores()
    for user, minute in (("late", 5), ("early", 1), ("middle", 3)):
        _, arm = arming(launched(user, at(minute)))
        stores.repository.update(user, arm)

    pending = stores.repository.pending_reminders()

    assert [reminder.user_id for reminder in pending] == ["early", "middle", "late"]
    assert stores.repository.stats()["pending_reminders"] == 3


def test_unknown_events_are_counted_by_type(make_stores):
    stores = make_stores()
    for n in range(2):
        event = unknown("a", at(n))
        stores.repository.update("a", Change, event=event)

    assert stores.repository.event_counts() == {"unknown": 2}


def post_one_by_one(repository, events):
    for event in events:
        repository.update("a", opening(event), event=event)


def post_in_pairs(repository, events):
    for start in range(0, len(events), 2):
        pair = events[start : start + 2]
        repository.update_many([UnitOfWork("a", opening(event), event) for event in pair])


@pytest.mark.parametrize("post", [post_one_by_one, post_in_pairs], ids=["one by one", "pairs"])
def test_concurrent_updates_of_one_user_lose_nothing(make_stores, post):
    stores = make_stores()
    events = [started("a", at(0), program=f"p{n}") for n in range(40)]

    threads = [
        threading.Thread(target=post, args=(stores.repository, events[n::8])) for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(stores.repository.user_state("a").open_sessions) == 40
    assert len(stores.repository.decisions("a")) == 40


def test_one_users_slow_update_does_not_hold_up_another_user(make_stores):
    stores = make_stores()
    inside, release = threading.Event(), threading.Event()

    def slow(state):
        inside.set()
        release.wait(timeout=10)
        return Change(state)

    slow_one = threading.Thread(target=stores.repository.update, args=("a", slow))
    slow_one.start()
    assert inside.wait(timeout=5)
    try:
        event = started("b", at(0))
        other = threading.Thread(target=stores.repository.update, args=("b", opening(event), event))
        other.start()
        other.join(timeout=5)
        assert not other.is_alive()
    finally:
        release.set()
        slow_one.join()


# --- several units of work at once (batches and replays) ---------------------------


def test_units_of_work_together_are_recorded_as_if_one_after_another(make_stores):
    stores = make_stores()
    a1, a2 = started("a", at(0), program="p1"), started("a", at(2), program="p2")
    b1 = started("b", at(1))
    work = [UnitOfWork(e.user_id, opening(e), e) for e in (a1, b1, a2)]

    committed = stores.repository.update_many(work)

    assert [c.arrival for c in committed] == [Arrival.NEW] * 3
    assert [c.change.notifications for c in committed] == [
        [reminder_for("a", 1)],
        [reminder_for("b", 1)],
        [reminder_for("a", 2)],
    ]
    assert stores.repository.user_state("a").open_sessions == {"p1": a1, "p2": a2}
    assert [record.about for record in stores.repository.decisions("a")] == [a2, a1]
    assert len(stores.outbox.entries()) == 3
    assert stores.repository.recent_events() == [a2, b1, a1]


def test_an_id_again_in_the_same_units_is_a_duplicate_or_a_conflict_and_saves_nothing(
    make_stores,
):
    stores = make_stores()
    event = started("a", at(0))
    seen_before = started("b", at(0))
    stores.repository.update("b", opening(seen_before), event=seen_before)
    other = replace(event, occurred_at=at(5))

    committed = stores.repository.update_many(
        [
            UnitOfWork("a", opening(event), event),
            UnitOfWork("a", never_saved(event), event),
            UnitOfWork("a", never_saved(other), other),
            UnitOfWork("b", never_saved(seen_before), seen_before),
        ]
    )

    arrivals = [c.arrival for c in committed]
    assert arrivals == [Arrival.NEW, Arrival.DUPLICATE, Arrival.CONFLICT, Arrival.DUPLICATE]
    assert stores.repository.user_state("a").open_sessions == {"p1": event}
    assert stores.repository.user_state("b").open_sessions == {"p1": seen_before}
    assert len(stores.repository.decisions("a")) == len(stores.repository.decisions("b")) == 1


def test_a_failing_decision_among_units_keeps_those_before_it(make_stores):
    stores = make_stores()
    first, second = started("a", at(0)), started("b", at(0))

    def broken(state):
        raise RuntimeError("a bug in a rule")

    with pytest.raises(RuntimeError):
        stores.repository.update_many(
            [UnitOfWork("a", opening(first), first), UnitOfWork("b", broken, second)]
        )

    assert stores.repository.user_state("a").open_sessions == {"p1": first}
    assert stores.repository.user_state("b") == NO_STATE
    assert stores.repository.update("b", opening(second), event=second).arrival is Arrival.NEW


def test_a_user_changed_elsewhere_while_units_decide_is_decided_again_in_order(make_stores):
    stores = make_stores()
    if isinstance(stores.repository, InMemoryEventRepository):
        pytest.skip(
            "the memory store holds the user's lock while deciding: no update comes between"
        )
    elsewhere = started("a", at(0), program="p0")
    first, second = started("a", at(1), program="p1"), started("a", at(2), program="p2")
    interfered = []

    def first_change(state):
        if not interfered:  # another process records an event of the same user meanwhile
            interfered.append(stores.repository.update("a", opening(elsewhere), elsewhere))
        return opening(first)(state)

    committed = stores.repository.update_many(
        [UnitOfWork("a", first_change, first), UnitOfWork("a", opening(second), second)]
    )

    assert [c.arrival for c in committed] == [Arrival.NEW, Arrival.NEW]
    assert [c.change.notifications for c in committed] == [
        [reminder_for("a", 2)],
        [reminder_for("a", 3)],
    ]
    about = [record.about for record in stores.repository.decisions("a")]
    assert about == [second, first, elsewhere]


def test_an_id_recorded_elsewhere_meanwhile_answers_its_repeats_as_it_answers_the_first(
    make_stores,
):
    stores = make_stores()
    if isinstance(stores.repository, InMemoryEventRepository):
        pytest.skip(
            "the memory store holds the user's lock while deciding: no update comes between"
        )
    event = started("a", at(0))
    elsewhere = replace(event, occurred_at=at(5))  # the same id, other content

    def first_change(state):
        stores.repository.update("a", opening(elsewhere), elsewhere)  # another process
        return opening(event)(state)

    committed = stores.repository.update_many(
        [UnitOfWork("a", first_change, event), UnitOfWork("a", never_saved(event), event)]
    )

    assert [c.arrival for c in committed] == [Arrival.CONFLICT, Arrival.CONFLICT]
    assert stores.repository.user_state("a").open_sessions == {"p1": elsewhere}
