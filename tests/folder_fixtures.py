"""Builders of small ``folder`` datasets, valid or with one defect, for tests of adapters and the CLI."""
from __future__ import annotations

from pathlib import Path

import numpy as np

CLASSES = ["background", "reach", "grasp", "lift", "place"]

DEFECTS = [
    "nan_features",
    "unknown_class",
    "length_mismatch",
    "missing_modality_file",
    "empty_label_file",
    "corrupt_npy",
    "wrong_ndim",
    "non_numeric_dtype",
    "split_missing_video",
    "missing_split_file",
    "missing_mapping",
    "malformed_mapping",
    "duplicate_mapping",
]


def make_folder_dataset(
    root: Path,
    *,
    num_videos: int = 6,
    modalities: tuple[str, ...] = ("accel", "gyro"),
    frames: tuple[int, int] = (80, 160),
    layout: str = "channels_first",
    seed: int = 0,
    classes: tuple[str, ...] = tuple(CLASSES),
) -> Path:
    """Write a valid dataset under ``root`` and return ``root``.

    Videos ``v000``, ``v001``, ... have ``frames`` (inclusive range) frames of segments drawn from
    ``classes`` (default ``CLASSES``); modality ``i`` has ``6 + 2 i`` channels: a class-dependent mean plus unit noise,
    so a model can learn it. Split 1 tests on the last third of the videos, split 2 on the first.
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "mapping.txt").write_text("".join(f"{i} {name}\n" for i, name in enumerate(classes)))
    means = {m: rng.normal(0.0, 1.5, size=(len(classes), 6 + 2 * i)) for i, m in enumerate(modalities)}
    for m in modalities:
        (root / "features" / m).mkdir(parents=True, exist_ok=True)
    (root / "groundTruth").mkdir(exist_ok=True)
    names = [f"v{i:03d}" for i in range(num_videos)]
    for name in names:
        num_frames = int(rng.integers(frames[0], frames[1] + 1))
        durations = rng.integers(10, 41, size=num_frames // 10 + 1)
        drawn = rng.integers(0, len(classes), size=durations.size)
        labels = np.repeat(drawn, durations)[:num_frames]
        (root / "groundTruth" / f"{name}.txt").write_text("".join(f"{classes[c]}\n" for c in labels))
        for m in modalities:
            features = (means[m][labels] + rng.standard_normal((num_frames, means[m].shape[1]))).astype(np.float32)
            np.save(root / "features" / m / f"{name}.npy", features.T if layout == "channels_first" else features)
    (root / "splits").mkdir(exist_ok=True)
    num_test = max(1, num_videos // 3)
    split_lists = {
        "train.split1": names[:-num_test], "test.split1": names[-num_test:],
        "train.split2": names[num_test:], "test.split2": names[:num_test],
    }
    for split, members in split_lists.items():
        (root / "splits" / f"{split}.bundle").write_text("".join(f"{n}.txt\n" for n in members))
    return root


def apply_defect(root: Path, defect: str) -> str:
    """Damage the dataset at ``root`` in the way ``defect`` names (one of ``DEFECTS``).

    Damage lands in the train split of split 1; returns the file (relative to ``root``, POSIX) that
    error messages must name.
    """
    train_split = "splits/train.split1.bundle"
    video = (root / train_split).read_text().split()[0].removesuffix(".txt")
    modality = sorted(p.name for p in (root / "features").iterdir() if p.is_dir())[0]
    labels = f"groundTruth/{video}.txt"
    features = f"features/{modality}/{video}.npy"
    if defect == "nan_features":
        array = np.load(root / features)
        array[0, :3] = np.nan
        np.save(root / features, array)
        return features
    if defect == "unknown_class":
        lines = (root / labels).read_text().splitlines()
        lines[4] = "juggle"
        (root / labels).write_text("\n".join(lines) + "\n")
        return labels
    if defect == "length_mismatch":
        array = np.load(root / features)
        num_frames = len((root / labels).read_text().split())
        time_axis = 1 if array.shape[1] == num_frames else 0
        np.save(root / features, np.take(array, np.arange(num_frames - 20), axis=time_axis))
        return features
    if defect == "missing_modality_file":
        (root / features).unlink()
        return features
    if defect == "empty_label_file":
        (root / labels).write_text("")
        return labels
    if defect == "corrupt_npy":
        (root / features).write_bytes((root / features).read_bytes()[:100])
        return features
    if defect == "wrong_ndim":
        np.save(root / features, np.load(root / features)[None])
        return features
    if defect == "non_numeric_dtype":
        np.save(root / features, np.load(root / features).astype(str))
        return features
    if defect == "split_missing_video":
        with (root / train_split).open("a") as file:
            file.write("ghost.txt\n")
        return train_split
    if defect == "missing_split_file":
        (root / train_split).unlink()
        return train_split
    if defect == "missing_mapping":
        (root / "mapping.txt").unlink()
        return "mapping.txt"
    if defect == "malformed_mapping":
        with (root / "mapping.txt").open("a") as file:
            file.write("five stir\n")
        return "mapping.txt"
    if defect == "duplicate_mapping":
        with (root / "mapping.txt").open("a") as file:
            file.write(f"{len(CLASSES)} {CLASSES[1]}\n")
        return "mapping.txt"
    raise ValueError(f"unknown defect {defect!r}; choose from {DEFECTS}")
