from django.apps import AppConfig
from django.conf import settings

from events.repository import EventRepository, InMemoryEventRepository


class EventsConfig(AppConfig):
    name = "events"
    repository: EventRepository

    def ready(self) -> None:
        from events import receivers, signals

        self.repository = InMemoryEventRepository(recent_limit=settings.EVENTS_RECENT_LIMIT)
        signals.event_recorded.connect(receivers.run_rules, dispatch_uid="events.run_rules")
