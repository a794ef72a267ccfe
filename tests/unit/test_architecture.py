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


@pytest.mark.parametrize(
    "module", ["events/domain/rules.py", "events/domain/decisions.py", "events/domain/events.py"]
)
def test_the_domain_and_the_rules_import_neither_notifications_nor_stores_nor_django(module):
    imported = imported_modules(ROOT / module)

    forbidden = {
        name
        for name in imported
        if name.startswith(("notifications", "django", "rest_framework", "redis"))
        or name in {"events.adapters.memory", "events.adapters.redis", "events.service.processing"}
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


# --- Folders by role, dependencies one way ----------------------------------------------
#
# eventsproject.platform (Redis, logs, redaction, rate limits, signatures) <- eventsproject.web
# (authentication, access, throttles, pagination, renderers, errors) <- notifications <- events
# <- the project (settings, the composition root, urls, serving); the apps call the
# composition root from their edges only (views, commands, AppConfig.ready).

PACKAGES = ("events", "notifications", "eventsproject")


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def import_graph() -> dict[str, set[str]]:
    """Each module of the service and the service's modules it imports (anywhere in it)."""
    modules = {module_name(path): path for path in service_modules()}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names if alias.name in modules}
            elif isinstance(node, ast.ImportFrom) and node.module in modules:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    found.add(submodule if submodule in modules else node.module)
        graph[name] = found - {name}
    return graph


def layer_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "eventsproject":
        return "eventsproject." + parts[1] if parts[1:2] in (["platform"], ["web"]) else "project"
    return parts[0]


def imports_between(source: str, target: str) -> list[str]:
    return sorted(
        f"{module} -> {imported}"
        for module, imported_modules_ in import_graph().items()
        for imported in imported_modules_
        if layer_of(module) == source and layer_of(imported) == target
    )


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module `start` imports, directly or through others."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for imported in graph[todo.pop()] - seen:
            seen.add(imported)
            todo.append(imported)
    return seen


def test_no_module_imports_itself_through_others():
    graph = import_graph()

    assert [module for module in graph if module in reachable(graph, module)] == []


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("eventsproject.platform", "eventsproject.web"),
        ("eventsproject.platform", "notifications"),
        ("eventsproject.platform", "events"),
        ("eventsproject.platform", "project"),
        ("eventsproject.web", "notifications"),
        ("eventsproject.web", "events"),
        ("eventsproject.web", "project"),
        ("notifications", "events"),
    ],
)
def test_dependencies_go_one_way(source, target):
    assert imports_between(source, target) == []


EDGES = ("/api/", "/management/", "/apps.py")


def test_the_apps_call_the_composition_root_from_their_edges_only():
    from_inside = [
        line
        for app in ("events", "notifications")
        for line in imports_between(app, "project")
        if not any(edge in "/" + line.split(" -> ")[0].replace(".", "/") + ".py" for edge in EDGES)
        and not line.endswith(" -> eventsproject")  # the package itself: its version
    ]

    assert from_inside == []


@pytest.mark.parametrize("module", ["eventsproject.settings", "eventsproject.config"])
def test_the_settings_import_nothing_of_the_apps(module):
    reached = reachable(import_graph(), module)

    assert sorted(name for name in reached if layer_of(name) in ("events", "notifications")) == []


def test_every_store_a_setting_may_name_has_its_entry_in_the_composition_root():
    from typing import get_args

    from eventsproject import bootstrap, config

    assert set(bootstrap.STORES) == set(get_args(config.Store))
    assert set(bootstrap.STORES) >= config.SHARED_STORES
