"""Dataset adapters: the contract every registered adapter keeps, then each adapter's specifics."""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from omegaconf import OmegaConf
from darai_fixtures import darai_example
from folder_fixtures import CLASSES, DEFECTS, apply_defect, make_folder_dataset
from ntu_fixtures import make_ntu_dataset
from utkinect_fixtures import utkinect_example

from mmfuse.data.base import DatasetAdapter
from mmfuse.data.issues import Issue
from mmfuse.errors import ConfigError, DataError, MmfuseError
from mmfuse.registry import create_dataset, list_datasets

# Options that load a tiny valid copy of each registered dataset, written under a temporary folder.
EXAMPLES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "synthetic": lambda tmp: {"num_train": 4, "num_test": 3, "min_frames": 40, "max_frames": 90},
    "folder": lambda tmp: {"root": make_folder_dataset(tmp / "folder"), "background": ["background"]},
    "darai": darai_example,
    "ntu": lambda tmp: {"root": make_ntu_dataset(tmp / "ntu", features={"rgb": 8}), "modalities": ["joint", "bone", "rgb"]},
    "utkinect": utkinect_example,
}


@pytest.mark.parametrize("sample_rate", [1, 3])
@pytest.mark.parametrize("name", list_datasets())
def test_adapter_contract(name: str, sample_rate: int, tmp_path: Path) -> None:
    if name not in EXAMPLES:
        pytest.fail(f"dataset {name!r} has no example: add one to EXAMPLES in tests/test_datasets.py")
    dataset = create_dataset(name, sample_rate=sample_rate, **EXAMPLES[name](tmp_path))
    assert isinstance(dataset, DatasetAdapter)
    assert dataset.sample_rate == sample_rate
    assert dataset.classes and len(set(dataset.classes)) == len(dataset.classes)
    assert set(dataset.background) <= set(dataset.classes)
    assert dataset.modalities and len(set(dataset.modalities)) == len(dataset.modalities)
    dims = dataset.feature_dims
    assert list(dims) == dataset.modalities and all(isinstance(d, int) and d > 0 for d in dims.values())

    issues = dataset.validate()
    assert all(isinstance(issue, Issue) for issue in issues)
    assert [issue for issue in issues if issue.severity == "error"] == []

    names = {}
    for split in ("train", "test"):
        videos = dataset.videos(split)
        assert videos
        names[split] = [video.name for video in videos]
        for video in videos:
            assert video.labels.dtype == np.int64 and video.labels.ndim == 1 and video.num_frames > 0
            assert 0 <= video.labels.min() and video.labels.max() < dataset.num_classes
            assert video.sample_rate == sample_rate
            assert list(video.features) == dataset.modalities
            for modality, features in video.features.items():
                assert features.dtype == np.float32
                assert features.shape == (-(-video.num_frames // sample_rate), dims[modality])
                assert np.isfinite(features).all()
    assert len(set(names["train"])) == len(names["train"]) and len(set(names["test"])) == len(names["test"])
    assert not set(names["train"]) & set(names["test"])
    checked, loaded = dataset.validate_and_load()  # what a bench reads once: validate()'s issues, videos()'s videos
    assert checked == issues and {split: [video.name for video in videos] for split, videos in loaded.items()} == names
    for split, videos in loaded.items():
        for video, again in zip(videos, dataset.videos(split)):
            assert np.array_equal(video.labels, again.labels)
            assert all(np.array_equal(video.features[m], again.features[m]) for m in dataset.modalities)
    with pytest.raises(MmfuseError, match="validation"):
        dataset.videos("validation")


# --- synthetic ----------------------------------------------------------------------------------


def _frames(videos: list, modalities: list[str]) -> tuple[np.ndarray, np.ndarray]:
    features = np.concatenate([np.concatenate([v.features[m] for m in modalities], axis=1) for v in videos])
    return features, np.concatenate([v.sampled_labels for v in videos])


def _nearest_mean_accuracy(train: list, test: list, modalities: list[str]) -> float:
    x, y = _frames(train, modalities)
    x_test, y_test = _frames(test, modalities)
    means = np.stack([x[y == k].mean(axis=0) for k in range(int(y.max()) + 1)])
    distances = ((x_test[:, None, :] - means[None]) ** 2).sum(axis=-1)
    return float((distances.argmin(axis=1) == y_test).mean())


def test_synthetic_default_is_small_fast_and_deterministic() -> None:
    start = time.perf_counter()
    dataset = create_dataset("synthetic")
    train, test = dataset.videos("train"), dataset.videos("test")
    assert time.perf_counter() - start < 2.0
    assert (len(train), len(test)) == (48, 32)
    assert dataset.modalities == ["m0", "m1"] and dataset.classes == [f"a{c}" for c in range(8)]
    assert all(200 <= v.num_frames <= 500 for v in train + test)
    again = create_dataset("synthetic").videos("train")
    for a, b in zip(train, again):
        assert np.array_equal(a.labels, b.labels)
        assert all(np.array_equal(a.features[m], b.features[m]) for m in a.features)
    assert not np.array_equal(train[0].features["m0"][:10], test[0].features["m0"][:10])
    other = create_dataset("synthetic", seed=1).videos("train")
    assert not np.array_equal(train[0].features["m0"][:10], other[0].features["m0"][:10])


def test_synthetic_sample_rate_only_subsamples() -> None:
    full = create_dataset("synthetic", num_train=3, sample_rate=1).videos("train")
    sampled = create_dataset("synthetic", num_train=3, sample_rate=4).videos("train")
    for a, b in zip(full, sampled):
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.features["m1"][::4], b.features["m1"])


def test_synthetic_fusion_beats_each_modality() -> None:
    dataset = create_dataset("synthetic")
    train, test = dataset.videos("train"), dataset.videos("test")
    single = max(_nearest_mean_accuracy(train, test, [m]) for m in dataset.modalities)
    fused = _nearest_mean_accuracy(train, test, dataset.modalities)
    assert fused >= single + 0.15, (single, fused)


def test_synthetic_modality_alone_confuses_blind_bit_pairs() -> None:
    dataset = create_dataset("synthetic", noise=0.05, drift=0.0)
    train, test = dataset.videos("train"), dataset.videos("test")
    x, y = _frames(train, ["m0"])
    x_test, y_test = _frames(test, ["m0"])
    means = np.stack([x[y == k].mean(axis=0) for k in range(8)])
    predicted = ((x_test[:, None, :] - means[None]) ** 2).sum(axis=-1).argmin(axis=1)
    twin = y_test ^ (1 << dataset.blind_bits["m0"][0])
    assert np.all((predicted == y_test) | (predicted == twin))
    assert 0.3 < (predicted == y_test).mean() < 0.7  # no better than a coin within each pair
    assert _nearest_mean_accuracy(train, test, dataset.modalities) > 0.99


def test_synthetic_transitions_are_structured_and_hide_blind_bits() -> None:
    dataset = create_dataset("synthetic")
    transitions = dataset._transitions
    assert np.allclose(transitions.sum(axis=1), 1.0) and np.all(np.diag(transitions) == 0)
    assert np.all(np.sort(transitions, axis=1)[:, -3:].sum(axis=1) > 0.85)  # three likely successors
    classes = np.arange(8)
    for (bit,) in dataset.blind_bits.values():  # a video and its blind-bit twin are equally likely
        twin = classes ^ (1 << bit)
        np.testing.assert_allclose(transitions[np.ix_(twin, twin)], transitions)
        np.testing.assert_array_equal(dataset._durations[twin], dataset._durations)


def test_synthetic_background_and_options() -> None:
    dataset = create_dataset(
        "synthetic", background=["background"], num_modalities=3, feature_dim=[4, 5, 6], num_classes=5
    )
    assert dataset.classes[-1] == "background" and dataset.background == ["background"]
    assert dataset.feature_dims == {"m0": 4, "m1": 5, "m2": 6}
    labels = np.concatenate([v.labels for v in dataset.videos("train")])
    assert set(np.unique(labels)) == set(range(6))


def test_synthetic_can_make_one_modality_noisier_or_rarer() -> None:
    small = {"num_train": 4, "num_test": 1}
    base = create_dataset("synthetic", **small).videos("train")
    noisy = create_dataset("synthetic", noise=[0.5, 2.0], **small).videos("train")
    rare = create_dataset("synthetic", sensor_dropout=[0.0, 0.4], **small).videos("train")
    assert all(np.array_equal(a.features["m0"], b.features["m0"]) for a, b in zip(base, noisy))
    assert all(np.array_equal(a.labels, b.labels) for a, b in zip(base, noisy))
    spread = [np.concatenate([v.features["m1"] for v in videos]).std() for videos in (base, noisy)]
    assert spread[1] > 1.5 * spread[0]
    zeros = np.concatenate([np.all(v.features["m1"] == 0, axis=1) for v in rare])
    assert abs(zeros.mean() - 0.4) < 0.06 and not any(np.all(v.features["m0"] == 0, axis=1).any() for v in rare)


@pytest.mark.parametrize(
    "options",
    [{"num_classes": 2}, {"min_frames": 50, "max_frames": 10}, {"complementarity": 1.5},
     {"feature_dim": [8]}, {"sample_rate": 0}, {"background": ["a1"]}, {"noise": [0.5]}, {"noise": -1.0},
     {"sensor_dropout": 1.0}, {"sensor_dropout": [0.1, 0.2, 0.3]}],
)
def test_synthetic_rejects_impossible_options(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=next(iter(options))):
        create_dataset("synthetic", **options)


# --- folder -------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["channels_first", "time_first"])
@pytest.mark.parametrize("sample_rate", [1, 4])
def test_folder_reads_videos(layout: str, sample_rate: int, tmp_path: Path) -> None:
    root = make_folder_dataset(tmp_path, layout=layout)
    dataset = create_dataset("folder", root=str(root), layout=layout, sample_rate=sample_rate)
    assert dataset.classes == CLASSES and dataset.modalities == ["accel", "gyro"]
    assert dataset.feature_dims == {"accel": 6, "gyro": 8}
    train = dataset.videos("train")
    assert [v.name for v in train] == ["v000", "v001", "v002", "v003"]
    assert [v.name for v in dataset.videos("test")] == ["v004", "v005"]
    for video in train:
        names = (root / "groundTruth" / f"{video.name}.txt").read_text().split()
        assert [CLASSES[i] for i in video.labels] == names
        stored = np.load(root / "features" / "gyro" / f"{video.name}.npy")
        stored = stored.T if layout == "channels_first" else stored
        np.testing.assert_array_equal(video.features["gyro"], stored[::sample_rate])
        assert video.features["accel"].shape == (-(-len(names) // sample_rate), 6)


def test_folder_features_are_learnable(tmp_path: Path) -> None:
    dataset = create_dataset("folder", root=make_folder_dataset(tmp_path, num_videos=9))
    train, test = dataset.videos("train"), dataset.videos("test")
    majority = np.bincount(np.concatenate([v.labels for v in test])).max() / sum(v.num_frames for v in test)
    assert _nearest_mean_accuracy(train, test, dataset.modalities) > majority + 0.3


def test_folder_modality_selection_and_split(tmp_path: Path) -> None:
    root = make_folder_dataset(tmp_path, modalities=("imu", "emg", "audio"))
    assert create_dataset("folder", root=root).modalities == ["audio", "emg", "imu"]
    dataset = create_dataset("folder", root=root, modalities=["imu", "audio"], split=2)
    assert dataset.modalities == ["imu", "audio"]
    assert [v.name for v in dataset.videos("test")] == ["v000", "v001"]
    assert list(dataset.videos("test")[0].features) == ["imu", "audio"]
    missing = create_dataset("folder", root=root, modalities=["imu", "video"])
    assert any("features/video" in issue.location for issue in missing.validate())
    with pytest.raises(DataError, match="features/video"):
        missing.modalities


def test_folder_background_must_be_a_class(tmp_path: Path) -> None:
    root = make_folder_dataset(tmp_path)
    assert create_dataset("folder", root=root, background=["background"]).background == ["background"]
    assert create_dataset("folder", root=root, background="background").background == ["background"]
    dataset = create_dataset("folder", root=root, background=["idle"])
    errors = [issue for issue in dataset.validate() if issue.severity == "error"]
    assert len(errors) == 1 and "'idle'" in errors[0].message and errors[0].location == "mapping.txt"
    with pytest.raises(DataError, match="idle"):
        dataset.videos("train")


def test_folder_background_defaults_to_mstcns(tmp_path: Path) -> None:
    """Unset (the config's null): the class named ``background`` where mapping.txt has one; [] drops none."""
    root = make_folder_dataset(tmp_path)
    config = OmegaConf.load(Path(__file__).parents[1] / "configs" / "dataset" / "folder.yaml")
    assert config.background is None
    options = {key: value for key, value in OmegaConf.to_container(config).items() if key not in ("name", "train")}
    assert create_dataset("folder", **{**options, "root": root}).background == ["background"]
    assert create_dataset("folder", root=root).background == ["background"]
    assert create_dataset("folder", root=root, background=[]).background == []
    (root / "mapping.txt").write_text("".join(f"{i} {name}\n" for i, name in enumerate(["SIL", *CLASSES[1:]])))
    dataset = create_dataset("folder", root=root)
    assert dataset.background == [] and not [i for i in dataset.validate() if i.location == "mapping.txt"]


def test_folder_length_within_tolerance_is_fitted(tmp_path: Path) -> None:
    root = make_folder_dataset(tmp_path, num_videos=3)
    labels = len((root / "groundTruth" / "v000.txt").read_text().split())
    short = np.load(root / "features" / "accel" / "v000.npy")[:, : labels - 3]
    np.save(root / "features" / "accel" / "v000.npy", short)
    long = np.load(root / "features" / "gyro" / "v000.npy")
    np.save(root / "features" / "gyro" / "v000.npy", np.concatenate([long, long[:, :4]], axis=1))
    video = create_dataset("folder", root=root).videos("train")[0]
    assert video.features["accel"].shape[0] == video.features["gyro"].shape[0] == labels
    np.testing.assert_array_equal(video.features["accel"][-3:], np.repeat(short.T[-1:], 3, axis=0))
    assert create_dataset("folder", root=root, length_tolerance=2).validate()


def test_folder_wrong_layout_gets_a_hint(tmp_path: Path) -> None:
    root = make_folder_dataset(tmp_path, num_videos=3, layout="time_first")
    with pytest.raises(DataError, match="set dataset.layout=time_first"):
        create_dataset("folder", root=root).videos("train")


@pytest.mark.parametrize("defect", DEFECTS)
def test_folder_defect_is_reported_with_its_file(defect: str, tmp_path: Path) -> None:
    root = make_folder_dataset(tmp_path)
    path = apply_defect(root, defect)
    dataset = create_dataset("folder", root=root)
    errors = [issue for issue in dataset.validate() if issue.severity == "error"]
    assert errors and any(str(issue).startswith(f"error: {path}") for issue in errors), errors
    with pytest.raises(DataError, match=re.escape(path)):
        dataset.videos("train")


def test_folder_defect_messages_say_what_is_wrong(tmp_path: Path) -> None:
    expected = {
        "nan_features": "3 NaN/Inf values",
        "unknown_class": r"v000.txt:5: unknown class 'juggle' \(1 frame\); add it to mapping.txt",
        "missing_modality_file": r"missing, but video 'v000' \(splits/train.split1.bundle:1\) needs it",
        "length_mismatch": "has .* frames but groundTruth/v000.txt has",
        "split_missing_video": r"train.split1.bundle:5: names video 'ghost'",
        "empty_label_file": "is empty",
        "corrupt_npy": "cannot be read as a .npy array",
        "non_numeric_dtype": "non-numeric dtype",
    }
    for defect, pattern in expected.items():
        root = make_folder_dataset(tmp_path / defect)
        apply_defect(root, defect)
        with pytest.raises(DataError, match=pattern):
            create_dataset("folder", root=root).videos("train")


def test_folder_construction_reads_no_features(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_folder_dataset(tmp_path)
    monkeypatch.setattr(np, "load", lambda *args, **kwargs: pytest.fail("a feature file was read"))
    dataset = create_dataset("folder", root=root)
    assert dataset.classes == CLASSES and dataset.modalities == ["accel", "gyro"]


def test_folder_root_must_be_given_and_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dataset.root"):
        create_dataset("folder")
    with pytest.raises(DataError, match="not a directory"):
        create_dataset("folder", root=tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="layout"):
        create_dataset("folder", root=tmp_path, layout="sideways")


def test_folder_overlapping_splits_warn(tmp_path: Path) -> None:
    root = make_folder_dataset(tmp_path)
    with (root / "splits" / "test.split1.bundle").open("a") as file:
        file.write("v000.txt\n")
    issues = create_dataset("folder", root=root).validate()
    assert [issue.severity for issue in issues] == ["warning"] and "v000" in issues[0].message
