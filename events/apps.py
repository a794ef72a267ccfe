from datetime import timedelta

from django.apps import AppConfig
from django.conf import settings

from events.repository import EventRepository, InMemoryEventRepository
from events.ticker import IdleTicker


class EventsConfig(AppConfig):
    name = "events"
    repository: EventRepository
    ticker: IdleTicker

    def ready(self) -> None:
        from events import receivers, services, signals

        self.repository = InMemoryEventRepository(
            recent_limit=settings.EVENTS_RECENT_LIMIT,
            seen_limit=settings.EVENTS_SEEN_IDS_LIMIT,
            seen_max_age=timedelta(hours=settings.EVENTS_SEEN_IDS_MAX_AGE_HOURS),
        )
        # Created everywhere, started only by a serving process (eventsproject.serving).
        self.ticker = IdleTicker(
            services.advance_clock,
            period=settings.EVENTS_TICK_SECONDS,
            lateness=timedelta(seconds=settings.EVENTS_TICK_LATENESS_SECONDS),
        )
        signals.event_recorded.connect(receivers.run_rules, dispatch_uid="events.run_rules")
