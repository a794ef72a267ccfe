"""The docs list every declared event type, in each format's names (README, docs/events.md):
a type declared without its docs fails here, as README's "Adding an event type" says."""

from pathlib import Path

import pytest

from events.domain.events import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[2]


def line_of(path: str, starting: str) -> str:
    """The first row that starts so: the type names of the format the file shows first."""
    return next(
        line for line in (ROOT / path).read_text().splitlines() if line.startswith(starting)
    )


@pytest.mark.parametrize(
    ("path", "row", "name_of"),
    [
        ("README.md", "| `type` |", lambda declaration: f"`{declaration.legacy_name}`"),
        ("docs/events.md", "| `type` |", lambda declaration: f"`{declaration.name}`"),
        ("docs/events.md", "| `event` |", lambda declaration: f"`{declaration.segment_name}`"),
    ],
)
def test_every_declared_type_is_in_the_docs_type_lists(path, row, name_of):
    listed = line_of(path, row)

    assert [name_of(each) for each in EVENT_TYPES if name_of(each) not in listed] == []
