"""The README's timeline pictures (docs/timeline-foo1.svg, docs/timeline-foo2.svg) are the
brief's sample as it is drawn now: replayed (no server clock, so the same every time) and
drawn with the settings' defaults. `UPDATE_TIMELINE_DOCS=1 pytest` on this file draws
them again after a change to the picture."""

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from events.service import history
from events.service.ingestion import ingest
from events.wire import timeline_svg
from eventsproject.bootstrap import components
from tests.sample import BRIEF_SAMPLE

DOCS = Path(__file__).resolve().parents[2] / "docs"
#: What the stores keep by default (README, "Configuration").
DEFAULTS = history.Kept(
    decisions=100,
    recent_events=1000,
    reorder_window=timedelta(hours=6),
    sent_notifications=1000,
)


def drawn_sample(delivered) -> dict[Path, str]:
    for event in BRIEF_SAMPLE:
        ingest(components().processor, event)
    delivered()
    parts, drawn = components(), {}
    for user in ("foo1", "foo2"):
        timeline = history.user_timeline(
            parts.queries, parts.outbox, user, parts.thresholds, DEFAULTS, datetime.now(UTC)
        )
        picture = timeline_svg.svg(replace(timeline, drawn_at=None), standalone=True)
        drawn[DOCS / f"timeline-{user}.svg"] = picture
    return drawn


def test_the_readme_s_pictures_are_the_brief_s_sample_as_drawn_now(delivered):
    for path, picture in drawn_sample(delivered).items():
        if os.environ.get("UPDATE_TIMELINE_DOCS"):
            path.write_text(picture)
        assert path.read_text() == picture, f"{path.name} is stale: see this file's docstring"
