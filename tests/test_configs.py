"""Config groups mirror the registries, and every config composes."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from mmfuse.commands.hydra_app import compose_config, group_options
from mmfuse.registry import REGISTRIES
from mmfuse.results.baselines import load_baselines

GROUP_OF_KIND = {"fusion": "fusion", "regularizer": "regularizer", "encoder": "encoder", "temporal": "temporal", "task": "task", "dataset": "dataset", "corruption": "corruption"}


DATASET_VARIANTS = {"utkinect_r3d": "darai", "synthetic_noisy": "synthetic"}  # a config choosing another adapter's layout


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_one_config_per_registered_name(kind):
    variants = DATASET_VARIANTS if kind == "dataset" else {}
    assert [o for o in group_options(GROUP_OF_KIND[kind]) if o not in variants] == REGISTRIES[kind].list()


FILELESS_DATASETS = ("synthetic", "synthetic_noisy")


@pytest.mark.parametrize("variant,adapter", DATASET_VARIANTS.items())
def test_dataset_variant_configs_name_their_adapter(variant, adapter):
    cfg = compose_config([f"dataset={variant}", *([] if variant in FILELESS_DATASETS else ["dataset.root=/nonexistent"])])
    assert cfg.dataset.name == adapter
    assert variant in FILELESS_DATASETS or cfg.dataset.layout == variant


@pytest.mark.parametrize(
    "group,name", [(group, name) for group in GROUP_OF_KIND.values() for name in group_options(group)]
)
def test_each_group_config_composes_and_names_its_plugin(group, name):
    overrides = [f"{group}={name}"]
    if group == "dataset" and name not in FILELESS_DATASETS:
        overrides.append("dataset.root=/nonexistent")
    cfg = compose_config(overrides)
    assert cfg[group].name == (DATASET_VARIANTS.get(name, name) if group == "dataset" else name)


@pytest.mark.parametrize("experiment", group_options("experiment"))
def test_each_experiment_composes_with_a_grid(experiment):
    cfg = compose_config([f"experiment={experiment}"])
    assert OmegaConf.to_container(cfg.grid)


WHEEL_CHECK = """
import importlib, pkgutil, sys
from pathlib import Path
import mmfuse
from mmfuse.commands.hydra_app import compose_config, group_options
from mmfuse.results.baselines import load_baselines
assert Path(mmfuse.__file__).resolve().is_relative_to(Path(sys.argv[1]).resolve()), mmfuse.__file__
for module in pkgutil.walk_packages(mmfuse.__path__, "mmfuse."):
    importlib.import_module(module.name)
for experiment in group_options("experiment"):
    compose_config([f"experiment={experiment}"])
print(len(load_baselines()))
"""


def test_configs_and_baselines_ship_in_the_wheel(tmp_path):
    """A wheel built from a copy of the tree (no symlinks in an installed package) holds every
    module, every config, the report template and the published baselines: load them from the unpacked wheel alone."""
    root = Path(__file__).resolve().parents[1]
    source = tmp_path / "source"
    kept = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
    for name in kept:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, source / name, follow_symlinks=False)
    build = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*build, "-w", str(tmp_path / "dist")], check=True, capture_output=True)
    installed = tmp_path / "installed"
    with zipfile.ZipFile(next((tmp_path / "dist").glob("mmfuse-*.whl"))) as wheel:
        wheel.extractall(installed)
    assert not any(p.is_symlink() for p in installed.rglob("*"))
    packaged = {str(p.relative_to(installed)) for p in (installed / "mmfuse").rglob("*") if p.suffix in (".py", ".yaml", ".j2")}
    tracked = {name.replace("configs/", "mmfuse/configs/", 1).replace("baselines/", "mmfuse/baselines/", 1)
               for name in kept if name.startswith(("mmfuse/", "configs/", "baselines/"))}
    assert packaged == {name for name in tracked if name.endswith((".py", ".yaml", ".j2"))}
    env = {**os.environ, "PYTHONPATH": str(installed)}
    check = subprocess.run(
        [sys.executable, "-c", WHEEL_CHECK, str(installed)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    assert int(check.stdout.split()[-1]) == len(load_baselines(root / "baselines"))


RUN_ELSEWHERE = {"default", "r3d", "r3d_with_without_rtf"}  # the README's job; tests/test_r3d_runs.py runs the other two


@pytest.mark.parametrize("experiment", sorted(set(group_options("experiment")) - RUN_ELSEWHERE))
def test_each_ablation_experiment_runs(experiment, tmp_path):
    """Every other R3D ablation grid runs end to end (one task, one seed, a tiny budget)."""
    from tiny_config import TINY

    from mmfuse.cli import main

    paths = [f"paths.runs={tmp_path / 'runs'}", f"paths.leaderboards={tmp_path / 'lb'}"]
    assert main(["bench", f"experiment={experiment}", "task=segmentation", "seed=1", *TINY, *paths]) == 0
    assert len(list((tmp_path / "runs").rglob("result.json"))) >= 2  # an ablation compares two or more cells


def test_r3d_base_sets_its_values_per_dataset_and_per_plugin():
    from mmfuse.config import chosen_config, task_options

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
