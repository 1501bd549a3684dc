"""A folder dataset with one defect: `validate` and `bench` exit non-zero, name the file, no traceback."""
from __future__ import annotations

import pytest
from folder_fixtures import DEFECTS, apply_defect, make_folder_dataset

from mmfuse.cli import main

FAST = ["dataset.train.epochs=1", "fusion=concat", "task=segmentation", "seed=1"]


@pytest.fixture
def folder(tmp_path):
    return make_folder_dataset(tmp_path / "data")


def test_a_valid_folder_validates_and_benches(folder, tmp_path, capsys):
    assert main(["validate", "dataset=folder", f"dataset.root={folder}"]) == 0
    assert "no errors" in capsys.readouterr().out
    paths = [f"paths.runs={tmp_path / 'runs'}", f"paths.leaderboards={tmp_path / 'lb'}"]
    assert main(["bench", "dataset=folder", f"dataset.root={folder}", *FAST, *paths]) == 0
    assert list((tmp_path / "runs").rglob("result.json"))


@pytest.mark.parametrize("defect", DEFECTS)
def test_each_defect_fails_validate_and_bench_naming_the_file(defect, folder, tmp_path, capsys):
    named = apply_defect(folder, defect)
    assert main(["validate", "dataset=folder", f"dataset.root={folder}"]) == 2
    out = capsys.readouterr()
    assert named in out.out + out.err
    assert "Traceback" not in out.out + out.err

    paths = [f"paths.runs={tmp_path / 'runs'}", f"paths.leaderboards={tmp_path / 'lb'}"]
    assert main(["bench", "dataset=folder", f"dataset.root={folder}", *FAST, *paths]) != 0
    out = capsys.readouterr()
    assert named in out.out + out.err
    assert "Traceback" not in out.out + out.err
    assert not list((tmp_path / "runs").rglob("result.json"))


def test_folder_without_root_is_a_clear_error(capsys):
    assert main(["validate", "dataset=folder"]) == 2
    assert "dataset.root" in capsys.readouterr().out
