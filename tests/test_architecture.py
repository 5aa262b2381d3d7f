"""nnframe's architecture rules, read from its own source with ``ast``.

Each rule is a test parametrized by module, so that a failure names the module, the line
and what to change. The rules: no import cycle, no function-level import of an nnframe
module, no module over 600 lines, no private name imported across modules, and a one-line
summary docstring on every module.

``KNOWN_OFFENDERS`` lists, per rule, the modules that broke it when these tests were
written, each with the reason; their cases are expected failures (``xfail``, not strict)
until the change that fixes them lands and its entry is removed. Any other module that
breaks a rule fails. The last tests plant each kind of offence in a small package and
check that the rules find it, so a rule cannot pass by finding nothing.
"""

from __future__ import annotations

import ast
import functools
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 600

# Module -> why it is allowed to break the rule for now, for a change that cannot fix it at
# once; each entry is removed when its fix lands. Empty: every module keeps every rule.
KNOWN_OFFENDERS: dict[str, dict[str, str]] = {
    "import cycle": {},
    "function-level import": {},
    "module length": {},
    "private import": {},
    "module docstring": {},
}


# -- reading a package --------------------------------------------------------------------


@dataclass(frozen=True)
class Module:
    """One module of a package: its dotted name, its source and whether it is an ``__init__``."""

    name: str
    path: Path
    is_package: bool
    text: str

    @functools.cached_property
    def tree(self) -> ast.Module:
        return ast.parse(self.text, filename=str(self.path))

    @property
    def package(self) -> str:
        """The package that relative imports in this module start from."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclass(frozen=True)
class Import:
    """One import statement, resolved to the module it loads.

    ``target`` is the module whose code the import runs: ``from nnframe import io`` loads
    ``nnframe.io`` (a submodule), ``from nnframe import Linear`` loads ``nnframe`` (its
    ``__init__``). ``names`` are the names the statement takes from ``target``.
    """

    target: str
    names: tuple[str, ...]
    line: int
    in_function: bool
    type_checking: bool


def read_package(root: Path, package: str) -> dict[str, Module]:
    """Every module of ``package`` (a directory under ``root``), by dotted name."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        modules[name] = Module(name, path, is_package, path.read_text(encoding="utf-8"))
    return modules


@functools.cache
def nnframe_modules() -> dict[str, Module]:
    return read_package(ROOT, "nnframe")


def is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``: the test of an ``if`` mypy alone enters."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def resolve(
    module: Module, node: ast.Import | ast.ImportFrom, known: set[str]
) -> list[tuple[str, tuple[str, ...]]]:
    """The modules in ``known`` that one import of ``module`` loads, with the names it takes."""
    if isinstance(node, ast.Import):
        loaded = [(alias.name, ()) for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: "." is the module's own package, ".." its parent
            parts = module.package.split(".")
            parts = parts[: len(parts) - node.level + 1]
            base = ".".join([*parts, base] if base else parts)
        # "from package import name" loads a submodule itself; any other name comes from
        # the package's __init__.
        submodules = [alias.name for alias in node.names if f"{base}.{alias.name}" in known]
        others = tuple(alias.name for alias in node.names if alias.name not in submodules)
        loaded = [(f"{base}.{name}", ()) for name in submodules]
        if others:
            loaded.append((base, others))
    return [(target, names) for target, names in loaded if target in known]


def imports(module: Module, known: set[str]) -> list[Import]:
    """Every import of ``module`` that loads a module in ``known``, with where it sits."""
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            for target, names in resolve(module, node, known):
                found.append(Import(target, names, node.lineno, in_function, type_checking))
            return
        if isinstance(node, ast.If) and is_type_checking(node.test):
            for child in node.body:
                visit(child, in_function, True)
            for child in node.orelse:
                visit(child, in_function, type_checking)
            return
        is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, in_function or is_function, type_checking)

    visit(module.tree, False, False)
    return found


# -- the rules ----------------------------------------------------------------------------


def import_graph(modules: dict[str, Module]) -> dict[str, set[str]]:
    """Module -> the modules it loads when it is imported (imports at module level, run time)."""
    return graph_of(tuple(modules.values()))


@functools.cache
def graph_of(modules: tuple[Module, ...]) -> dict[str, set[str]]:
    known = {module.name for module in modules}
    return {
        module.name: {
            item.target for item in imports(module, known)
            if not item.in_function and not item.type_checking and item.target != module.name
        }
        for module in modules
    }


def shortest_cycle(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """The shortest import cycle through ``start``, as ``[start, ..., start]``; None if none."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for target in sorted(graph.get(current, ())):
            if target == start:
                path = [current]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if target not in came_from:
                came_from[target] = current
                queue.append(target)
    return None


def cycle_offences(modules: dict[str, Module], name: str) -> list[str]:
    cycle = shortest_cycle(import_graph(modules), name)
    return [" -> ".join(cycle)] if cycle else []


def function_level_offences(modules: dict[str, Module], name: str) -> list[str]:
    return [
        f"line {item.line}: imports {item.target}"
        for item in imports(modules[name], set(modules))
        if item.in_function and not item.type_checking
    ]


def length_offences(modules: dict[str, Module], name: str) -> list[str]:
    lines = len(modules[name].text.splitlines())
    return [f"{lines} lines, over {MAX_LINES}"] if lines > MAX_LINES else []


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_offences(modules: dict[str, Module], name: str) -> list[str]:
    """Private names this module imports, or reads as attributes of an imported module."""
    module = modules[name]
    found = []
    aliases: dict[str, str] = {}  # a local name bound to an nnframe module -> that module
    for item in imports(module, set(modules)):
        for imported in item.names:
            if is_private(imported):
                found.append(f"line {item.line}: imports {imported} from {item.target}")
        # A private module is its package's own: importing it from outside is an offence.
        parts = item.target.split(".")
        private = [index for index, part in enumerate(parts) if is_private(part)]
        owner = ".".join(parts[: private[0]]) if private else ""
        if private and not (name == owner or name.startswith(owner + ".")):
            found.append(f"line {item.line}: imports the private module {item.target}")
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            aliases.update({a.asname: a.name for a in node.names if a.asname and a.name in modules})
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            aliases.update({
                a.asname or a.name: f"{node.module}.{a.name}" for a in node.names
                if f"{node.module}.{a.name}" in modules
            })
    for node in ast.walk(module.tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and is_private(node.attr)):
            found.append(f"line {node.lineno}: uses {aliases[node.value.id]}.{node.attr}")
    return found


def docstring_offences(modules: dict[str, Module], name: str) -> list[str]:
    """A module docstring whose first line says what the module holds, standing alone."""
    docstring = ast.get_docstring(modules[name].tree, clean=False)
    if not docstring or not docstring.strip():
        return ["no module docstring"]
    lines = docstring.strip().splitlines()
    if len(lines) > 1 and lines[1].strip():
        return ["the docstring's summary runs over more than one line"]
    return []


RULES = {
    "import cycle": cycle_offences,
    "function-level import": function_level_offences,
    "module length": length_offences,
    "private import": private_offences,
    "module docstring": docstring_offences,
}


def cases(rule: str) -> list[object]:
    """One case per nnframe module; a known offender's case is an expected failure."""
    params = []
    for name in nnframe_modules():
        reason = KNOWN_OFFENDERS[rule].get(name)
        marks = [pytest.mark.xfail(strict=False, reason=reason)] if reason else []
        params.append(pytest.param(name, id=name, marks=marks))
    return params


def assert_follows(rule: str, name: str, advice: str) -> None:
    offences = RULES[rule](nnframe_modules(), name)
    assert not offences, f"{name} breaks the {rule} rule ({advice}):\n  " + "\n  ".join(offences)


# -- the tests ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", cases("import cycle"))
def test_module_is_on_no_import_cycle(name):
    """A module must not import, through any chain of module-level imports, itself.

    In a cycle, one module always runs against a half-initialised other, so the import
    order decides what works; and the arrows of the layering (layers know nothing of
    training, the registry depends on Layer) stop meaning anything. A package's
    ``__init__`` is a module like any other; imports under ``if TYPE_CHECKING:`` never
    run and do not count.
    """
    assert_follows("import cycle", name, "make one of the imports point the other way")


@pytest.mark.parametrize("name", cases("function-level import"))
def test_module_imports_nnframe_at_module_level_only(name):
    """Imports of nnframe modules sit at the top of the module, not inside functions.

    An import inside a function hides a dependency (usually one that would close a
    cycle) from the reader and from the cycle test above, and fails only when the
    function first runs. Type-only imports go under ``if TYPE_CHECKING:``; optional
    third-party extras may still be imported inside the functions that need them.
    """
    assert_follows("function-level import", name, "import at the top, or move the code")


@pytest.mark.parametrize("name", cases("module length"))
def test_module_is_at_most_600_lines(name):
    """A module is at most 600 lines: past that it holds more than one job; split it."""
    assert_follows("module length", name, "split it by job")


@pytest.mark.parametrize("name", cases("private import"))
def test_module_uses_no_private_name_of_another_module(name):
    """A leading underscore means "this module's own": no other module imports it.

    A helper two modules need is public, documented and tested, in the module whose job
    it is; otherwise a module's private code can never change without breaking another.
    A private module (``_common.py``) is its package's: only modules inside that package
    import from it.
    """
    assert_follows("private import", name, "make the helper public where it belongs")


@pytest.mark.parametrize("name", cases("module docstring"))
def test_module_docstring_starts_with_a_one_line_summary(name):
    """Every module opens with a docstring whose first line, alone, says what it holds.

    That line is what ``help()``, the API reference and the next engineer read first
    (STYLE.md section 6); longer text, where a module needs it, follows a blank line.
    """
    assert_follows("module docstring", name, "write one line saying what the module holds")


def test_known_offenders_name_existing_modules():
    """Every allow-listed module exists: an entry left behind by a rename allows nothing."""
    stale = [
        f"{rule}: {name}"
        for rule, offenders in KNOWN_OFFENDERS.items()
        for name in offenders
        if name not in nnframe_modules()
    ]
    assert not stale, "remove these KNOWN_OFFENDERS entries: " + ", ".join(stale)


# -- the rules find what they should ------------------------------------------------------


PLANTED = {
    "__init__.py": '"""A package."""\nfrom pkg import a\nfrom pkg.b import helper\n',
    "a.py": (
        '"""Module a: imports b at the top, c only for types."""\n'
        "from typing import TYPE_CHECKING\n\n"
        "from . import b\n"
        "if TYPE_CHECKING:\n    from pkg import c\n"
        "else:\n    import json\n"
    ),
    "b.py": (
        '"""Module b: closes the cycle through the package."""\n'
        "import pkg\n"
        "from pkg.sub._hidden import thing\n\n"
        "def helper():\n    from pkg import c\n    return c\n"
    ),
    "c.py": "from pkg.a import _secret\nimport pkg.a as alias\n\nx = alias._other\n",
    "sub/__init__.py": '"""Subpackage."""\nfrom ._hidden import thing\n',
    "sub/_hidden.py": '"""Hidden,\nwith a summary that runs on."""\n' + "thing = 1\n" * 599,
}


@pytest.fixture
def planted(tmp_path: Path) -> dict[str, Module]:
    for relative, text in PLANTED.items():
        path = tmp_path / "pkg" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return read_package(tmp_path, "pkg")


def test_the_rules_find_planted_offences(planted):
    graph = import_graph(planted)
    assert graph["pkg.a"] == {"pkg.b"}  # the TYPE_CHECKING import is no edge
    assert graph["pkg"] == {"pkg.a", "pkg.b"}  # a submodule, and a name of one
    assert graph["pkg.b"] == {"pkg", "pkg.sub._hidden"}  # not the function-level import
    assert cycle_offences(planted, "pkg.a") == ["pkg.a -> pkg.b -> pkg -> pkg.a"]
    assert cycle_offences(planted, "pkg.c") == []
    assert function_level_offences(planted, "pkg.b") == ["line 6: imports pkg.c"]
    assert function_level_offences(planted, "pkg.a") == []
    assert private_offences(planted, "pkg.c") == [
        "line 1: imports _secret from pkg.a", "line 4: uses pkg.a._other"
    ]
    assert private_offences(planted, "pkg.b") == [
        "line 3: imports the private module pkg.sub._hidden"
    ]
    assert private_offences(planted, "pkg.sub") == []  # its own private module
    assert length_offences(planted, "pkg.sub._hidden") == ["601 lines, over 600"]
    assert docstring_offences(planted, "pkg.c") == ["no module docstring"]
    assert docstring_offences(planted, "pkg.sub._hidden") == [
        "the docstring's summary runs over more than one line"
    ]
    assert docstring_offences(planted, "pkg.a") == []
