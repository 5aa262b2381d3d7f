"""The API reference (docs/api/*.md) covers every public name, and the main classes are documented.

A name is covered when a ``::: target`` directive of mkdocstrings resolves to the same
object, or when a directive documents a module whose ``__all__`` lists it (unless the
directive's ``members`` option leaves it out). A public module must have a directive of its
own. The docstring check asks each public class for a numpydoc ``Parameters`` (or
``Returns``) section when its constructor takes arguments, and for an ``Examples`` section.
"""

from __future__ import annotations

import importlib
import inspect
import re
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
API_PAGES = sorted((ROOT / "docs" / "api").glob("*.md"))

# The modules whose __all__ the reference must cover.
PUBLIC_MODULES = [
    "nnframe", "nnframe.optim", "nnframe.training", "nnframe.stepwise", "nnframe.testing",
    "nnframe.serialization",
]

# "::: target" at the start of a line, then its indented options block (blank lines inside).
DIRECTIVE = re.compile(
    r"^::: *(?P<target>[\w.]+) *\n(?P<options>(?:[ \t]+\S.*\n|[ \t]*\n(?=[ \t]+\S))*)", re.M
)


def public_modules() -> list[types.ModuleType]:
    return [importlib.import_module(name) for name in PUBLIC_MODULES]


def resolve(target: str) -> object:
    """Import ``target``: the longest importable module prefix, then attributes."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(f"cannot import {target!r}")


def members_option(options: str) -> bool | list[str] | None:
    """The ``members`` option of a directive: None (default), True/False, or a list."""
    lines = options.splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"^(?P<indent>\s*)members:\s*(?P<value>.*)$", line)
        if not match:
            continue
        value = match["value"].strip()
        if value in ("true", "false"):
            return value == "true"
        if value.startswith("["):
            items = [item.strip().strip("'\"") for item in value.strip("[]").split(",")]
            return [item for item in items if item]
        if value == "":
            items = []
            for item in lines[index + 1 :]:
                listed = re.match(r"^\s*-\s*(\S+)\s*$", item)
                if not listed:
                    break
                items.append(listed[1].strip("'\""))
            return items
        raise AssertionError(f"cannot read the members option {value!r}")
    return None


def directives() -> list[tuple[str, str, object, bool | list[str] | None]]:
    """(page, target, resolved object, members option) for every directive of the reference."""
    found = []
    for page in API_PAGES:
        for match in DIRECTIVE.finditer(page.read_text(encoding="utf-8")):
            target = match["target"]
            found.append((page.name, target, resolve(target), members_option(match["options"])))
    return found


def public_names() -> list[tuple[str, object]]:
    names = []
    for module in public_modules():
        for name in module.__all__:
            names.append((f"{module.__name__}.{name}", getattr(module, name)))
    return names


def covered(obj: object, documented: list[tuple[str, str, object, object]]) -> bool:
    if any(target_obj is obj for _, _, target_obj, _ in documented):
        return True
    if isinstance(obj, types.ModuleType):
        return False  # a public module needs a directive of its own
    for _, _, module, members in documented:
        if not isinstance(module, types.ModuleType) or members is False:
            continue
        listed = getattr(module, "__all__", [])
        chosen = listed if members in (None, True) else [m for m in members if m in listed]
        if any(getattr(module, name, None) is obj for name in chosen):
            return True
    return False


def test_every_directive_resolves():
    assert API_PAGES, "docs/api/ has no pages"
    for page, target, obj, _ in directives():
        assert obj is not None, f"{page}: ::: {target} resolves to None"


def test_every_public_name_is_in_the_api_reference():
    documented = directives()
    missing = [name for name, obj in public_names() if not covered(obj, documented)]
    assert not missing, (
        "add a ::: directive to a page in docs/api/ for: " + ", ".join(sorted(missing))
    )


def test_no_name_is_documented_twice():
    # Two directives for one object give two anchors and ambiguous cross-references.
    seen: dict[int, str] = {}
    for page, target, obj, _ in directives():
        if isinstance(obj, types.ModuleType):
            continue
        assert id(obj) not in seen, f"{target} ({page}) repeats {seen[id(obj)]}"
        seen[id(obj)] = f"{target} ({page})"


# -- docstring sections ------------------------------------------------------------------


def has_section(doc: str, title: str) -> bool:
    return re.search(rf"^[ \t]*{title}[ \t]*\n[ \t]*-{{3,}}[ \t]*$", doc, re.M) is not None


def public_classes() -> list[tuple[str, type]]:
    classes: dict[int, tuple[str, type]] = {}
    for name, obj in public_names():
        if inspect.isclass(obj) and obj.__module__.startswith("nnframe"):
            classes.setdefault(id(obj), (name, obj))
    return sorted(classes.values(), key=lambda item: item[0])


def takes_arguments(cls: type) -> bool:
    try:
        return bool(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return True


def missing_sections(cls: type) -> list[str]:
    doc = inspect.getdoc(cls) or ""
    missing = []
    if takes_arguments(cls) and not (has_section(doc, "Parameters") or has_section(doc, "Returns")):
        missing.append("Parameters (or Returns)")
    if not has_section(doc, "Examples"):
        missing.append("Examples")
    return missing


@pytest.mark.parametrize(
    "name, cls",
    [
        pytest.param(name, cls, id=name)
        for name, cls in public_classes()
    ],
)
def test_public_class_docstring_has_parameters_and_examples(name, cls):
    missing = missing_sections(cls)
    assert not missing, f"{name}: the docstring has no {' and no '.join(missing)} section"


def test_the_directive_reader_understands_members_options():
    page = (
        "::: nnframe.optim\n    options:\n      members: false\n\n"
        "::: nnframe.metrics\n    options:\n      members: [accuracy, get]\n\n"
        "::: nnframe.init\n    options:\n      show_root_heading: true\n      members:\n"
        "        - zeros\n        - normal\n\n"
        "::: nnframe.Linear\n\nText.\n"
    )
    found = [(m["target"], members_option(m["options"])) for m in DIRECTIVE.finditer(page)]
    assert found == [
        ("nnframe.optim", False),
        ("nnframe.metrics", ["accuracy", "get"]),
        ("nnframe.init", ["zeros", "normal"]),
        ("nnframe.Linear", None),
    ]
