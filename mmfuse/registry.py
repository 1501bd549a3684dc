"""Name-keyed registries, one per kind of plugin (the timm / mmengine way).

A plugin registers itself with a decorator in its own file::

    @register_fusion("concat")
    class ConcatFusion(nn.Module): ...

Built-in plugins are imported on the first lookup of their kind; third-party
packages add theirs through the ``mmfuse.plugins`` entry-point group, whose
entries are modules (or callables) imported lazily, once, on first lookup. A
plugin that fails to load is reported as a warning and never breaks the others.
"""
from __future__ import annotations

import ast
import difflib
import fnmatch
import importlib
import importlib.util
import inspect
import warnings
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from mmfuse.errors import ConfigError

T = TypeVar("T")

ENTRY_POINT_GROUP = "mmfuse.plugins"

_entry_points_loaded = False


def load_plugins() -> list[str]:
    """Import every ``mmfuse.plugins`` entry point once; return the names that failed."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return []
    _entry_points_loaded = True
    failed = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
            if callable(loaded) and not isinstance(loaded, type):
                loaded()
        except Exception as exc:  # one broken plugin must not break the others
            failed.append(entry.name)
            warnings.warn(
                f"mmfuse plugin {entry.name!r} ({entry.value}) failed to load: {exc}",
                RuntimeWarning,
                stacklevel=2,
            )
    return failed


class Registry:
    """Maps names to constructors for one kind of plugin."""

    def __init__(self, kind: str, builtin_package: str) -> None:
        self.kind = kind
        self.builtin_package = builtin_package
        self._entries: dict[str, Callable[..., Any]] = {}
        self._builtins_loaded = False

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name``; a duplicate name raises."""

        def decorator(obj: T) -> T:
            if name in self._entries and self._entries[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered by {self._entries[name]!r}")
            self._entries[name] = obj  # type: ignore[assignment]
            return obj

        return decorator

    def _load(self) -> None:
        if not self._builtins_loaded:
            self._builtins_loaded = True
            importlib.import_module(self.builtin_package)
        load_plugins()

    def has(self, name: str) -> bool:
        self._load()
        return name in self._entries

    def get(self, name: str) -> Callable[..., Any]:
        self._load()
        if name not in self._entries:
            raise ConfigError(self.unknown_message(name))
        return self._entries[name]

    def create(self, name: str, **options: Any) -> Any:
        """Build plugin ``name``; options set to ``None`` fall back to the plugin's default."""
        constructor = self.get(name)
        given = {key: value for key, value in options.items() if value is not None}
        parameters = inspect.signature(constructor).parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            unknown = sorted(set(given) - set(parameters))
            if unknown:
                accepted = ", ".join(p for p in parameters if p != "self") or "none"
                raise ConfigError(
                    f"{self.kind} {name!r} has no option {', '.join(map(repr, unknown))}; its options: {accepted}"
                )
        return constructor(**given)

    def list(self, filter: str | Iterable[str] = "*", exclude: str | Iterable[str] = ()) -> list[str]:
        """Sorted registered names matching any ``filter`` pattern and no ``exclude`` pattern."""
        self._load()
        include = [filter] if isinstance(filter, str) else list(filter)
        excluded = [exclude] if isinstance(exclude, str) else list(exclude)
        names = {n for n in self._entries if any(fnmatch.fnmatchcase(n, p) for p in include)}
        names = {n for n in names if not any(fnmatch.fnmatchcase(n, p) for p in excluded)}
        return sorted(names)

    def describe(self, name: str) -> str:
        """First line of the plugin's docstring."""
        doc = (self.get(name).__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    def catalogue(self, filter: str = "*") -> dict[str, str]:
        """Names matching ``filter`` (sorted) and the first line of each one's docstring, without
        importing the built-in plugins (read from their source: `mmfuse list` needs no torch);
        entry-point plugins are loaded as on any lookup."""
        load_plugins()
        described = declared_plugins(self.builtin_package)
        for name, obj in self._entries.items():
            doc = (obj.__doc__ or "").strip()
            described[name] = doc.splitlines()[0] if doc else ""
        return {name: described[name] for name in sorted(described) if fnmatch.fnmatchcase(name, filter)}

    def unknown_message(self, name: str) -> str:
        available = sorted(self._entries)
        close = difflib.get_close_matches(name, available, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return (
            f"Unknown {self.kind} {name!r}.{hint} Available: {', '.join(available) or '(none)'}."
            f" Run `mmfuse list {self.kind}` to see them all."
        )


def declared_plugins(package: str) -> dict[str, str]:
    """Every ``@register_<kind>("name")`` (or ``@REGISTRY.register("name")``) in the modules of
    ``package``, with the first line of the decorated object's docstring, read without importing them."""
    spec = importlib.util.find_spec(package)
    folders = list(spec.submodule_search_locations or []) if spec else []
    declared = {}
    for path in sorted(p for folder in folders for p in Path(folder).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                continue
            for decorator in node.decorator_list:
                if _registered_name(decorator) is not None:
                    doc = (ast.get_docstring(node) or "").strip()
                    declared[_registered_name(decorator)] = doc.splitlines()[0] if doc else ""
    return declared


def _registered_name(decorator: ast.expr) -> str | None:
    if not (isinstance(decorator, ast.Call) and decorator.args and isinstance(decorator.args[0], ast.Constant)):
        return None
    func = decorator.func
    called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    registers = called == "register" or called.startswith("register_")
    return decorator.args[0].value if registers and isinstance(decorator.args[0].value, str) else None


FUSIONS = Registry("fusion", "mmfuse.fusion")
REGULARIZERS = Registry("regularizer", "mmfuse.regularizers")
ENCODERS = Registry("encoder", "mmfuse.encoders")
TEMPORAL_MODELS = Registry("temporal", "mmfuse.temporal")
TASKS = Registry("task", "mmfuse.tasks")
DATASETS = Registry("dataset", "mmfuse.data")
CORRUPTIONS = Registry("corruption", "mmfuse.corruptions")

REGISTRIES: dict[str, Registry] = {
    r.kind: r for r in (FUSIONS, REGULARIZERS, ENCODERS, TEMPORAL_MODELS, TASKS, DATASETS, CORRUPTIONS)
}

register_fusion = FUSIONS.register
create_fusion = FUSIONS.create
list_fusions = FUSIONS.list
has_fusion = FUSIONS.has

register_regularizer = REGULARIZERS.register
create_regularizer = REGULARIZERS.create
list_regularizers = REGULARIZERS.list
has_regularizer = REGULARIZERS.has

register_encoder = ENCODERS.register
create_encoder = ENCODERS.create
list_encoders = ENCODERS.list
has_encoder = ENCODERS.has

register_temporal_model = TEMPORAL_MODELS.register
create_temporal_model = TEMPORAL_MODELS.create
list_temporal_models = TEMPORAL_MODELS.list
has_temporal_model = TEMPORAL_MODELS.has

register_task = TASKS.register
create_task = TASKS.create
list_tasks = TASKS.list
has_task = TASKS.has

register_dataset = DATASETS.register
create_dataset = DATASETS.create
list_datasets = DATASETS.list
has_dataset = DATASETS.has

register_corruption = CORRUPTIONS.register
create_corruption = CORRUPTIONS.create
list_corruptions = CORRUPTIONS.list
