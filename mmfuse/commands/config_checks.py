"""Checks of one override against the config it lands in, before anything runs: a key mmfuse does
not know (with or without ``+``) is refused with the closest real one, and a value that cannot work
is refused naming the key, the value and what is allowed.

What counts as a key: the root config's keys and, under a plugin's group (fusion, task, ...), the
group config's keys plus the options of the chosen plugin's constructor (the same signature
``Registry.create`` checks at build time). Tables whose keys are free (``grid``, a dataset's ``r3d``
block, ``dataset.train.task_epoch_scale``) take any key.
"""
from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
from typing import Any, Callable

from mmfuse.errors import ConfigError
from mmfuse.registry import REGISTRIES

PLUGIN_GROUPS = ("corruption", "encoder", "fusion", "regularizer", "task", "temporal")
SUPPLIED = ("modalities", "dim", "in_dim", "num_classes")  # constructor arguments the engine passes, not options
FREE_TABLES = ("grid", "dataset.r3d", "dataset.train.task_epoch_scale")
DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
_MISSING = object()


def _integer(minimum: int) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= minimum


RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "seed": (_integer(0), "an integer ≥ 0"),
    "model.dim": (_integer(1), "a positive integer"),
    "model.hidden": (_integer(1), "a positive integer"),
    "model.max_len": (_integer(1), "a positive integer"),
    "device": (lambda v: isinstance(v, str) and DEVICE.fullmatch(v) is not None, "auto, cpu, cuda or cuda:N"),
    "threads": (lambda v: v == "auto" or _integer(1)(v), "auto or a positive integer"),
}


def plugin_options(group: str, name: Any) -> set[str]:
    """Options of the plugin ``name`` of ``group`` (its constructor's parameters); empty when unknown
    or when it takes any keyword."""
    registry = REGISTRIES[group]
    if not isinstance(name, str) or not registry.has(name):
        return set()
    parameters = inspect.signature(registry.get(name)).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return {"*"}
    return {p for p in parameters if p not in SUPPLIED}


def check_key(key: str, text: str, reference: dict[str, Any]) -> None:
    """Refuse ``key`` (set by the override ``text``) unless ``reference`` (the composed config the
    override lands in) or the chosen plugin knows it."""
    parts = key.split(".")
    if parts[0] == "choice_options" and len(parts) >= 4 and parts[1] in PLUGIN_GROUPS:
        known = plugin_options(parts[1], parts[2]) | set(_lookup(reference, parts[:3], {}) or {})
        _require(parts[3], known, ".".join(parts[:3]), text, f"{parts[1]} {parts[2]!r}")
        return
    node: Any = reference
    for depth, part in enumerate(parts):
        where = ".".join(parts[:depth])
        if not isinstance(node, dict) or where in FREE_TABLES:
            return
        known, owner = set(node), where or "the root config"
        if depth == 1 and parts[0] in (*PLUGIN_GROUPS, "dataset"):
            known |= plugin_options(parts[0], node.get("name"))
            owner = f"{parts[0]} {node.get('name')!r}"
        elif where == "dataset.train":
            from mmfuse.engine.trainer import TrainBudget

            known |= {f.name for f in dataclasses.fields(TrainBudget)}
        _require(part, known, where, text, owner)
        node = node.get(part)


def _require(part: str, known: set[str], where: str, text: str, owner: str) -> None:
    """Refuse ``part`` (a key under ``where``, in ``owner``'s keys ``known``) unless it is known."""
    if part in known or "*" in known:
        return
    prefix = f"{where}." if where else ""
    close = difflib.get_close_matches(part, sorted(known), n=1, cutoff=0.5)
    hint = f" Did you mean {prefix}{close[0]}?" if close else ""
    listed = ", ".join(sorted(k for k in known if k not in ("*", "name"))) or "none"
    raise ConfigError(f"Unknown key {prefix}{part} in `{text}`.{hint} The keys of {owner}: {listed}.")


def check_value(key: str, value: Any, reference: dict[str, Any], text: str) -> None:
    """Refuse ``value`` for ``key`` when a rule (``RULES``) says no, or when it does not fit the kind
    of the key's default: a scalar for a list, a non-integer for an integer, text for a number."""
    if isinstance(value, str) and "${" in value:
        return
    allowed = _allowed(key, value, _lookup(reference, key.split("."), _MISSING))
    if allowed:
        raise ConfigError(f"`{text}`: {key} must be {allowed}, not {value!r}.")


def _allowed(key: str, value: Any, default: Any) -> str:
    """What ``key`` allows, when ``value`` is not allowed; empty when it is."""
    if key in RULES:
        accepts, allowed = RULES[key]
        return "" if accepts(value) else allowed
    if value is None or default is None or default is _MISSING:
        return ""
    if isinstance(default, list) and not isinstance(value, list):
        return f"a list, e.g. {key}={_yaml(default)}"
    if isinstance(default, bool):
        return "" if isinstance(value, bool) else "true or false"
    if isinstance(default, int) and isinstance(value, (str, float, bool)):
        return "an integer"
    if isinstance(default, float) and isinstance(value, (str, bool)):
        return "a number"
    return ""


def check_values(resolved: dict[str, Any]) -> None:
    """Refuse a composed config whose value breaks a rule (``RULES``), wherever it was set."""
    for key in RULES:
        value = _lookup(resolved, key.split("."), _MISSING)
        if value is not _MISSING:
            check_value(key, value, resolved, f"{key}={_yaml(value)}")


def _lookup(tree: Any, parts: list[str], missing: Any) -> Any:
    for part in parts:
        if not isinstance(tree, dict) or part not in tree:
            return missing
        tree = tree[part]
    return tree


def _yaml(value: Any) -> str:
    if isinstance(value, list):
        return f"[{','.join(_yaml(v) for v in value)}]"
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
