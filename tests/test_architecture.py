"""The house's order: docs/ARCHITECTURE.md's floor table is the rule, the import graph of the code must follow it.

Every ``import`` of the project's Python files (also those inside functions) is an edge of the graph; an import
from a lower floor to a higher one, or any circle of modules, fails with the modules named. The floors are read
from the table in docs/ARCHITECTURE.md, so the document and the code cannot drift apart.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARCHITECTURE = REPO / "docs" / "ARCHITECTURE.md"
ENTRY_SCRIPTS = ("train.py", "test.py")  # top-level entry points; scripts/ and bench/ are packages of them


def floors_from_document(text: str) -> dict[str, int]:
    """Room (top-level package or script) -> floor number (0 = lowest) from the "## Floors" table: each row
    names its rooms in backticks in its third column, highest floor first."""
    section = text.split("## Floors", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|") and not line.startswith("| ---")][1:]
    floors: dict[str, int] = {}
    for number, row in enumerate(reversed(rows)):
        rooms = row.split("|")[3]
        for room in re.findall(r"`([^`]+)`", rooms):
            floors[room.rstrip("/")] = number
    return floors


def project_modules() -> dict[str, Path]:
    """Dotted module name -> file, for every Python file of the product (tests are not a floor)."""
    modules = {}
    for path in REPO.rglob("*.py"):
        relative = path.relative_to(REPO)
        if relative.parts[0] in ("tests", ".venv", "datasets", "checkpoints", "results", "runs") or \
                relative.parts[0].startswith("."):
            continue
        name = ".".join(relative.with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


def imported_modules(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``module`` imports, anywhere in the file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            # `from package import module` needs that module; `from package import name` needs the package's
            # __init__ (which defines the name)
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def room_of(module: str) -> str:
    top = module.split(".")[0]
    return f"{top}.py" if f"{top}.py" in ENTRY_SCRIPTS else top


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {module: imported_modules(module, path, modules) for module, path in modules.items()}


@pytest.fixture(scope="module")
def floors() -> dict[str, int]:
    return floors_from_document(ARCHITECTURE.read_text(encoding="utf-8"))


def test_every_room_is_on_a_floor(graph: dict[str, set[str]], floors: dict[str, int]) -> None:
    rooms = {room_of(module) for module in graph}
    assert rooms - set(floors) == set(), "rooms missing from docs/ARCHITECTURE.md's floor table"
    assert set(floors) - rooms == set(), "rooms in docs/ARCHITECTURE.md's floor table that the code does not have"


def test_no_import_goes_up_a_floor(graph: dict[str, set[str]], floors: dict[str, int]) -> None:
    upward = sorted(f"{module} (floor {floors[room_of(module)]}) imports {target} (floor {floors[room_of(target)]})"
                    for module, targets in graph.items() for target in targets
                    if floors[room_of(target)] > floors[room_of(module)])
    assert upward == []


def test_rooms_of_one_floor_do_not_import_each_other_except_entry_points(graph: dict[str, set[str]],
                                                                         floors: dict[str, int]) -> None:
    top = max(floors.values())
    sideways = sorted(f"{module} imports {target}" for module, targets in graph.items() for target in targets
                      if room_of(module) != room_of(target) and floors[room_of(module)] == floors[room_of(target)]
                      and floors[room_of(module)] != top)
    assert sideways == []


def test_no_circles(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_the_checks_find_what_they_look_for() -> None:
    """The graph tools on a made-up graph: a circle is found, and the floor table parses highest first."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    table = "## Floors\n\n| floor | what | modules |\n| --- | --- | --- |\n| top | x | `train.py`, `bench/` |\n" \
            "| low | y | `util/` |\n\n## Next\n| a | b | `c` |\n"
    assert floors_from_document(table) == {"train.py": 1, "bench": 1, "util": 0}


def test_every_netg_choice_has_a_generator() -> None:
    """--netG's accepted values (options/choices.py) and the factory's dispatch table name the same set."""
    from models.networks.factory import GENERATORS
    from options.choices import NETG_CHOICES

    assert set(GENERATORS) == set(NETG_CHOICES)
