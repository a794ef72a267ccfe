"""The events app's one custom signal."""

from django.dispatch import Signal

#: Sent once per accepted event, after it is recorded.
#: sender: the event's class. provides args: event (an `events.domain.Event`).
#: Receivers run synchronously inside event processing; an exception propagates
#: to the caller (no `send_robust`), so a broken rule is loud, never silent.
event_recorded = Signal(use_caching=True)  # receivers looked up once per event class
