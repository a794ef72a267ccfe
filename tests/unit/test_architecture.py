"""The seams hold: the rules only decide, and only the composition root wires."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", ["events/rules.py", "events/decisions.py", "events/domain.py"])
def test_the_domain_and_the_rules_import_neither_notifications_nor_stores_nor_django(module):
    imported = imported_modules(ROOT / module)

    forbidden = {
        name
        for name in imported
        if name.startswith(("notifications", "django", "rest_framework", "redis"))
        or name in {"events.adapters.memory", "events.adapters.redis", "events.processing"}
    }
    assert forbidden == set()


def test_only_the_composition_root_builds_stores_and_dispatchers():
    builders = ("InMemoryEventRepository(", "RedisEventRepository(", "Dispatcher(")
    building = {
        str(path.relative_to(ROOT))
        for folder in ("events", "notifications", "eventsproject")
        for path in (ROOT / folder).rglob("*.py")
        if any(builder in path.read_text() for builder in builders)
    }

    assert building == {"eventsproject/bootstrap.py"}


#: Where a store's adapters live, and the modules that may name them: the composition root,
#: and the Redis connection of the platform (eventsproject/platform/redis.py).
ADAPTERS = ("events/adapters/", "notifications/adapters/")
MAY_NAME_ADAPTERS = {"eventsproject/bootstrap.py", "eventsproject/platform/redis.py"}


def service_modules() -> list[Path]:
    return [
        path
        for folder in ("events", "notifications", "eventsproject")
        for path in sorted((ROOT / folder).rglob("*.py"))
    ]


def test_only_the_composition_root_imports_an_adapter_or_redis():
    naming = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in imported_modules(path)
            if name == "redis"
            or name.startswith(("redis.", "eventsproject.platform.redis"))
            or ".adapters" in name
        )
        for path in service_modules()
        if not str(path.relative_to(ROOT)).startswith(ADAPTERS)
        and str(path.relative_to(ROOT)) not in MAY_NAME_ADAPTERS
    }

    assert {module: names for module, names in naming.items() if names} == {}


def test_no_module_outside_the_composition_root_picks_a_store_by_its_name():
    picking = [
        str(path.relative_to(ROOT))
        for path in service_modules()
        if "EVENTS_STORE ==" in path.read_text() or "EVENTS_STORE !=" in path.read_text()
    ]

    assert picking == ["eventsproject/config.py"]  # settings' own cross-checks
