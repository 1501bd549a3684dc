"""Config groups mirror the registries, and every config composes."""
from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from mmfuse.commands.hydra_app import compose_config, group_options
from mmfuse.registry import REGISTRIES

GROUP_OF_KIND = {"fusion": "fusion", "regularizer": "regularizer", "encoder": "encoder", "temporal": "temporal", "task": "task", "dataset": "dataset"}


DATASET_VARIANTS = {"utkinect_r3d": "darai"}  # a config choosing another adapter's layout


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_one_config_per_registered_name(kind):
    variants = DATASET_VARIANTS if kind == "dataset" else {}
    assert [o for o in group_options(GROUP_OF_KIND[kind]) if o not in variants] == REGISTRIES[kind].list()


@pytest.mark.parametrize("variant,adapter", DATASET_VARIANTS.items())
def test_dataset_variant_configs_name_their_adapter(variant, adapter):
    cfg = compose_config([f"dataset={variant}", "dataset.root=/nonexistent"])
    assert cfg.dataset.name == adapter and cfg.dataset.layout == variant


@pytest.mark.parametrize(
    "group,name", [(group, name) for group in GROUP_OF_KIND.values() for name in group_options(group)]
)
def test_each_group_config_composes_and_names_its_plugin(group, name):
    overrides = [f"{group}={name}"]
    if group == "dataset" and name != "synthetic":
        overrides.append("dataset.root=/nonexistent")
    cfg = compose_config(overrides)
    assert cfg[group].name == (DATASET_VARIANTS.get(name, name) if group == "dataset" else name)


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
    cells = 1 if experiment == "r3d" else 2  # the base runs R3D alone; an ablation compares two or more
    assert len(list((tmp_path / "runs").rglob("result.json"))) >= cells


def test_r3d_base_sets_its_values_per_dataset_and_per_plugin():
    from mmfuse.engine.trainer import chosen_config, task_options

    cfg = OmegaConf.to_container(
        compose_config(["experiment=r3d", "dataset=utkinect_r3d", "dataset.root=/x", "task=anticipation"]), resolve=True
    )
    assert (cfg["model"]["dim"], cfg["model"]["max_len"], cfg["fusion"]["ratio"]) == (64, 2000, 0.1)
    assert chosen_config(cfg, "temporal") == {**cfg["temporal"], "heads": 8, "layers": 2, "radius": 2000, "norm": "paper"}
    options = task_options(cfg)
    assert (options["num_queries"], options["heads"], options["decoder_layers"]) == (8, 8, 1)
    assert options["train_observe"] == [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55]
    darai = OmegaConf.to_container(compose_config(["experiment=r3d", "dataset=darai", "dataset.root=/x"]), resolve=True)
    assert (darai["model"]["dim"], darai["fusion"]["ratio"]) == (128, 0.2)
    identity = OmegaConf.to_container(compose_config(["experiment=r3d", "temporal=identity"]), resolve=True)
    assert chosen_config(identity, "temporal") == identity["temporal"]  # the transformer's options stay out
    segmentation = OmegaConf.to_container(compose_config(["experiment=r3d", "task=segmentation"]), resolve=True)
    assert "num_queries" not in task_options(segmentation)
