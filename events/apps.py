import gc
from datetime import timedelta

from django.apps import AppConfig
from django.conf import settings

from events.repository import EventRepository, InMemoryEventRepository
from events.rules import Thresholds
from events.ticker import ReminderTicker


class EventsConfig(AppConfig):
    name = "events"
    repository: EventRepository
    ticker: ReminderTicker
    thresholds: Thresholds

    def ready(self) -> None:
        from events import receivers, services, signals

        self.thresholds = Thresholds(
            reminder_delay=timedelta(seconds=settings.EVENTS_REMINDER_DELAY_SECONDS),
            training_dose=timedelta(seconds=settings.EVENTS_TRAINING_DOSE_SECONDS),
            allowed_lateness=timedelta(seconds=settings.EVENTS_ALLOWED_LATENESS_SECONDS),
        )
        self.repository = InMemoryEventRepository(
            recent_limit=settings.EVENTS_RECENT_LIMIT,
            seen_limit=settings.EVENTS_SEEN_IDS_LIMIT,
            seen_max_age=timedelta(hours=settings.EVENTS_SEEN_IDS_MAX_AGE_HOURS),
            decisions_per_user=settings.EVENTS_DECISION_LOG_LIMIT,
            users_with_history=settings.EVENTS_DECISION_LOG_USERS,
        )
        # Created everywhere, started only by a serving process (eventsproject.serving).
        self.ticker = ReminderTicker(
            services.send_due_reminders, period=settings.EVENTS_TICK_SECONDS
        )
        signals.event_recorded.connect(receivers.run_rules, dispatch_uid="events.run_rules")
        _tune_garbage_collector(settings.EVENTS_GC_GEN0_THRESHOLD)


def _tune_garbage_collector(gen0_threshold: int) -> None:
    """Every process that processes events loads this app: the server and the commands."""
    if gen0_threshold:
        gc.set_threshold(gen0_threshold, *gc.get_threshold()[1:])
