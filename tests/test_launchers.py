"""The grid runs on Hydra's launchers; a cell finished by one launcher is skipped by the next."""
from __future__ import annotations

import pytest
from tiny_config import TINY

from mmfuse.cli import main

LAUNCHERS = [
    ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"],
]


@pytest.mark.parametrize("launcher", LAUNCHERS, ids=["joblib", "submitit_local"])
def test_grid_on_another_launcher_then_skipped_by_the_default(launcher, tmp_path, capsys):
    if "submitit" in launcher[0]:
        pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    paths = [f"paths.runs={tmp_path / 'runs'}", f"paths.leaderboards={tmp_path / 'lb'}"]
    grid = ["fusion=concat", "task=segmentation", "seed=1,2", *TINY, *paths]
    assert main(["bench", *grid, *launcher]) == 0
    assert "2 run(s) finished, 0 skipped" in capsys.readouterr().out
    assert len(list((tmp_path / "runs").rglob("result.json"))) == 2
    assert main(["bench", *grid]) == 0
    assert "0 run(s) finished, 2 skipped" in capsys.readouterr().out
