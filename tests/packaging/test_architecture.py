"""The house rules of convsim's layout, checked on the source itself.

The README's module table describes floors: each room imports only from its
own floor or the floors below it, so data flows one way and a newcomer can read
the package from the bottom up. These tests read every module with ``ast``
(imports inside functions count too) and fail with the offending lines when a
change breaks a rule:

* no import points up a floor (:data:`FLOORS`);
* there are no import cycles;
* no module is longer than ~400 lines, no function longer than ~60 (not
  counting its docstring): past that, a learner reading the code loses the
  thread.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Floors from the bottom up; a module's floor is that of the longest matching
#: name. ``convsim.lessons`` is the top-level ``lessons/`` folder.
FLOORS = [
    ("convsim", "runtime, shapes, validation, random"),
    ("convsim.runtime", "runtime, shapes, validation, random"),
    ("convsim.shapes", "runtime, shapes, validation, random"),
    ("convsim.validation", "runtime, shapes, validation, random"),
    ("convsim.random", "runtime, shapes, validation, random"),
    ("convsim.errors", "runtime, shapes, validation, random"),
    ("convsim.files", "runtime, shapes, validation, random"),
    ("convsim.kernels", "kernels"),
    ("convsim.ops", "ops"),
    ("convsim.activations", "building blocks and data"),
    ("convsim.initializers", "building blocks and data"),
    ("convsim.losses", "building blocks and data"),
    ("convsim.metrics", "building blocks and data"),
    ("convsim.optimizers", "building blocks and data"),
    ("convsim.datasets", "building blocks and data"),
    ("convsim.preprocessing", "building blocks and data"),
    ("convsim.layers", "layers"),
    ("convsim.utils", "training"),
    ("convsim.training", "training"),
    ("convsim.callbacks", "training"),
    ("convsim.models", "models"),
    ("convsim.trace", "trace"),
    ("convsim.viz", "viz"),
    ("convsim.lesson", "lesson engine"),
    ("convsim.experiments", "experiments"),
    ("convsim.lessons", "lessons"),
    ("convsim.__main__", "command line"),
]
ORDER = list(dict.fromkeys(floor for _, floor in FLOORS))
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def source_files() -> dict[str, Path]:
    """Every module of the package, by its import name."""
    files = {}
    for folder, package in ((ROOT / "convsim", "convsim"),
                            (ROOT / "lessons", "convsim.lessons")):
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            files[".".join([package, *parts])] = path
    return files


def floor_of(module: str) -> int:
    name = max((prefix for prefix, _ in FLOORS
                if module == prefix or module.startswith(prefix + ".")), key=len)
    return ORDER.index(dict(FLOORS)[name])


def imports_of(module: str, path: Path, modules: set[str]) -> list[tuple[str, int]]:
    """``(imported convsim module, line)`` for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            # ``from convsim import ops``: ops is a module; ``from convsim import
            # __version__``: an attribute of the package itself.
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                     for a in node.names]
        else:
            continue
        found += [(name, node.lineno) for name in names
                  if name == "convsim" or name.startswith("convsim.")]
    return found


def import_graph() -> dict[str, list[tuple[str, int]]]:
    files = source_files()
    return {module: imports_of(module, path, set(files))
            for module, path in files.items()}


def test_every_module_has_a_floor():
    unplaced = [m for m in source_files() if not any(
        m == p or m.startswith(p + ".") for p, _ in FLOORS)]
    assert not unplaced, f"add these modules to FLOORS: {unplaced}"


#: The one import allowed to point up: ``convsim.explain``, a shortcut that
#: ``convsim/__init__.py`` imports when it is first used (PEP 562), so that
#: ``import convsim`` loads nothing above the bottom floor (and no cycle is
#: made at import time: the test below checks it in a fresh interpreter).
SHORTCUTS = {("convsim", "convsim.trace.explain")}


def test_no_import_points_up_a_floor():
    files = source_files()
    upward = []
    for module, imported in import_graph().items():
        for target, line in imported:
            if (module, target) in SHORTCUTS:
                continue
            if floor_of(target) > floor_of(module):
                upward.append(f"{files[module].relative_to(ROOT)}:{line} {module} "
                              f"({ORDER[floor_of(module)]}) imports {target} "
                              f"({ORDER[floor_of(target)]})")
    assert not upward, "imports that point up a floor:\n" + "\n".join(upward)


def test_the_shortcuts_are_lazy():
    """``import convsim`` loads no shortcut's module (a fresh interpreter)."""
    import subprocess
    import sys

    code = ("import sys, convsim; print(sorted(m for m in sys.modules "
            "if m.startswith('convsim')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, check=True).stdout
    assert loaded.strip() == "['convsim']"
    import convsim
    from convsim.trace import explain

    assert convsim.explain is explain and "explain" in dir(convsim)


def test_no_import_cycles():
    graph = {m: sorted({t for t, _ in imported
                        if t != m and (m, t) not in SHORTCUTS})
             for m, imported in import_graph().items()}
    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    assert not cycles, "import cycles: " + "; ".join(
        " <-> ".join(sorted(c)) for c in cycles)


def strongly_connected(graph: dict[str, list[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the groups of modules that import each other."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, []):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            groups.append(group)

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def test_modules_stay_short_enough_to_read():
    long = [f"{path.relative_to(ROOT)}: {n} lines" for path in source_files().values()
            if (n := len(path.read_text(encoding="utf-8").splitlines()))
            > MAX_MODULE_LINES]
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def function_lengths(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                body = body[1:]  # the docstring does not count
            if body:
                yield node.name, node.lineno, body[-1].end_lineno - body[0].lineno + 1


def test_functions_stay_short_enough_to_read():
    long = [f"{path.relative_to(ROOT)}:{line} {name}() {n} lines"
            for path in source_files().values()
            for name, line, n in function_lengths(path) if n > MAX_FUNCTION_LINES]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(long)


@pytest.mark.parametrize("rule", [test_no_import_points_up_a_floor,
                                  test_no_import_cycles])
def test_the_rules_catch_a_violation(rule, monkeypatch):
    """The checks above can fail: an upward import and a cycle are found."""
    fake = {"convsim.ops": [("convsim.layers.base", 1)],
            "convsim.layers.base": [("convsim.ops", 1)]}
    monkeypatch.setitem(globals(), "import_graph", lambda: fake)
    monkeypatch.setitem(globals(), "source_files", lambda: {
        name: ROOT / "convsim" / "ops.py" for name in fake})
    with pytest.raises(AssertionError):
        rule()


#: Built-in errors convsim must not raise itself: a user meets a class of
#: convsim.errors instead (also a ValueError/TypeError/OSError/RuntimeError).
#: IndexError, KeyError, AttributeError and NotImplementedError keep Python's
#: protocols (sequences, mappings, attributes, abstract methods) working.
BUILTIN_ERRORS = {"ValueError", "TypeError", "OSError", "RuntimeError",
                  "FileNotFoundError", "FileExistsError", "IsADirectoryError",
                  "MemoryError", "Exception"}


def test_convsim_raises_only_its_own_errors():
    found = []
    for path in source_files().values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                name = getattr(node.exc.func, "id", None)
                if name in BUILTIN_ERRORS:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} raise {name}")
    assert not found, "raise convsim.errors classes instead:\n" + "\n".join(found)
