"""Small UTKinect-Action3D folders in the dataset's own format, with its real quirks."""
from __future__ import annotations

from pathlib import Path

import numpy as np

# Per sequence: the actionLabel.txt block lines (after the header) and the skeleton frame indices.
LABELS = {
    "s01_e01": ["walk: 10 30", "sitDown: 40 60 ", "push: 70 90", "pull: 64  70"],
    "s02_e01": ["walk: 4 20", "carry:  NaN NaN", "throw: 30 40"],
    "s03_e01": ["walk: 6 24", "throw: 50 60", "push: 44 80"],
}
FRAMES = {
    "s01_e01": [2, 4, 4, 8, 12, 14, 20, 26, 30, 34, 40, 46, 52, 60, 64, 66, 70, 74, 80, 90, 96],
    "s02_e01": [0, 4, 8, 10, 16, 20, 24, 30, 36, 40, 48],
    "s03_e01": [6, 10, 16, 24, 30, 44, 48, 50, 56, 60, 70, 80, 86],
}


def joints_for(frames: list[int], seed: int) -> np.ndarray:
    """Deterministic ``(N, 20, 3)`` joint positions."""
    return np.random.default_rng(seed).normal(size=(len(frames), 20, 3)).round(6)


def make_utkinect_dataset(root: Path, sequences: dict[str, list[str]] | None = None) -> Path:
    """Write ``root/joints/`` (label file and one joints file per sequence); return ``root``."""
    sequences = LABELS if sequences is None else sequences
    joints_dir = root / "joints"
    joints_dir.mkdir(parents=True, exist_ok=True)
    blocks = []
    for i, (name, lines) in enumerate(sequences.items()):
        blocks.append("\n".join([name, *lines]))
        frames = FRAMES[name]
        table = joints_for(frames, i).reshape(len(frames), -1)
        rows = [f"{frame}   " + "  ".join(f"{v:.6f}" for v in row) + " " for frame, row in zip(frames, table)]
        (joints_dir / f"joints_{name}.txt").write_text("\n".join(rows) + "\n")
    (joints_dir / "actionLabel.txt").write_text("\n".join(blocks) + "\n")
    return root


def utkinect_example(tmp: Path) -> dict:
    """Options loading a valid tiny copy (subjects 1 and 3 train, 2 tests)."""
    return {"root": make_utkinect_dataset(tmp / "utkinect"), "train_subjects": [1, 3]}
