"""The declarations of event types (events/domain/events.py): names, and each declared once."""

from dataclasses import dataclass

import pytest

from events.domain.events import EVENT_TYPES, AppLaunched, Event, EventTypes, UnknownEvent


def test_a_type_is_named_by_its_declaration_in_every_vocabulary():
    types = EventTypes()

    @types.declare("workout_rated")
    @dataclass(frozen=True, slots=True)
    class WorkoutRated(Event):
        pass

    (declaration,) = types
    assert WorkoutRated.event_type == "workout_rated"
    assert (declaration.legacy_name, declaration.segment_name) == ("workout_rated", "Workout Rated")
    assert types.class_named("workout_rated") is WorkoutRated


def test_the_app_launch_keeps_its_names_in_the_brief_s_format_and_in_segment():
    (launch,) = [each for each in EVENT_TYPES if each.event_class is AppLaunched]

    assert (launch.name, launch.legacy_name, launch.segment_name) == (
        "app_launched",
        "app_launch",
        "Application Opened",
    )


@pytest.mark.parametrize("name", ["app_launched", "unknown"])
def test_a_name_taken_cannot_be_declared_again(name):
    with pytest.raises(ValueError, match="declared twice"):

        @EVENT_TYPES.declare(name)
        @dataclass(frozen=True, slots=True)
        class Again(Event):
            pass


def test_the_stores_read_unknown_events_under_their_own_name():
    assert EVENT_TYPES.class_named("unknown") is UnknownEvent


@pytest.mark.parametrize(
    ("name", "names"),
    [("application_opened", {}), ("app_launch_v3", {"legacy": "app_launch"})],
    ids=["Segment's name", "the legacy name"],
)
def test_a_name_another_type_has_in_any_format_cannot_be_taken(name, names):
    with pytest.raises(ValueError, match="'app_launched' is"):

        @EVENT_TYPES.declare(name, **names)
        @dataclass(frozen=True, slots=True)
        class Clash(Event):
            pass
