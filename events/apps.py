from datetime import timedelta

from django.apps import AppConfig
from django.conf import settings

from events.repository import EventRepository, InMemoryEventRepository


class EventsConfig(AppConfig):
    name = "events"
    repository: EventRepository

    def ready(self) -> None:
        from events import receivers, signals

        self.repository = InMemoryEventRepository(
            recent_limit=settings.EVENTS_RECENT_LIMIT,
            seen_limit=settings.EVENTS_SEEN_IDS_LIMIT,
            seen_max_age=timedelta(hours=settings.EVENTS_SEEN_IDS_MAX_AGE_HOURS),
        )
        signals.event_recorded.connect(receivers.run_rules, dispatch_uid="events.run_rules")
