from django.urls import path

from events.apis import EventIngestApi, EventListApi
from notifications.apis import NotificationListApi

urlpatterns = [
    path("v1/event", EventIngestApi.as_view(), name="event-ingest"),
    path("v1/events", EventListApi.as_view(), name="event-list"),
    path("v1/notifications", NotificationListApi.as_view(), name="notification-list"),
]
