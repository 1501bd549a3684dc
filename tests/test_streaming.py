"""Feature files stay on disk until a batch needs them; batches are built ahead in a thread."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from folder_fixtures import make_folder_dataset

import mmfuse.engine.trainer as trainer
from mmfuse.cli import main
from mmfuse.data.feature_file import FeatureFile
from mmfuse.engine.prefetch import prefetched
from mmfuse.registry import create_dataset


def expected_rows(path: Path, layout: str, frames: int, step: int) -> np.ndarray:
    """What the features of a video are, from the whole file: (T, D) float32, fitted, subsampled."""
    stored = np.load(path).astype(np.float32)
    stored = stored.T if layout == "channels_first" else stored
    fitted = stored[np.minimum(np.arange(frames), len(stored) - 1)]
    return fitted[::step]


@pytest.mark.parametrize("layout", ["channels_first", "time_first"])
@pytest.mark.parametrize("step", [1, 3])
def test_folder_videos_hold_files_that_read_what_the_whole_file_holds(tmp_path, layout, step):
    root = make_folder_dataset(tmp_path / "data", layout=layout)
    name = "v000"
    labels = (root / "groundTruth" / f"{name}.txt").read_text().split()
    path = root / "features" / "accel" / f"{name}.npy"
    stored = np.load(path)
    np.save(path, stored[:, :-3] if layout == "channels_first" else stored[:-3])  # 3 frames short: padded
    adapter = create_dataset("folder", root=root, layout=layout, sample_rate=step)
    video = next(v for split in ("train", "test") for v in adapter.videos(split) if v.name == name)
    features = video.features["accel"]
    assert isinstance(features, FeatureFile)  # a description, no values
    want = expected_rows(path, layout, len(labels), step)
    assert features.shape == want.shape and len(features) == len(want) == video.num_steps
    np.testing.assert_array_equal(np.asarray(features), want)
    np.testing.assert_array_equal(features[2:7], want[2:7])
    np.testing.assert_array_equal(features[len(want) - 2:], want[-2:])  # the padded end
    np.testing.assert_array_equal(features[np.array([0, 4, 1])], want[[0, 4, 1]])


def test_prefetch_keeps_order_and_raises_where_a_batch_fails():
    assert list(prefetched(iter(range(50)), 3)) == list(range(50))
    assert list(prefetched(iter(range(5)), 0)) == list(range(5))

    def broken():
        yield 1
        raise ValueError("batch 2 is broken")

    items = prefetched(broken(), 2)
    assert next(items) == 1
    with pytest.raises(ValueError, match="batch 2"):
        next(items)
    early = prefetched(iter(range(1000)), 2)
    assert next(early) == 0
    early.close()  # a consumer that stops early leaves no producer behind


def test_streamed_in_ram_and_unprefetched_training_give_the_same_run(tmp_path, monkeypatch):
    root = make_folder_dataset(tmp_path / "data")
    common = ["dataset=folder", f"dataset.root={root}", "dataset.train.epochs=2", "dataset.train.batch_size=2",
              "fusion=concat", "task=segmentation"]

    def run(name: str, *extra: str) -> dict:
        runs = tmp_path / name
        assert main(["run", *common, *extra, f"paths.runs={runs}", f"paths.leaderboards={tmp_path / 'lb'}"]) == 0
        [record] = [json.loads(p.read_text()) for p in runs.rglob("result.json")]
        return record

    streamed = run("streamed")
    in_ram = run("in_ram", "features_in_memory=true")
    monkeypatch.setattr(trainer, "PREFETCH", 0)
    built_in_turn = run("in_turn")
    assert streamed["hash"] == in_ram["hash"] == built_in_turn["hash"]  # where features live is not the run
    assert streamed["metrics"] == in_ram["metrics"] == built_in_turn["metrics"]
    assert streamed["final_loss"] == in_ram["final_loss"] == built_in_turn["final_loss"]


def test_darai_videos_hold_files_too(tmp_path):
    from darai_fixtures import make_darai_dataset

    adapter = create_dataset("darai", root=make_darai_dataset(tmp_path / "darai"))
    video = adapter.videos("train")[0]
    for modality, features in video.features.items():
        assert isinstance(features, FeatureFile), modality
        whole = np.asarray(features)
        assert whole.shape == (video.num_steps, adapter.feature_dims[modality]) and whole.dtype == np.float32
        np.testing.assert_array_equal(np.stack([features[i] for i in range(len(features))]), whole)


def test_ntu_skeleton_streams_are_parsed_once_into_a_cache_and_read_from_it(tmp_path):
    from ntu_fixtures import make_ntu_dataset

    root = make_ntu_dataset(tmp_path / "ntu")
    cache = tmp_path / "cache"
    adapter = create_dataset("ntu", root=root, cache=cache)
    video = adapter.videos("train")[0]
    assert all(isinstance(f, FeatureFile) and f.path.parent == cache for f in video.features.values())
    written = {p: p.stat().st_mtime_ns for p in cache.glob("*.npy")}
    assert len(written) == len(video.features) * len(adapter.videos("train"))  # joint and bone of each sample
    again = create_dataset("ntu", root=root, cache=cache).videos("train")[0]
    assert {p: p.stat().st_mtime_ns for p in cache.glob("*.npy")} == written  # read, not written again
    for modality in video.features:
        np.testing.assert_array_equal(np.asarray(again.features[modality]), np.asarray(video.features[modality]))
