"""`quick_init` (events/domain/frozen.py): the same objects as dataclasses' own `__init__`."""

import dataclasses
import inspect
from dataclasses import FrozenInstanceError, InitVar, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from events.domain import decisions, events
from events.domain.frozen import quick_init
from events.service.ingestion import Ingested
from events.service.processing import RecordResult


def _example() -> type[Any]:
    @dataclass(frozen=True, slots=True)
    class Example:
        first: int
        second: str = "two"
        listed: list[int] = field(default_factory=list)
        hidden: int = field(default=7, init=False)
        made: dict[str, int] = field(default_factory=dict, init=False)
        named: int | None = field(default=None, kw_only=True)
        required: str = field(kw_only=True)

    return Example


PLAIN, QUICK = _example(), quick_init(_example())

CALLS = [
    ((1,), {"required": "r"}),
    ((1, "b", [3]), {"required": "r", "named": 4}),
    ((), {"first": 1, "second": "b", "required": "r"}),
]


@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_it_sets_what_dataclasses_set(args, kwargs):
    plain, quick = PLAIN(*args, **kwargs), QUICK(*args, **kwargs)

    assert {f.name: getattr(quick, f.name) for f in dataclasses.fields(quick)} == {
        f.name: getattr(plain, f.name) for f in dataclasses.fields(plain)
    }


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {"required": "r"}), ((1,), {}), ((1, "b", [], 5), {"required": "r"}), ((1,), {"x": 1})],
    ids=["missing", "missing keyword", "too many", "unknown"],
)
def test_it_refuses_what_dataclasses_refuse(args, kwargs):
    with pytest.raises(TypeError):
        PLAIN(*args, **kwargs)
    with pytest.raises(TypeError):
        QUICK(*args, **kwargs)


def test_each_default_factory_makes_a_new_object():
    one, other = QUICK(1, required="r"), QUICK(1, required="r")

    assert one.listed == []
    assert one.listed is not other.listed
    assert one.made == {}
    assert one.made is not other.made


def test_the_object_stays_frozen():
    with pytest.raises(FrozenInstanceError):
        QUICK(1, required="r").first = 2


def test_the_signature_is_dataclasses():
    assert str(inspect.signature(QUICK.__init__)) == str(inspect.signature(PLAIN.__init__))


def test_a_class_without_slots_or_with_more_to_do_is_refused():
    @dataclass(frozen=True)
    class NoSlots:
        value: int

    @dataclass(frozen=True, slots=True)
    class PostInit:
        value: int

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True, slots=True)
    class WithInitVar:
        value: int
        extra: InitVar[int]

    for cls in (NoSlots, PostInit, WithInitVar):
        with pytest.raises(TypeError):
            quick_init(cls)


MOMENT = datetime(2021, 2, 28, 16, 22, 52, tzinfo=UTC)


def test_the_domain_s_classes_are_built_quickly_and_alike():
    launch = events.AppLaunched("e1", "u1", "d1", MOMENT, received_at=MOMENT)
    reminder = decisions.Reminder(launch, MOMENT)
    record = decisions.DecisionRecord(decisions.Verdict.SENT, "rule", (launch,), launch)

    assert launch == events.AppLaunched("e1", "u1", "d1", MOMENT)  # times apart from identity
    assert (launch.received_at, launch.sent_at, launch.timezone) == (MOMENT, None, None)
    assert (reminder.due_at, reminder.merged) == (None, ())
    assert record.figures == {}
    quick: list[type[Any]] = [
        events.Event,
        events.AppLaunched,
        events.TrainingProgramFinished,
        decisions.UserState,
        decisions.DecisionRecord,
        RecordResult,
        Ingested,
    ]
    assert all(cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__" for cls in quick)
    # Each sets its slots through their descriptors, not object.__setattr__.
    assert all("__setattr__" not in cls.__init__.__code__.co_names for cls in quick)
