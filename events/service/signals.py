"""The events app's one custom signal."""

import weakref
from collections.abc import Callable
from typing import Any

from django.dispatch import Signal

#: The receivers of one sender: each a callable, or a weak reference to one.
_Receivers = tuple[tuple[Any, bool], ...]


class ClassSignal(Signal):
    """A `Signal` whose senders are classes (each event's), sent to for every event.

    Django's `send` looks the sender's receivers up on every call (two weak-keyed
    look-ups, a walk over them, two new lists), which costs more than calling them.
    Here each sender's receivers are resolved once, and again after any receiver
    connects, disconnects or is collected: `send` calls them as Django's would, with
    the same arguments and the same answer. A sender with an async receiver goes
    Django's way every time.
    """

    def __init__(self) -> None:
        super().__init__(use_caching=True)
        self._resolved: dict[Any, _Receivers | None] = {}  # None: Django's way
        self._generation = 0

    def connect(self, *args: Any, **kwargs: Any) -> None:
        super().connect(*args, **kwargs)
        self._forget()

    def disconnect(self, *args: Any, **kwargs: Any) -> bool:
        disconnected: bool = super().disconnect(*args, **kwargs)
        self._forget()
        return disconnected

    def _remove_receiver(self, receiver: Any = None) -> None:
        super()._remove_receiver(receiver)  # type: ignore[misc]  # not in the stubs
        self._forget()

    def send(self, sender: Any, **named: Any) -> list[tuple[Callable[..., Any], Any]]:
        try:
            receivers = self._resolved[sender]
        except KeyError:
            receivers = self._resolve(sender)
        if receivers is None:
            return super().send(sender, **named)
        responses = []
        for receiver, weak in receivers:
            live = receiver() if weak else receiver
            if live is not None:  # a weak one collected since: skipped, as Django does
                responses.append((live, live(signal=self, sender=sender, **named)))
        return responses

    def _resolve(self, sender: Any) -> _Receivers | None:
        """The sender's receivers, from Django's own look-up; None if any is async."""
        generation = self._generation
        _, asynchronous = self._live_receivers(sender)  # which Django caches, as found
        found = self.sender_receivers_cache.get(sender)
        if found is None:
            return None  # forgotten meanwhile: Django's way, this once
        entries = found if isinstance(found, list) else []  # else: none for this sender
        receivers = None
        if not asynchronous:
            receivers = tuple(
                (receiver, isinstance(receiver, weakref.ReferenceType)) for receiver, _ in entries
            )
        if generation == self._generation:  # no receiver came or went meanwhile
            self._resolved[sender] = receivers
        return receivers

    def _forget(self) -> None:
        self._generation += 1
        self._resolved = {}


#: Sent for each new event, inside its user's unit of work, before anything is saved: a
#: store that retries its commit sends it again, and Redis may send it for an event its
#: commit then finds recorded already (a duplicate: nothing decided is saved).
#: sender: the event's class. provides args: event (an `events.domain.events.Event`), state
#: (the user's `UserState`) and thresholds (the rules' `Thresholds`). Each receiver
#: returns a list of decisions, which are carried out and saved together; a receiver
#: only decides. An exception propagates to the caller (no `send_robust`) and nothing is
#: saved, so a broken rule is loud, never silent.
event_recorded = ClassSignal()  # receivers looked up once per event class

#: Sent once a unit of work that decided something is saved, after the store's commit.
#: sender: `DecisionRecord`. provides args: records (the `DecisionRecord`s saved). For who
#: watches what the rules decide (a what-if's tally); a receiver's exception propagates
#: to the caller, after the save.
decisions_saved = Signal()
