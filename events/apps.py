from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"

    def ready(self) -> None:
        from eventsproject import bootstrap

        bootstrap.start()
