"""The events app's one custom signal."""

from django.dispatch import Signal

#: Sent for each new event, inside its user's unit of work, before anything is saved: a
#: store that retries its commit sends it again, and Redis may send it for an event its
#: commit then finds recorded already (a duplicate: nothing decided is saved).
#: sender: the event's class. provides args: event (an `events.domain.events.Event`), state
#: (the user's `UserState`) and thresholds (the rules' `Thresholds`). Each receiver
#: returns a list of decisions, which are carried out and saved together; a receiver
#: only decides. An exception propagates to the caller (no `send_robust`) and nothing is
#: saved, so a broken rule is loud, never silent.
event_recorded = Signal(use_caching=True)  # receivers looked up once per event class

#: Sent once a unit of work that decided something is saved, after the store's commit.
#: sender: `DecisionRecord`. provides args: records (the `DecisionRecord`s saved). For who
#: watches what the rules decide (a what-if's tally); a receiver's exception propagates
#: to the caller, after the save.
decisions_saved = Signal()
