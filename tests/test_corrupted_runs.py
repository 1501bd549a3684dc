"""A corrupted cell evaluates its clean cell's trained model: never retrained, its own record and board."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import mmfuse.engine.trainer as trainer
from mmfuse.cli import main
from mmfuse.tasks.segmentation import SegmentationTask
from tiny_config import TINY

GRID = ["fusion=concat", "task=segmentation", "seed=1", *TINY, "dataset.train.epochs=3"]


def records(runs: Path) -> dict[str, dict]:
    return {r["cell"]: r for r in (json.loads(p.read_text()) for p in sorted(runs.rglob("result.json")))}


def paths(root: Path) -> list[str]:
    return [f"paths.runs={root / 'runs'}", f"paths.leaderboards={root / 'leaderboards'}"]


def test_a_corrupted_cell_trains_its_clean_cell_once_and_reevaluates_its_model(tmp_path, capsys):
    noisy = ["corruption=noise", "corruption.level=0.5,3.0", "corruption.modality=m1"]
    assert main(["bench", *GRID, *noisy, *paths(tmp_path)]) == 0
    runs = records(tmp_path / "runs")
    clean = runs["concat"]
    assert set(runs) == {"concat", *(f"concat[corruption=noise,corruption.level={v},corruption.modality=m1]" for v in ("0.5", "3.0"))}
    for cell, record in runs.items():
        if cell == "concat":
            continue
        assert record["trained_cell"] == "concat"
        assert Path(record["trained_in"]) == next((tmp_path / "runs").rglob("concat/seed1-*"))
        assert record["train_seconds"] == 0.0 and record["train_curves"] == {}
        assert record["representation"]["spectra"].keys() == record["effective_rank"].keys()
        assert record["corruption"] == {"name": "noise", "modality": "m1", "level": float(cell.split("level=")[1].split(",")[0]), "seed": 0}
        assert record["hash"] != clean["hash"]
    assert clean["corruption"] == {"name": "none"} and clean["trained_in"] == ""
    for record in runs.values():  # clean and corrupted runs keep each test video's scores, in one order
        assert record["videos"] == clean["videos"] and len(clean["videos"]) == 3
        assert record["per_video"].keys() == record["metrics"].keys()
        assert all(len(scores) == 3 for scores in record["per_video"].values())
        assert record["metrics"]["edit"] == pytest.approx(np.mean(record["per_video"]["edit"]))
    assert len(clean["train_curves"]["loss"]) == 3
    noisiest = runs["concat[corruption=noise,corruption.level=3.0,corruption.modality=m1]"]["effective_rank"]
    assert noisiest["m1"] != clean["effective_rank"]["m1"] and noisiest["m0"] == clean["effective_rank"]["m0"]
    out = capsys.readouterr()
    assert "3 run(s) finished, 0 skipped" in out.out  # the clean cell trained once, for both
    assert "not retrained" in out.err
    boards = sorted((p.name for p in (tmp_path / "leaderboards").glob("*.md")), key=lambda name: (len(name), name))
    assert boards == [
        "segmentation-synthetic[max_frames=120,min_frames=60,num_test=3,num_train=6].md",
        *(f"segmentation-synthetic[max_frames=120,min_frames=60,num_test=3,num_train=6],noise[level={v},modality=m1].md"
          for v in ("0.5", "3.0")),
    ]
    assert "| concat " in (tmp_path / "leaderboards" / boards[2]).read_text()


def test_corruption_never_reaches_training(tmp_path, monkeypatch):
    seen: dict[str, list[np.ndarray]] = {}
    collate = SegmentationTask.collate

    def recording(self, samples, modalities):
        batch = collate(self, samples, modalities)
        seen.setdefault(current, []).append(batch.feats["m1"].numpy().copy())
        return batch

    monkeypatch.setattr(SegmentationTask, "collate", recording)
    current = "clean"
    assert main(["bench", *GRID, *paths(tmp_path / "clean")]) == 0
    current = "corrupted"
    assert main(["bench", *GRID, "corruption=frame_drop", "corruption.level=0.9", *paths(tmp_path / "corrupted")]) == 0
    assert len(seen["clean"]) == len(seen["corrupted"]) > 0
    assert all(np.array_equal(a, b) for a, b in zip(seen["clean"], seen["corrupted"]))
    models = [torch.load(next((tmp_path / kind).rglob("model.pt"))) for kind in ("clean", "corrupted")]
    assert len(list((tmp_path / "corrupted").rglob("model.pt"))) == 1  # the corrupted run saves no model
    assert all(torch.equal(models[0][k], models[1][k]) for k in models[0])


def test_a_finished_model_is_reevaluated_without_training(tmp_path, monkeypatch, capsys):
    assert main(["bench", *GRID, *paths(tmp_path)]) == 0
    model = next((tmp_path / "runs").rglob("model.pt"))
    written = model.stat().st_mtime_ns

    def never(**kwargs):
        raise AssertionError("a corrupted cell trained")

    monkeypatch.setattr("mmfuse.engine.job.train_and_evaluate", never)
    assert main(["bench", *GRID, "corruption=missing,cutout", *paths(tmp_path)]) == 0  # both modalities each
    assert model.stat().st_mtime_ns == written
    assert len(records(tmp_path / "runs")) == 5
    assert "4 run(s) finished, 0 skipped" in capsys.readouterr().out
    assert trainer.MODEL_FILE == model.name


@pytest.mark.parametrize("command", ["run", "bench"])
@pytest.mark.parametrize(
    "mistake,said",
    [
        (["corruption=noise", "corruption.modality=rgb"],
         "corruption.modality='rgb' is not a modality of dataset 'synthetic'; its modalities: m0, m1"),
        (["corruption=frame_drop", "corruption.level=1.5"], "corruption.level of 'frame_drop' must be in [0, 1], got 1.5"),
        (["corruption=missing", "corruption.fill=noise"], "corruption.fill must be one of mean, zeros, got 'noise'"),
    ],
)
def test_an_impossible_corruption_is_refused_before_anything_runs(command, mistake, said, tmp_path, capsys):
    assert main([command, *GRID, *mistake, *paths(tmp_path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert said in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_a_grid_crossing_none_with_levels_counts_the_clean_run_once(tmp_path, capsys):
    grid = ["corruption=none,feature_dropout", "corruption.level=0.2,0.6", "corruption.modality=m0"]
    assert main(["bench", *GRID, *grid, *paths(tmp_path)]) == 0
    assert len(records(tmp_path / "runs")) == 3
    assert "3 run(s) finished, 0 skipped" in capsys.readouterr().out
