"""Test-time corruptions: each plugin's contract, its statistics, and lazily corrupted test videos."""
from __future__ import annotations

import numpy as np
import pytest

from mmfuse.corruptions import FeatureStatistics, corrupt_videos, feature_statistics
from mmfuse.data.video import Video
from mmfuse.errors import ConfigError
from mmfuse.registry import create_corruption, create_dataset, list_corruptions

RNG_SEED = [0, 3]


def features(steps: int = 400, width: int = 6) -> tuple[np.ndarray, FeatureStatistics]:
    x = np.random.default_rng(7).normal(2.0, 3.0, size=(steps, width)).astype(np.float32)
    return x, FeatureStatistics(x.mean(axis=0), x.std(axis=0))


@pytest.mark.parametrize("name", list_corruptions())
def test_every_corruption_keeps_shape_and_input_and_is_seeded(name):
    x, stats = features()
    before = x.copy()
    corruption = create_corruption(name, modality="m0", level=0.5)
    first = corruption.apply(x, np.random.default_rng(RNG_SEED), stats)
    again = corruption.apply(x, np.random.default_rng(RNG_SEED), stats)
    assert first.shape == x.shape and first.dtype == np.float32
    assert np.array_equal(x, before) and np.array_equal(first, again)
    assert corruption.settings()["name"] == name
    untouched = create_corruption(name, modality="m0", level=0.0).apply(x, np.random.default_rng(RNG_SEED), stats)
    assert np.array_equal(untouched, x)


def test_noise_std_is_the_level_times_each_channels_training_spread():
    x, _ = features(steps=20_000, width=3)
    stats = FeatureStatistics(np.zeros(3, np.float32), np.array([0.5, 2.0, 0.0], np.float32))
    added = create_corruption("noise", modality="m0", level=1.5).apply(x, np.random.default_rng(0), stats) - x
    np.testing.assert_allclose(added.std(axis=0), [0.75, 3.0, 0.0], rtol=0.03, atol=1e-6)


@pytest.mark.parametrize("fill", ["mean", "zeros"])
def test_missing_replaces_whole_videos_with_the_fill(fill):
    x, stats = features()
    out = create_corruption("missing", modality="m0", level=1.0, fill=fill).apply(x, np.random.default_rng(0), stats)
    expected = stats.mean if fill == "mean" else np.zeros_like(stats.mean)
    assert np.array_equal(out, np.broadcast_to(expected, x.shape))
    kept = [create_corruption("missing", modality="m0", level=0.3).apply(x, np.random.default_rng(s), stats) for s in range(400)]
    share = np.mean([not np.array_equal(k, x) for k in kept])
    assert abs(share - 0.3) < 0.07


def test_frame_drop_and_feature_dropout_remove_the_level_share():
    x, stats = features(steps=20_000)
    rows = create_corruption("frame_drop", modality="m0", level=0.25).apply(x, np.random.default_rng(0), stats)
    dropped_rows = np.all(rows == stats.mean, axis=1)
    assert abs(dropped_rows.mean() - 0.25) < 0.01
    assert np.array_equal(rows[~dropped_rows], x[~dropped_rows])
    values = create_corruption("feature_dropout", modality="m0", level=0.4, fill="zeros").apply(x, np.random.default_rng(0), stats)
    assert abs((values == 0).mean() - 0.4) < 0.01 and np.array_equal(values[values != 0], x[values != 0])


def test_cutout_removes_one_contiguous_span():
    x, stats = features(steps=200)
    out = create_corruption("cutout", modality="m0", level=0.3).apply(x, np.random.default_rng(4), stats)
    removed = np.flatnonzero(np.any(out != x, axis=1))
    assert len(removed) == 60 and np.all(np.diff(removed) == 1)
    assert np.array_equal(out[removed], np.broadcast_to(stats.mean, (60, x.shape[1])))


@pytest.mark.parametrize("options", [{"level": -0.1}, {"level": 1.5}, {"fill": "noise"}])
def test_impossible_options_are_refused(options):
    with pytest.raises(ConfigError):
        create_corruption("frame_drop", **{"level": 0.5, **options})


def test_feature_statistics_agree_with_numpy_over_every_training_step():
    dataset = create_dataset("synthetic", num_train=5, num_test=1, min_frames=40, max_frames=90)
    videos = dataset.videos("train")
    stats = feature_statistics(videos, "m1")
    stacked = np.concatenate([v.features["m1"] for v in videos]).astype(np.float64)
    np.testing.assert_allclose(stats.mean, stacked.mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(stats.std, stacked.std(axis=0), atol=1e-5)


def test_corrupted_videos_change_one_modality_consistently_and_lazily():
    x, stats = features(steps=50)
    other = np.ones((50, 2), np.float32)
    videos = [Video(f"v{i}", {"m0": x * (i + 1), "m1": other}, np.zeros(50, np.int64)) for i in range(3)]
    corrupted = corrupt_videos(videos, create_corruption("noise", modality="m0", level=1.0), stats)
    assert all(c.features["m1"] is v.features["m1"] for c, v in zip(corrupted, videos))
    assert all(np.array_equal(v.features["m0"], x * (i + 1)) for i, v in enumerate(videos))
    whole = np.asarray(corrupted[1].features["m0"])
    assert whole.shape == (50, 6) and len(corrupted[1].features["m0"]) == 50
    assert np.array_equal(corrupted[1].features["m0"][10:20], whole[10:20])  # every read is the same video
    assert not np.array_equal(whole, x * 2)
    assert not np.array_equal(np.asarray(corrupted[0].features["m0"]) - x, whole - 2 * x)  # a stream per video
    again = corrupt_videos(videos, create_corruption("noise", modality="m0", level=1.0), stats)
    assert np.array_equal(np.asarray(again[1].features["m0"]), whole)  # the same for every method
