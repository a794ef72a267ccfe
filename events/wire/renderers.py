"""The timeline's two representations (events/wire/timeline_svg.py): an HTML page with the
picture inline, and with `?format=svg` the SVG document alone; and the negotiation that
picks one, where an unknown `?format=` is a 400 that names the known ones."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.urls import reverse
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer

from events.wire import timeline_svg
from events.wire.timeline import Timeline


class TimelineRenderer(BaseRenderer):
    """Renders a `Timeline` with `draw`."""

    charset = "utf-8"

    def render(
        self,
        data: Timeline,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return self.draw(data).encode()

    def draw(self, timeline: Timeline) -> str:
        raise NotImplementedError


class TimelinePageRenderer(TimelineRenderer):
    media_type = "text/html"
    format = "html"

    def draw(self, timeline: Timeline) -> str:
        return timeline_svg.page(timeline, links(timeline.user_id))


class TimelineSvgRenderer(TimelineRenderer):
    media_type = "image/svg+xml"
    format = "svg"

    def draw(self, timeline: Timeline) -> str:
        return timeline_svg.svg(timeline, standalone=True)


def links(user_id: str) -> timeline_svg.PageLinks:
    """Where the page links to: the user's state, decision log, and this picture alone."""
    by_user = {"user_id": user_id}
    return timeline_svg.PageLinks(
        user=reverse("user-state", kwargs=by_user),
        decisions=reverse("user-decisions", kwargs=by_user),
        svg=reverse("user-timeline", kwargs=by_user) + "?format=svg",
    )


class FormatNegotiation(DefaultContentNegotiation):
    """DRF's, but a `?format=` no renderer has is a 400 naming those there are (DRF's is a
    bare 404, as if the user were unknown)."""

    def filter_renderers(
        self, renderers: Iterable[BaseRenderer], format: str
    ) -> list[BaseRenderer]:
        renderers = list(renderers)
        found = [renderer for renderer in renderers if renderer.format == format]
        if not found:
            known = ", ".join(str(renderer.format) for renderer in renderers)
            raise ValidationError({"format": [f"Choose one of {known}."]})
        return found
