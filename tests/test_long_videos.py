"""A 10,000-frame video trains and evaluates end to end, at the full frame rate, for both tasks.

Default model settings (segmentation runs whole videos through its default ``mstcn``;
anticipation subsamples the observed part to ``model.max_len``); only the number of videos
and epochs is small. The metrics' ``update`` is wrapped to see what the tasks
hand it: one prediction per frame of every test video.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from folder_fixtures import make_folder_dataset

import mmfuse.tasks.anticipation as anticipation
import mmfuse.tasks.segmentation as segmentation
from mmfuse.cli import main

FRAMES = 10_000


@pytest.fixture(scope="module")
def long_root(tmp_path_factory) -> Path:
    """One training video and one test video of exactly ``FRAMES`` frames (split 1)."""
    return make_folder_dataset(tmp_path_factory.mktemp("long") / "data", num_videos=2, frames=(FRAMES, FRAMES))


def run_record(runs: Path) -> dict:
    [path] = sorted(runs.rglob("result.json"))
    return json.loads(path.read_text())


def test_long_video_segmentation_predicts_every_frame(long_root, tmp_path, tiny_paths, monkeypatch):
    seen = []

    def spy(self, preds, target):
        seen.append((len(preds), len(target)))
        return original(self, preds, target)

    original = segmentation.SegmentationMetrics.update
    monkeypatch.setattr(segmentation.SegmentationMetrics, "update", spy)
    overrides = [f"dataset.root={long_root}", "fusion=concat", "task=segmentation", "dataset.train.epochs=1"]
    assert main(["run", "dataset=folder", *overrides, *tiny_paths]) == 0

    assert seen == [(FRAMES, FRAMES)]  # the one test video, every frame predicted and scored
    record = run_record(tmp_path / "runs")
    assert record["status"] == "finished"
    assert record["config"]["temporal"]["name"] == "mstcn"  # segmentation's default, on the whole video
    assert set(record["metrics"]) == {"accuracy", "edit", "f1@10", "f1@25", "f1@50"}
    assert all(math.isfinite(v) and 0.0 <= v <= 100.0 for v in record["metrics"].values())
    assert math.isfinite(record["final_loss"])


def test_long_video_anticipation_predicts_every_future_frame(long_root, tmp_path, tiny_paths, monkeypatch):
    seen = []

    def spy(self, preds, target):
        seen.append(({a: len(p) for a, p in preds.items()}, len(target)))
        return original(self, preds, target)

    original = anticipation.MeanOverClasses.update
    monkeypatch.setattr(anticipation.MeanOverClasses, "update", spy)
    overrides = [f"dataset.root={long_root}", "fusion=concat", "task=anticipation", "dataset.train.epochs=1"]
    assert main(["run", "dataset=folder", *overrides, *tiny_paths]) == 0

    record = run_record(tmp_path / "runs")
    task = record["config"]["task"]
    [(windows, target)] = seen
    assert target == FRAMES
    # each α's decoded window spans the whole future [int(α T), int((α + future) T)) at the frame rate
    expected = {a: int((a + task["future"]) * FRAMES) - int(a * FRAMES) for a in task["observe"]}
    assert windows == expected
    assert record["status"] == "finished"
    assert len(record["metrics"]) == len(task["observe"]) * len(task["predict"])
    assert all(math.isfinite(v) and 0.0 <= v <= 100.0 for v in record["metrics"].values())
    assert np.isfinite(record["final_loss"])
