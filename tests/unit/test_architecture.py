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
        or name in {"events.repository", "events.redis_store", "events.processing"}
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
