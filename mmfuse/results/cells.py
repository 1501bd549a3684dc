"""Cell names (``method[k=v,...]``), dataset labels and config hashes of runs.

A cell is named after its fusion method plus every setting that differs from what the
root config gives that method (sorted keys, seed apart), so what the CLI selects, what
the cache is keyed by and what a leaderboard row is called agree.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from mmfuse.config import DATASET_ENGINE_BLOCKS, DATASET_NAMING_OPTIONS
from mmfuse.errors import ConfigError

METHOD_GROUPS = ("encoder", "fusion", "regularizer", "temporal")
NAMING_GROUPS = ("dataset", *METHOD_GROUPS, "task")  # the group choices a cell's name is diffed under
REFERENCES_FILE = "cell_references.json"
NOT_PART_OF_A_CELL = (
    "seed", "device", "threads", "features_in_memory", "paths", "grid", "extra_cells", "hydra", "dataset", "task", "corruption"
)
NOT_PART_OF_A_CELL_PATHS = ("choice_options.task.",)  # task options, like ``task``, name no method
NOT_HASHED = ("device", "threads", "features_in_memory", "paths", "grid", "extra_cells", "hydra")  # where it runs, not what
WHERE_THE_DATA_LIES = ("root", "cache")  # dataset options naming folders, never the data
NOT_PART_OF_A_DATASET_LABEL = (*WHERE_THE_DATA_LIES, *DATASET_ENGINE_BLOCKS, *DATASET_NAMING_OPTIONS)
WHERE_AND_WHAT_IT_IS_CALLED = (*WHERE_THE_DATA_LIES, *DATASET_NAMING_OPTIONS)  # the fingerprint replaces them in a hash


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}} -> {"a.b": 1}``; lists stay values."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def format_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(format_value(v) for v in value) + "]"
    if value is None:
        return "null"
    return str(value)


def bracketed(name: str, params: Mapping[str, Any]) -> str:
    """``name[k=v,...]`` with sorted keys, or ``name`` when there is nothing to add."""
    if not params:
        return name
    return name + "[" + ",".join(f"{k}={format_value(params[k])}" for k in sorted(params)) + "]"


def cell_params(
    cfg: Mapping[str, Any],
    choices: Mapping[str, str],
    reference: Mapping[str, Any],
    default_choices: Mapping[str, str],
) -> dict[str, Any]:
    """Settings of ``cfg`` that differ from ``reference`` (the root config with the same groups).

    Group choices other than the root default appear as ``group=choice``; options of the
    fusion plugin appear by their bare name; ``choice_options.<group>.<plugin>.<option>`` as
    ``<group>.<option>`` (the option it sets); anything else by its dotted path.
    """
    params: dict[str, Any] = {
        group: choices[group]
        for group in METHOD_GROUPS
        if group != "fusion" and choices.get(group) != default_choices.get(group)
    }
    ours, theirs = flatten(cfg), flatten(reference)
    for path, value in ours.items():
        top = path.split(".", 1)[0]
        if top in NOT_PART_OF_A_CELL or path.startswith(NOT_PART_OF_A_CELL_PATHS) or theirs.get(path, object()) == value:
            continue
        params[_short_path(path)] = value
    return params


def _short_path(path: str) -> str:
    parts = path.split(".")
    if parts[0] == "fusion":
        return ".".join(parts[1:])
    if parts[0] == "choice_options" and len(parts) > 3:
        return ".".join([parts[1], *parts[3:]])
    return path


def cell_name(cfg: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    return bracketed(str(cfg["fusion"]["name"]), {**params, **corruption_params(cfg.get("corruption"))})


def is_corrupted(corruption: Mapping[str, Any] | None) -> bool:
    return corruption is not None and corruption.get("name", "none") != "none"


def corruption_params(corruption: Mapping[str, Any] | None) -> dict[str, Any]:
    """How a test-time corruption (its ``Corruption.settings()``) names a cell: ``corruption=<name>``,
    its modality and level always, ``fill`` and ``seed`` where they differ from the defaults."""
    from mmfuse.corruptions.base import DEFAULT_FILL, DEFAULT_SEED

    if corruption is None or not is_corrupted(corruption):
        return {}
    params = {"corruption": corruption["name"], "corruption.modality": corruption.get("modality"),
              "corruption.level": corruption.get("level")}
    if corruption.get("fill", DEFAULT_FILL) != DEFAULT_FILL:
        params["corruption.fill"] = corruption["fill"]
    if corruption.get("seed", DEFAULT_SEED) != DEFAULT_SEED:
        params["corruption.seed"] = corruption["seed"]
    return params


def data_name(dataset_cfg: Mapping[str, Any]) -> str | None:
    """The short name of the data: ``dataset.label`` when set, else the name of the folder
    ``dataset.root`` points at; None for a dataset without either (``synthetic``)."""
    if dataset_cfg.get("label"):
        return str(dataset_cfg["label"])
    root = dataset_cfg.get("root")
    if not root:
        return None
    path = Path(str(root)).expanduser()
    return path.resolve().name or path.name or str(root)


def dataset_label(cfg: Mapping[str, Any], reference: Mapping[str, Any]) -> str:
    """The dataset's name plus options that differ from its config (not its root or budget), plus
    ``label=<the data's name>`` (:func:`data_name`) for data read from a root: ``folder[label=gtea]``."""
    ours, theirs = flatten(cfg["dataset"]), flatten(reference["dataset"])
    params = {
        path: value
        for path, value in ours.items()
        if path.split(".", 1)[0] not in NOT_PART_OF_A_DATASET_LABEL and path != "name" and theirs.get(path) != value
    }
    name = data_name(cfg["dataset"])
    if name is not None:
        params["label"] = name
    return bracketed(str(cfg["dataset"]["name"]), params)


def condition_name(corruption: Mapping[str, Any] | None) -> str:
    """A corruption as a board names it: ``noise[level=0.5,modality=rgb]``; ``clean`` for none."""
    params = corruption_params(corruption)
    if not params:
        return "clean"
    name = params.pop("corruption")
    return bracketed(str(name), {key.split(".", 1)[1]: value for key, value in params.items()})


def config_hash(cfg: Mapping[str, Any], fingerprint: str | None = None) -> str:
    """First 8 hex digits of the SHA-256 of the resolved config minus device, paths and launcher (and
    minus ``corruption`` when there is none: a clean run's hash is its training's, which every
    corrupted evaluation of the same cell finds its model by).

    With the data's ``fingerprint`` (``mmfuse.data.fingerprint``), that fingerprint stands for the
    data instead of ``dataset.root`` and ``dataset.label``: the same data under another path or
    name hashes alike (its finished runs are found), different data never does.
    """
    kept = {k: v for k, v in cfg.items() if k not in NOT_HASHED and not (k == "corruption" and not is_corrupted(v))}
    if fingerprint is not None:
        kept["dataset"] = {k: v for k, v in kept["dataset"].items() if k not in WHERE_AND_WHAT_IT_IS_CALLED}
        kept["dataset_fingerprint"] = fingerprint
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:8]


def safe_path_part(name: str) -> str:
    """A cell or dataset label usable as one directory name."""
    return name.replace("/", "_").replace("\\", "_")


def choice_key(choices: Mapping[str, Any]) -> str:
    """``dataset=…,encoder=…,…``: the choices of ``NAMING_GROUPS``, as ``NamingReferences`` keys them."""
    return ",".join(f"{group}={choices[group]}" for group in NAMING_GROUPS)


@dataclass
class NamingReferences:
    """The configs names are diffed against, composed by the process that launches the jobs.

    ``roots``: per ``choice_key``, the root config with exactly those group choices (no
    experiment, no other override): what ``cell_params`` diffs a cell against. ``task_choices``:
    per task, the ``NAMING_GROUPS`` choices the root config makes with that task alone (a task
    may choose its temporal model). ``adapters``: per dataset adapter name, the ``dataset`` block
    of ``configs/dataset/<name>.yaml``, so a variant (``dataset=utkinect_r3d``) is labelled as the
    same options spelled out (``darai[layout=utkinect_r3d]``), never as the adapter's default.
    """

    roots: dict[str, dict[str, Any]] = field(default_factory=dict)
    task_choices: dict[str, dict[str, Any]] = field(default_factory=dict)
    adapters: dict[str, dict[str, Any]] = field(default_factory=dict)

    def describe(
        self, resolved: Mapping[str, Any], choices: Mapping[str, str], fingerprint: str | None = None
    ) -> tuple[str, str, str]:
        """(dataset label, cell name, config hash) of a job's resolved config and its group choices;
        the hash stands for the data by its ``fingerprint`` where given (see :func:`config_hash`)."""
        key, task, adapter = choice_key(choices), choices["task"], resolved["dataset"]["name"]
        for table, wanted in ((self.roots, key), (self.task_choices, task), (self.adapters, adapter)):
            if wanted not in table:
                raise ConfigError(f"no naming reference for {wanted}: jobs are named against configs their launch composed")
        params = cell_params(resolved, choices, self.roots[key], self.task_choices[task])
        label = dataset_label(resolved, {"dataset": self.adapters[adapter]})
        return label, cell_name(resolved, params), config_hash(resolved, fingerprint)
