"""R3D end to end on its own layouts: DARai (both levels, both tasks) and UTKinect (Table 2 both
ways), with R3D's published rows beside the measured ones on the boards whose dataset matches."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from darai_fixtures import make_darai_dataset, make_utkinect_r3d_dataset
from mmfuse.cli import main

TINY_R3D = ["seed=1", "dataset.train.epochs=1", "model.dim=16"]


def bench(tmp_path: Path, *overrides: str) -> int:
    paths = [f"paths.runs={tmp_path / 'runs'}", f"paths.leaderboards={tmp_path / 'lb'}"]
    return main(["bench", *overrides, *TINY_R3D, *paths])


def board(tmp_path: Path, task: str, label: str) -> str:
    (path,) = [p for p in (tmp_path / "lb").glob(f"{task}-*.md") if label in p.read_text(encoding="utf-8")]
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("level,block", [("coarse", "DARai (Coarse)"), ("fine", "DARai (Fine")])
def test_r3d_darai_layout_in_r3d_naming_runs_both_tasks_beside_the_papers_rows(tmp_path, level, block):
    root = make_darai_dataset(tmp_path / "darai", activity_in_name=False, split_extension=".mp4")
    assert main(["validate", "dataset=darai", f"dataset.root={root}", f"dataset.level={level}"]) == 0
    assert bench(tmp_path, "experiment=r3d", "dataset=darai", f"dataset.root={root}", f"dataset.level={level}") == 0
    records = [json.loads(p.read_text()) for p in (tmp_path / "runs").rglob("result.json")]
    assert sorted(r["task"] for r in records) == ["anticipation", "segmentation"]
    label = "darai[label=darai]" if level == "coarse" else "darai[label=darai,level=fine]"
    assert {r["dataset"] for r in records} == {label}
    anticipation = board(tmp_path, "anticipation", label)
    assert "| measured " in anticipation and "reported (R3D, Table 1)" in anticipation
    assert "GTAN" in anticipation  # a Table 1 row of this setting
    segmentation = board(tmp_path, "segmentation", label)
    assert "reported (R3D, Table 5)" in segmentation and "reported (R3D, Table 1)" not in segmentation


def test_r3d_table_2_both_ways_on_the_utkinect_layout(tmp_path):
    root = make_utkinect_r3d_dataset(tmp_path / "utk")
    assert bench(tmp_path, "experiment=r3d_with_without_rtf", "dataset=utkinect_r3d", f"dataset.root={root}",
                 "task=anticipation") == 0
    records = [json.loads(p.read_text()) for p in (tmp_path / "runs").rglob("result.json")]
    assert {r["dataset"] for r in records} == {"darai[label=utk,layout=utkinect_r3d]"}  # never the DARai board
    cells = sorted(r["cell"] for r in records)
    assert len(cells) == 4 and any(c.startswith("concat") for c in cells)
    assert any("preset=official" in c and "ratio=0" in c for c in cells)  # the official W/O RTF
    assert all("choice_options" not in c and "temporal.heads=8" in c for c in cells)
    config = records[0]["config"]
    assert config["choice_options"]["task"]["anticipation"]["num_queries"] == 8
    text = board(tmp_path, "anticipation", "darai[label=utk,layout=utkinect_r3d]")
    assert "reported (R3D, Table 1)" in text and "reported (R3D, Table 2)" in text
