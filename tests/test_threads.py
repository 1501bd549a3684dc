"""Torch's threads per job (config ``threads``, issue 16): cores shared among the launcher's parallel
jobs, an integer overrides, recorded in the run record, never part of the run's hash or cell."""
from __future__ import annotations

import json

import pytest
import torch

from mmfuse.cli import main
from mmfuse.engine.threads import thread_count
from tiny_config import TINY

BASIC = {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}
JOBLIB = {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"}


@pytest.mark.parametrize(
    ("setting", "launcher", "expected"),
    [
        ("auto", BASIC, 8),
        ("auto", None, 8),
        ("auto", {**JOBLIB, "n_jobs": 2}, 4),
        ("auto", {**JOBLIB, "n_jobs": 3}, 2),
        ("auto", {**JOBLIB, "n_jobs": -1}, 1),
        ("auto", {**JOBLIB, "n_jobs": -2}, 1),
        ("auto", {**JOBLIB, "n_jobs": 16}, 1),
        (3, {**JOBLIB, "n_jobs": 16}, 3),
        (1, BASIC, 1),
    ],
)
def test_thread_count(setting, launcher, expected):
    assert thread_count(setting, launcher, cores=8) == expected


def test_a_run_records_its_threads_outside_its_hash(tmp_path, tiny_paths, capsys):
    saved = torch.get_num_threads()
    try:
        assert main(["run", "threads=1", "task=segmentation", *TINY, *tiny_paths]) == 0
        [result] = (tmp_path / "runs").rglob("result.json")
        record = json.loads(result.read_text())
        assert record["threads"] == 1 and record["cell"] == "concat"
        assert main(["run", "threads=2", "task=segmentation", *TINY, *tiny_paths]) == 0
        assert "skipped" in capsys.readouterr().err
        assert list((tmp_path / "runs").rglob("result.json")) == [result]
    finally:
        torch.set_num_threads(saved)
    assert main(["run", "threads=0"]) == 2
    assert "auto or a positive integer" in capsys.readouterr().err
