from typing import Any

from django.urls import include, path
from django.views.decorators.csrf import csrf_protect
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from events.api.views import (
    EventCollectionApi,
    EventIngestApi,
    RulesApi,
    SegmentBatchApi,
    SegmentTrackApi,
    UserDecisionListApi,
    UserStateApi,
    UserTimelineApi,
)
from eventsproject.apis import HealthApi, metrics_view
from eventsproject.web import (
    login,
    schema,  # noqa: F401  (registers the auth scheme for the docs)
)
from notifications.api.views import (
    NotificationDetailApi,
    NotificationListApi,
    NotificationResendApi,
)

PUBLIC: dict[str, Any] = {"authentication_classes": [], "permission_classes": [AllowAny]}

urlpatterns = [
    path("v1/event", EventIngestApi.as_view(), name="event-ingest"),
    path("v1/events", EventCollectionApi.as_view(), name="event-collection"),
    path("v1/track", SegmentTrackApi.as_view(), name="segment-track"),
    path("v1/batch", SegmentBatchApi.as_view(), name="segment-batch"),
    path("v1/rules", RulesApi.as_view(), name="rules"),
    path("v1/users/<str:user_id>", UserStateApi.as_view(), name="user-state"),
    path("v1/users/<str:user_id>/decisions", UserDecisionListApi.as_view(), name="user-decisions"),
    path("v1/users/<str:user_id>/timeline", UserTimelineApi.as_view(), name="user-timeline"),
    path("v1/notifications", NotificationListApi.as_view(), name="notification-list"),
    path(
        "v1/notifications/<str:notification_id>",
        NotificationDetailApi.as_view(),
        name="notification-detail",
    ),
    path(
        "v1/notifications/<str:notification_id>/resend",
        NotificationResendApi.as_view(),
        name="notification-resend",
    ),
    path("v1/health", HealthApi.as_view(), name="health"),
    path("metrics", metrics_view, name="metrics"),
    # Public pages read no credentials: an unknown token gets them as no token does.
    path("v1/schema", SpectacularAPIView.as_view(**PUBLIC), name="schema"),
    # The page's "Try it out" sends the CSRF token a login cookie needs: the cookie's own.
    path(
        "v1/docs",
        csrf_protect(SpectacularSwaggerView.as_view(url_name="schema", **PUBLIC)),
        name="docs",
    ),
    # A person's login; the namespace is the one DRF's navbar links to.
    path("", include((login.urlpatterns, "rest_framework"))),
]

handler400 = "eventsproject.web.error_pages.bad_request"
handler404 = "eventsproject.web.error_pages.not_found"
handler500 = "eventsproject.web.error_pages.server_error"
