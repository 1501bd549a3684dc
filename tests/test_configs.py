"""Config groups mirror the registries, and every config composes."""
from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from mmfuse.commands.hydra_app import compose_config, group_options
from mmfuse.registry import REGISTRIES

GROUP_OF_KIND = {"fusion": "fusion", "regularizer": "regularizer", "encoder": "encoder", "temporal": "temporal", "task": "task", "dataset": "dataset"}


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_one_config_per_registered_name(kind):
    assert group_options(GROUP_OF_KIND[kind]) == REGISTRIES[kind].list()


@pytest.mark.parametrize(
    "group,name", [(group, name) for group in GROUP_OF_KIND.values() for name in group_options(group)]
)
def test_each_group_config_composes_and_names_its_plugin(group, name):
    overrides = [f"{group}={name}"]
    if group == "dataset" and name != "synthetic":
        overrides.append("dataset.root=/nonexistent")
    cfg = compose_config(overrides)
    assert cfg[group].name == name


@pytest.mark.parametrize("experiment", group_options("experiment"))
def test_each_experiment_composes_with_a_grid(experiment):
    cfg = compose_config([f"experiment={experiment}"])
    assert OmegaConf.to_container(cfg.grid)


def test_configs_ship_inside_the_package():
    from importlib.resources import files

    assert (files("mmfuse.configs") / "config.yaml").is_file()


@pytest.mark.parametrize("experiment", [e for e in group_options("experiment") if e != "default"])
def test_each_ablation_experiment_runs(experiment, tmp_path):
    """Every R3D ablation grid runs end to end (one task, one seed, a tiny budget)."""
    from tiny_config import TINY

    from mmfuse.cli import main

    paths = [f"paths.runs={tmp_path / 'runs'}", f"paths.leaderboards={tmp_path / 'lb'}"]
    assert main(["bench", f"experiment={experiment}", "task=segmentation", "seed=1", *TINY, *paths]) == 0
    assert len(list((tmp_path / "runs").rglob("result.json"))) >= 2
