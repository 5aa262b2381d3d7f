"""The registry of layer classes a model file may name, and the JSON form of a layer.

A layer is written as a *spec*, ``{"class": NAME, "config": {...}}``: ``NAME`` is the
name the class is registered under and ``config`` is what its ``get_config()`` returns,
made of JSON-plain values only. Reading a spec looks ``NAME`` up in the registry and calls
``cls.from_config(config)``; nothing is ever imported, evaluated or unpickled, so a file can
only build the classes the program has registered, with plain values.

Built-in layers register themselves where they are defined, with ``@register``, under
their class names; users add theirs the same way. The registry depends on
:class:`~nnframe.Layer`; layers know nothing of it but the decorator.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

import numpy as np

from nnframe.errors import ArgumentError, ArgumentTypeError, SerializationError, one_line
from nnframe.layers.base import Layer
from nnframe.layers.config import reading_at, spec_path
from nnframe.layers.config import where as at

__all__ = [
    "MAX_DEPTH",
    "from_plain",
    "layer_from_spec",
    "layer_to_spec",
    "lookup",
    "name_of",
    "register",
    "registered",
    "to_plain",
    "unregister",
]

C = TypeVar("C", bound=type)

MAX_DEPTH = 64
"""The deepest nesting of layers and of config values a spec may have."""

_BY_NAME: dict[str, type] = {}
_BY_CLASS: dict[type, str] = {}


def _is_builtin(cls: type) -> bool:
    # nnframe's own layers; this module's examples define classes here that are not.
    return cls.__module__.startswith("nnframe.") and cls.__module__ != __name__
def _same_definition(a: type, b: type) -> bool:
    # A class defined again by the same code (a re-run notebook cell, importlib.reload).
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def _add(cls: type, name: str) -> None:
    known = _BY_NAME.get(name)
    if known is not None and known is not cls:
        if not _same_definition(known, cls):
            raise ArgumentError(
                f"register: the name {name!r} is already taken by "
                f"{known.__module__}.{known.__qualname__}; pass another name, e.g. "
                f"@nnframe.register(name='mypackage.{cls.__name__}')"
            )
        del _BY_CLASS[known]
    other = _BY_CLASS.get(cls)
    if other is not None and other != name:
        raise ArgumentError(
            f"register: {cls.__qualname__} is already registered as {other!r}; a class "
            "has one name"
        )
    _BY_NAME[name] = cls
    _BY_CLASS[cls] = name


@overload
def register(cls: C, /, *, name: str | None = None) -> C: ...
@overload
def register(cls: str | None = None, /, *, name: str | None = None) -> Callable[[C], C]: ...
def register(cls: Any = None, /, *, name: str | None = None) -> Any:
    """Register a layer class so that model files can name it: a class decorator.

    A registered class saves and loads like a built-in layer: :func:`nnframe.save`
    writes its :meth:`~nnframe.Layer.get_config` and :func:`nnframe.load` rebuilds it
    with :meth:`~nnframe.Layer.from_config`. Put the decorator *above* ``@nnframe.layer``,
    so that it registers the finished attrs class.

    Parameters
    ----------
    cls : type
        A subclass of :class:`~nnframe.Layer`. ``@register``, ``@register(name=...)`` and
        ``@register("name")`` all work.
    name : str, optional
        The name written into files. Default: the class's ``__qualname__``.

    Returns
    -------
    type
        ``cls`` itself, unchanged.

    Raises
    ------
    ArgumentTypeError
        When ``cls`` is not a Layer subclass or ``name`` not a string.
    ArgumentError
        When the name is empty or taken by another class (built-in layers use their class
        names), or the class is registered under another name. Registering a class again
        under its name, or a new definition of the same class (same module and qualified
        name, as when a notebook cell runs again), replaces the entry.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> @nf.register(name="docs.Double")
    ... @nf.layer
    ... class Double(nf.Layer):
    ...     def forward(self, x):
    ...         return 2 * x
    ...     def backward(self, grad_y):
    ...         return 2 * grad_y
    >>> layer_to_spec(Double())
    {'class': 'docs.Double', 'config': {}}
    >>> unregister("docs.Double")
    """
    if isinstance(cls, str):
        if name is not None:
            raise ArgumentTypeError("register: give the name once, positionally or as name=")
        return lambda klass: register(klass, name=cls)
    if cls is None:
        return lambda klass: register(klass, name=name)
    if not (isinstance(cls, type) and issubclass(cls, Layer)) or cls is Layer:
        raise ArgumentTypeError(
            f"register takes a subclass of nnframe.Layer; got {cls!r}"
        )
    if name is None:
        name = cls.__qualname__
    if not isinstance(name, str):
        raise ArgumentTypeError(f"register: name must be a str; got {type(name).__name__}")
    if not name.strip():
        raise ArgumentError("register: name must not be empty")
    _add(cls, name)
    return cls


def unregister(name: str) -> None:
    """Remove the class registered as ``name`` (built-in names cannot be removed).

    Raises
    ------
    ArgumentError
        When nothing is registered under ``name``, or it names a built-in layer.
    """
    cls = _BY_NAME.get(name)
    if cls is None:
        raise ArgumentError(f"unregister: nothing is registered as {name!r}")
    if _is_builtin(cls):
        raise ArgumentError(f"unregister: {name!r} is a built-in layer")
    del _BY_NAME[name]
    del _BY_CLASS[cls]


def registered() -> dict[str, type]:
    """Return a copy of the registry: name -> layer class, built-ins included."""
    return dict(_BY_NAME)


def name_of(cls: type) -> str:
    """Return the name ``cls`` is registered under.

    Raises
    ------
    SerializationError
        When the class is not registered.
    """
    name = _BY_CLASS.get(cls)
    if name is None:
        raise SerializationError(
            f"{cls.__qualname__} is not a registered layer class, so a model file cannot "
            "name it; decorate it with @nnframe.register (above @nnframe.layer), or save "
            "the weights alone with nnframe.save_weights"
        )
    return name


def lookup(name: object) -> type[Layer]:
    """Return the layer class registered as ``name``; nothing is ever imported.

    Raises
    ------
    SerializationError
        For a name that is not registered (a module path such as ``"os.system"`` is just
        an unknown name).
    """
    if not isinstance(name, str):
        raise SerializationError(f"{at()}: a class name must be a string; got {name!r}")
    cls = _BY_NAME.get(name)
    if cls is None:
        raise SerializationError(
            f"{at()}: {name[:100]!r} is not a registered layer class; a model file "
            "may name only classes registered with @nnframe.register (it never imports "
            "modules or calls functions)"
        )
    return cls


# ---------------------------------------------------------------------------------------------
# JSON-plain values
# ---------------------------------------------------------------------------------------------


def to_plain(value: object, where: str) -> Any:
    """Return ``value`` as a JSON-plain value for a layer config, or raise naming ``where``.

    Numbers, strings, bools and None stay as they are (numpy scalars become Python
    ones); a dtype becomes its name (``"float32"``); tuples and lists become lists; dicts
    with string keys stay dicts; a sub-layer becomes its spec; a
    ``numpy.random.Generator`` becomes None (only an int seed can be written: a layer
    given a Generator is rebuilt with fresh entropy).

    Raises
    ------
    SerializationError
        For anything else (a function, an array, an arbitrary object).

    Examples
    --------
    >>> import numpy as np
    >>> to_plain((np.float32, np.int64(3), None), "example")
    ['float32', 3, None]
    """
    return _to_plain(value, where, 0)


def _to_plain(value: object, where: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise SerializationError(f"{where}: values nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    if isinstance(value, np.random.Generator):
        return None
    if isinstance(value, Layer):
        return layer_to_spec(value)
    if isinstance(value, list | tuple):
        return [_to_plain(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        if set(value) == {"class", "config"} and isinstance(value["class"], str):
            # A layer spec, as a container's get_config writes its children.
            return {
                "class": value["class"],
                "config": _to_plain(value["config"], f"{where}['config']", depth + 1),
            }
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise SerializationError(f"{where}: dict keys must be strings; got {key!r}")
            if key == "class" or key.startswith(("__", "py/")):
                # from_plain reads these as a layer spec or refuses them as code references.
                raise SerializationError(f"{where}: the dict key {key!r} is reserved")
            result[key] = _to_plain(item, f"{where}[{key!r}]", depth + 1)
        return result
    kind = "a callable" if callable(value) else f"a {type(value).__name__}"
    raise SerializationError(
        f"{where} is {kind} ({_short(value)}), which a model file cannot hold; a config "
        "holds numbers, strings, bools, None, lists, dicts and dtypes (write get_config() "
        "for this layer)"
    )


def from_plain(value: object, where: str) -> Any:
    """Check a config value read from a file; layer specs inside it become layers.

    A dict with a ``"class"`` key is a layer spec and is built through the registry;
    dicts whose keys look like references to code (``"__reduce__"``, ``"py/object"``)
    and values that are not JSON-plain are rejected.

    Raises
    ------
    SerializationError
        For a value that is not plain JSON, or names an unregistered class.
    """
    return _from_plain(value, where, 0)


def _from_plain(value: object, where: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise SerializationError(f"{where}: values nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, list):
        return [_from_plain(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    if isinstance(value, dict):
        if "class" in value:
            return layer_from_spec(value, where)
        for key in value:
            if not isinstance(key, str) or key.startswith(("__", "py/")):
                raise SerializationError(
                    f"{at()}: {where} has the key {key!r}, which looks like a reference "
                    "to code; a config holds plain values only"
                )
        return {
            key: _from_plain(item, f"{where}[{key!r}]", depth + 1) for key, item in value.items()
        }
    raise SerializationError(
        f"{at()}: {where} is a {type(value).__name__}, not a plain JSON value"
    )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------------------------
# Configs and specs
# ---------------------------------------------------------------------------------------------


def layer_to_spec(layer: Layer) -> dict[str, Any]:
    """Return ``{"class": registered name, "config": layer.get_config()}``.

    Raises
    ------
    SerializationError
        When the class is not registered or its config is not JSON-plain.
    """
    name = name_of(type(layer))
    config = layer.get_config()
    if not isinstance(config, dict):
        raise SerializationError(
            f"{type(layer).__name__}.get_config() must return a dict; got "
            f"{type(config).__name__}"
        )
    where = type(layer).__name__
    return {
        "class": name,
        "config": {key: to_plain(value, f"{where}.{key}") for key, value in config.items()},
    }


def layer_from_spec(spec: object, key: str = "") -> Layer:
    """Build a layer from a spec read from a file, through the registry only.

    Parameters
    ----------
    spec : object
        Should be ``{"class": NAME, "config": {...}}`` with exactly those two keys.
    key : str, default ""
        Where the spec sits in its parent's config (``"layers[2]"``), for messages.

    Raises
    ------
    SerializationError
        For anything but a well-formed spec naming a registered class whose
        ``from_config`` accepts the config; every other exception from building the layer
        is wrapped in it.
    """
    path = (*spec_path(), key) if key else spec_path()
    with reading_at(path):
        if len(path) > MAX_DEPTH:
            raise SerializationError(f"{at()}: layers nested deeper than {MAX_DEPTH}")
        if not isinstance(spec, dict) or set(spec) != {"class", "config"}:
            found = sorted(map(str, spec)) if isinstance(spec, dict) else type(spec).__name__
            raise SerializationError(
                f"{at()}: a layer spec must be an object with exactly the keys 'class' "
                f"and 'config'; got {found}"
            )
        cls = lookup(spec["class"])
        config = spec["config"]
        if not isinstance(config, dict):
            raise SerializationError(
                f"{at()}: the config of {spec['class']!r} must be a JSON object; got "
                f"{type(config).__name__}"
            )
        arguments = {name: from_plain(value, name) for name, value in config.items()}
        try:
            layer = cls.from_config(arguments)
        except SerializationError:
            raise
        except Exception as error:
            raise SerializationError(
                f"{at()}: cannot build {spec['class']!r} from its config: "
                f"{type(error).__name__}: {one_line(error)}"
            ) from error
        if not isinstance(layer, Layer):
            raise SerializationError(
                f"{at()}: {spec['class']}.from_config returned a {type(layer).__name__}"
            )
        return layer
