"""`ClassSignal` (events/service/signals.py) answers as Django's `Signal` does."""

import gc
from typing import Any

import pytest
from django.dispatch import Signal

from events.service.signals import ClassSignal


class Sender:
    pass


class Other:
    pass


def first(sender: Any, **kwargs: Any) -> str:
    return f"first {kwargs['value']}"


def second(sender: Any, **kwargs: Any) -> str:
    return f"second {kwargs['value']}"


def both() -> tuple[Signal, ClassSignal]:
    return Signal(use_caching=True), ClassSignal()


def answers(signal: Signal, sender: type, value: int = 1) -> list[tuple[Any, Any]]:
    return signal.send(sender=sender, value=value)


def test_receivers_answer_in_order_with_the_same_arguments_and_answers():
    django, ours = both()
    for signal in (django, ours):
        signal.connect(first)
        signal.connect(second, sender=Sender)
    for _ in range(2):  # resolved once, then from what was resolved
        assert (
            answers(ours, Sender)
            == answers(django, Sender)
            == [
                (first, "first 1"),
                (second, "second 1"),
            ]
        )
        assert answers(ours, Other, 2) == answers(django, Other, 2) == [(first, "first 2")]


def test_a_receiver_connected_or_disconnected_later_counts_from_then_on():
    django, ours = both()
    for signal in (django, ours):
        signal.connect(first)
        answers(signal, Sender)
        signal.connect(second)
    assert answers(ours, Sender) == answers(django, Sender)
    assert len(answers(ours, Sender)) == 2
    for signal in (django, ours):
        assert signal.disconnect(first)
    assert answers(ours, Sender) == answers(django, Sender) == [(second, "second 1")]


def test_a_signal_without_receivers_answers_nothing():
    django, ours = both()

    assert answers(ours, Sender) == answers(django, Sender) == []


def test_a_weak_receiver_collected_is_no_longer_called():
    class Listener:
        def heard(self, sender: Any, **kwargs: Any) -> str:
            return "heard"

    listener = Listener()
    ours = ClassSignal()
    ours.connect(listener.heard)
    assert [answer for _, answer in answers(ours, Sender)] == ["heard"]

    del listener
    gc.collect()

    assert answers(ours, Sender) == []


def test_an_exception_of_a_receiver_propagates():
    def broken(sender: Any, **kwargs: Any) -> None:
        raise ValueError("broken rule")

    ours = ClassSignal()
    ours.connect(broken)

    with pytest.raises(ValueError, match="broken rule"):
        answers(ours, Sender)
