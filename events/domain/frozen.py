"""Frozen dataclasses built about as fast as mutable ones.

The `__init__` that `dataclasses` writes for a frozen class sets each field with
`object.__setattr__(self, "name", value)`, since the class's own `__setattr__`
refuses: a look-up by name per field, several times what a plain assignment
costs. The domain builds several of these per event (the event, the user's state
and its window, the decision records), so `quick_init` gives a slotted frozen
dataclass an `__init__` that sets each slot through the slot's own descriptor:
the same parameters, defaults and default factories, the same object, in about
half the time. Nothing else of the class changes: it is as frozen as before.
"""

import dataclasses
import inspect
from types import MemberDescriptorType
from typing import Any, TypeVar

_T = TypeVar("_T")


class _Factory:
    """The default of a parameter whose field has a default factory."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def quick_init(cls: type[_T]) -> type[_T]:
    """`cls`, a frozen dataclass with slots (apply it over `@dataclass`), with a quicker
    `__init__` of the same signature."""
    generated = cls.__init__
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__: quick_init does not call it")
    namespace: dict[str, Any] = {"_FACTORY": _FACTORY}
    positional: list[str] = []
    keywords: list[str] = []
    body: list[str] = []
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        namespace.update(_names_of(cls, field))
        body += _setting(field)
        if field.init:
            (keywords if field.kw_only else positional).append(_parameter(field))
    parameters = ["self", *positional, *(["*", *keywords] if keywords else [])]
    source = f"def __init__({', '.join(parameters)}):\n" + "".join(body or ["    pass\n"])
    exec(source, namespace)  # as dataclasses write their own
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = dict(generated.__annotations__)
    if _shape(inspect.signature(init)) != _shape(inspect.signature(generated)):
        raise TypeError(f"{cls.__name__} has an __init__ that quick_init does not reproduce")
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def _names_of(cls: type[Any], field: "dataclasses.Field[Any]") -> dict[str, Any]:
    """What `__init__` refers to for `field`: its slot's setter, its default or factory."""
    slot = inspect.getattr_static(cls, field.name, None)
    if not isinstance(slot, MemberDescriptorType):
        raise TypeError(f"{cls.__name__}.{field.name} is not a slot: use slots=True")
    names: dict[str, Any] = {f"_set_{field.name}": slot.__set__}
    if field.default_factory is not dataclasses.MISSING:
        names[f"_factory_{field.name}"] = field.default_factory
    if field.default is not dataclasses.MISSING:
        names[f"_default_{field.name}"] = field.default
    return names


def _setting(field: "dataclasses.Field[Any]") -> list[str]:
    """The line of `__init__` that sets `field`, if any: a field that is neither an argument
    nor has a default is left unset, as dataclasses leave it."""
    name = field.name
    has_factory = field.default_factory is not dataclasses.MISSING
    if field.init:
        value = f"_factory_{name}() if {name} is _FACTORY else {name}" if has_factory else name
    elif has_factory:
        value = f"_factory_{name}()"
    elif field.default is not dataclasses.MISSING:
        value = f"_default_{name}"
    else:
        return []
    return [f"    _set_{name}(self, {value})\n"]


def _parameter(field: "dataclasses.Field[Any]") -> str:
    if field.default_factory is not dataclasses.MISSING:
        return f"{field.name}=_FACTORY"
    if field.default is not dataclasses.MISSING:
        return f"{field.name}=_default_{field.name}"
    return field.name


def _shape(signature: inspect.Signature) -> list[tuple[str, Any, bool]]:
    return [
        (parameter.name, parameter.kind, parameter.default is inspect.Parameter.empty)
        for parameter in signature.parameters.values()
    ]
