"""Reading a resolved run config: the options each plugin's constructor receives."""
from __future__ import annotations

from typing import Any, Mapping

DATASET_ENGINE_BLOCKS = ("train", "r3d")  # dataset config blocks read by the engine and experiments, not the adapter
DATASET_NAMING_OPTIONS = ("label",)  # dataset options that name the data in labels and boards, not read by the adapter


def options(cfg: Mapping[str, Any], *exclude: str) -> dict[str, Any]:
    """A group config minus its ``name`` (and ``exclude``): the plugin's constructor options."""
    return {k: v for k, v in cfg.items() if k not in ("name", *exclude)}


def chosen_config(cfg: Mapping[str, Any], group: str) -> dict[str, Any]:
    """A group's config plus ``choice_options.<group>.<plugin name>``: the values an experiment sets
    for one plugin of a grid that swaps it (e.g. R3D's anticipation decoder, its Temporal Fuser)."""
    name = cfg[group]["name"]
    return {**cfg[group], **((cfg.get("choice_options") or {}).get(group) or {}).get(name, {})}


def task_options(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The run's task constructor options (see :func:`chosen_config`)."""
    return options(chosen_config(cfg, "task"))


def adapter_options(dataset_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """A dataset config's adapter options: without its training budget, its R3D values and its label."""
    return options(dataset_cfg, *DATASET_ENGINE_BLOCKS, *DATASET_NAMING_OPTIONS)
