"""MkDocs hook: the figures on the pages are drawn by the pages' own code, at build time.

For every page in ``FIGURE_PAGES`` the hook runs the page's Python blocks top to bottom, in
one namespace and a temporary working directory (exactly as ``tests/test_docs.py`` does),
and adds every PNG the code wrote there to the site as ``images/<name>.png``. A page shows
its figure with ``![...](images/<name>.png)`` (``../images/...`` from a sub-folder).

So the learning curves are never committed: they come from the code the reader sees, run
against the installed nnframe, and the build fails if that code fails or stops writing a
figure a page links to (``mkdocs build --strict`` reports the missing image). Results are
cached per page text, so ``mkdocs serve`` re-runs a page only when it changes.

Once every page is rendered, the hook also turns the Sphinx roles some docstrings use
(:class:`Trainer`, :meth:`fit`) into links to the documented object, resolved from the
docstring's own class and module outward, instead of printing the role's name; and it fixes
two other bits of reStructuredText that Markdown leaves as they are.

The file also holds ``AttrsSignatures``, a Griffe extension that gives attrs classes (the
layers declared with ``@nnframe.layer``) the signature of their generated ``__init__``,
which static analysis cannot see.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import io
import re
import tempfile
from pathlib import Path
from typing import Any

import attrs
import griffe
from mkdocs.structure.files import File, Files

# The pages whose code writes figures (paths relative to docs/). Keep each one fast: the
# build and the test suite both run it.
FIGURE_PAGES = ("tutorial.md", "guides/training.md")

# The same block syntax as tests/test_docs.py: a ```python fence at the start of a line,
# skipped when the line before it is <!-- no-run -->.
FENCE = re.compile(r"(?P<before>[^\n]*)\n```python\n(?P<code>.*?)\n```", re.S)

# What mkdocstrings leaves of a Sphinx role: ``:meth:`fit``` becomes ":meth:<code>fit</code>".
ROLE = re.compile(r":(?:attr|class|data|exc|func|meth|mod|obj):<code>(?P<target>[^<]+)</code>")

# The headings mkdocstrings gives documented objects: <h3 id="nnframe.Trainer.fit" class="doc
# doc-heading">. (Other ids, such as the home page's "nnframe" title, are not objects.)
ANCHOR = re.compile(r'<h\d id="(nnframe(?:\.\w+)*)" class="doc doc-heading"')

# reStructuredText that Markdown leaves as it is: a link `text <url>`_ and the "::" that
# introduces a literal block.
RST_LINK = re.compile(r"<code>(?P<text>[^<]+?) &lt;(?P<url>https?://[^&<]+)&gt;</code>_")
RST_LITERAL = re.compile(r"::(?=</p>)")

_cache: dict[str, dict[str, bytes]] = {}


def python_blocks(text: str) -> list[str]:
    """Return the runnable Python blocks of a Markdown page, in order."""
    return [
        match["code"]
        for match in FENCE.finditer("\n" + text)
        if match["before"].strip() != "<!-- no-run -->"
    ]


def run_page(page: str, text: str) -> dict[str, bytes]:
    """Run a page's blocks in a temporary directory; return the PNGs it wrote, by name."""
    namespace: dict[str, Any] = {"__name__": f"docs_{Path(page).stem}"}
    with tempfile.TemporaryDirectory(prefix="nnframe-docs-") as folder:
        with contextlib.chdir(folder), contextlib.redirect_stdout(io.StringIO()):
            for number, code in enumerate(python_blocks(text), start=1):
                try:
                    exec(compile(code, f"{page} block {number}", "exec"), namespace)
                except Exception as error:
                    raise RuntimeError(
                        f"docs/hooks.py: {page}, Python block {number} failed: {error!r}"
                    ) from error
        return {path.name: path.read_bytes() for path in sorted(Path(folder).glob("*.png"))}


def on_files(files: Files, config: Any) -> Files:
    """Add the figures of every page in FIGURE_PAGES to the site, under images/."""
    docs = Path(config["docs_dir"])
    owners: dict[str, str] = {}
    for page in FIGURE_PAGES:
        text = (docs / page).read_text(encoding="utf-8")
        key = f"{page}:{hashlib.sha256(text.encode()).hexdigest()}"
        if key not in _cache:
            _cache[key] = run_page(page, text)
        for name, content in _cache[key].items():
            if name in owners:
                raise RuntimeError(
                    f"docs/hooks.py: {page} and {owners[name]} both write {name}; "
                    "give every figure a unique file name"
                )
            owners[name] = page
            files.append(File.generated(config, f"images/{name}", content=content))
    return files


def _resolve(target: str, context: str, known: set[str]) -> str | None:
    """The documented identifier ``target`` names, seen from inside object ``context``."""
    scopes = context.split(".")
    candidates = [".".join([*scopes[:i], target]) for i in range(len(scopes), 0, -1)]
    candidates += [target, f"nnframe.{target}"]
    return next((name for name in candidates if name in known), None)


def _link_roles(html: str, known: set[str]) -> str:
    pieces, position, context = [], 0, "nnframe"
    for match in ROLE.finditer(html):
        before = html[position : match.start()]
        ids = ANCHOR.findall(before)
        context = ids[-1] if ids else context
        target = match["target"].strip()
        title = target.lstrip("~.")
        if target.startswith("~"):
            title = title.rsplit(".", 1)[-1]
        identifier = _resolve(target.lstrip("~."), context, known)
        code = f"<code>{title}</code>"
        pieces += [
            before,
            code if identifier is None else f'<autoref identifier="{identifier}">{code}</autoref>',
        ]
        position = match.end()
    return "".join([*pieces, html[position:]])


def on_env(env: Any, config: Any, files: Files) -> Any:
    """Turn the Sphinx roles left in rendered docstrings into cross-references.

    Also turns reStructuredText links (`text <url>`_) into links and the "::" before a
    literal block into ":".

    Runs before mkdocs-autorefs' own ``on_env`` (priority -50), which turns each
    ``<autoref>`` into a link. A role whose target is not documented anywhere on the site
    (a method inherited from a private base class, say) stays plain code.
    """
    pages = [file.page for file in files if file.page is not None and file.page.content]
    known = {name for page in pages for name in ANCHOR.findall(page.content)}
    for page in pages:
        if ANCHOR.search(page.content):  # a page with rendered docstrings
            html = _link_roles(page.content, known)
            html = RST_LINK.sub(r'<a href="\g<url>">\g<text></a>', html)
            page.content = RST_LITERAL.sub(":", html)
    return env


# -- a Griffe extension: the signatures of attrs classes ---------------------------------


def _runtime(path: str) -> object:
    """Import the object at a dotted path: the longest importable module, then attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(path)


def _default(value: object) -> str | None:
    if value is inspect.Parameter.empty:
        return None
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}".replace("numpy.", "np.")
    return repr(value)


class AttrsSignatures(griffe.Extension):
    """Give attrs classes the ``__init__`` that attrs generates at runtime.

    Griffe reads the source, where an attrs class (``@nnframe.layer``, ``attrs.define``,
    ``attrs.frozen``) has no ``__init__``; mkdocstrings would show no signature and warn
    that the documented Parameters are not in it. This extension imports each such class
    and copies ``inspect.signature`` of the real one (converters, defaults, keyword-only
    fields and ``init=False`` fields included).

    Enable it in mkdocs.yml: ``extensions: [docs/hooks.py:AttrsSignatures]``.
    """

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name == "nnframe":
            self._visit(pkg, set())

    def _visit(self, obj: griffe.Module | griffe.Class, seen: set[str]) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        if isinstance(obj, griffe.Class):
            self._add_init(obj)
        for member in obj.members.values():
            if not member.is_alias and (member.is_module or member.is_class):
                self._visit(member, seen)  # type: ignore[arg-type]

    def _add_init(self, cls: griffe.Class) -> None:
        if "__init__" in cls.members:
            return
        try:
            runtime = _runtime(cls.path)
        except (ImportError, AttributeError):
            return
        if not (isinstance(runtime, type) and attrs.has(runtime)):
            return
        parameters = [griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword)]
        for parameter in inspect.signature(runtime).parameters.values():
            parameters.append(
                griffe.Parameter(
                    parameter.name,
                    kind=griffe.ParameterKind(parameter.kind.description),
                    default=_default(parameter.default),
                )
            )
        init = griffe.Function(
            "__init__",
            lineno=cls.lineno,
            endlineno=cls.lineno,
            parent=cls,
            parameters=griffe.Parameters(*parameters),
            returns="None",
        )
        cls.set_member("__init__", init)
