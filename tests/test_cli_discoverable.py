"""Settings a newcomer can find from the command line (issue 16): the version, the composed config,
the experiments, where a bench writes, what a valid dataset holds."""
from __future__ import annotations

import pytest
import yaml

from mmfuse import __version__
from mmfuse.cli import main
from mmfuse.commands.hydra_app import group_options


def test_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.strip() == f"mmfuse {__version__}"


def test_config_prints_the_composed_config_and_refuses_mistakes(capsys):
    assert main(["config", "fusion=rtf", "model.dim=32"]) == 0
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert cfg["fusion"]["name"] == "rtf" and cfg["model"]["dim"] == 32 and cfg["model"]["hidden"] == 64
    assert main(["config", "experiment=r3d", "--resolve"]) == 0
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert cfg["model"]["hidden"] == cfg["model"]["dim"] == 128 and "fusion" in cfg["grid"]
    assert main(["config", "model.dimm=32"]) == 2
    assert "Did you mean model.dim?" in capsys.readouterr().err


def test_list_experiment_names_each_with_its_first_comment(capsys):
    assert main(["list", "experiment"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "experiment"
    names = [line.split()[0] for line in lines[1:]]
    assert names == group_options("experiment")
    assert any("R3D Figure 5" in line for line in lines) and not any("@package" in line for line in lines)


def test_a_misspelled_list_kind_suggests_the_closest(capsys):
    assert main(["list", "experimnt"]) == 2
    assert "Did you mean 'experiment'?" in capsys.readouterr().err


def test_bench_help_says_where_runs_and_leaderboards_go(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    out = capsys.readouterr().out
    assert "paths.runs" in out and "paths.leaderboards" in out


def test_validate_ends_with_a_summary(capsys):
    assert main(["validate", "dataset.num_classes=4", "dataset.num_train=5", "dataset.num_test=3"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == "4 classes; 5 training and 3 test videos; modalities (feature width): m0 (24), m1 (24)."
