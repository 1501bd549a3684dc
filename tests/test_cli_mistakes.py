"""A newcomer's mistakes on the command line (issue 16): each is one line on stderr, exit code 2,
no traceback, and nothing run or written, the same from `mmfuse run` and `mmfuse bench`."""
from __future__ import annotations

import pytest

from mmfuse.cli import main
from mmfuse.commands.hydra_app import compose_config

MISTAKES = {
    "model.dimm=32": "Did you mean model.dim?",
    "+model.dimm=32": "Did you mean model.dim?",
    "sed=3": "Did you mean seed?",
    "dataset.num_trian=3": "Did you mean dataset.num_train?",
    "dataset.train.epoch=3": "Did you mean dataset.train.epochs?",
    "+fusion.ratio=0.3": "fusion 'concat'",
    "seed=abc": "an integer ≥ 0",
    "seed=1.5": "an integer ≥ 0",
    "seed=-1": "an integer ≥ 0",
    "model.dim=abc": "a positive integer",
    "model.dim=-5": "a positive integer",
    "model.hidden=0": "a positive integer",
    "model.max_len=1.5": "a positive integer",
    "device=tpu": "auto, cpu, cuda or cuda:N",
    "features_in_memory=maybe": "true or false",
    "dataset=folder": "dataset.root",
}


@pytest.mark.parametrize("command", ["run", "bench"])
@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_mistake_is_one_line_exit_2_and_nothing_runs(command, mistake, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([command, "fusion=concat", "task=segmentation", mistake]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert len(out.err.strip().splitlines()) == 1, out.err
    assert MISTAKES[mistake] in out.err and mistake.split("=")[0].lstrip("+") in out.err
    assert "Traceback" not in out.err
    assert not list(tmp_path.iterdir())


def test_an_anticipation_fraction_without_brackets_is_refused(capsys):
    assert main(["run", "task=anticipation", "task.observe=1.5"]) == 2
    err = capsys.readouterr().err
    assert "task.observe" in err and "a list" in err and "Traceback" not in err


def test_a_plugin_option_is_checked_against_the_chosen_plugin(capsys):
    compose_config(["fusion=rtf", "fusion.ratio=0.3"])
    assert main(["run", "fusion=rtf", "fusion.ratoi=0.3"]) == 2
    assert "Did you mean fusion.ratio?" in capsys.readouterr().err
    compose_config(["experiment=r3d", "choice_options.task.anticipation.num_queries=4"])
    assert main(["run", "experiment=r3d", "choice_options.task.anticipation.num_querie=4"]) == 2
    assert "Did you mean choice_options.task.anticipation.num_queries?" in capsys.readouterr().err


def test_each_value_of_a_sweep_axis_is_checked(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "seed=1,2.5", "fusion=concat", "task=segmentation"]) == 2
    assert "2.5" in capsys.readouterr().err
    assert main(["bench", "fusion=concat,rtf", "fusion.ratio=0.3", "task=segmentation", "seed=1"]) == 2
    assert "fusion 'concat'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
