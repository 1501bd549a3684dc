"""``utkinect``: UTKinect-Action3D in the layout the dataset distributes (``datasets/utkinect.md``).

::

    ROOT/joints/joints_sSS_eEE.txt           per captured skeleton frame: frame index, 20 joints x (x, y, z)
    ROOT/joints/actionLabel.txt              per sequence: 'sSS_eEE', then 'action: start end' lines
    ROOT/features/<rgb|depth>/sSS_eEE.npy    optional per-frame features (D, N) as `mmfuse extract` writes
                                             them, or (N, D) with layout=time_first; frame r = video frame first + r

One time step per captured skeleton frame; frame labels come from the labelled intervals
(inclusive), background elsewhere. Each irregularity of the real files has a rule and is reported
as a warning naming the sequence; anything else wrong is an error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Sequence

import numpy as np

from mmfuse.data.base import CheckedDataset, check_split
from mmfuse.data.issues import Issue, raise_on_errors
from mmfuse.data.readers import Layout, check_options, error, read_modality_features, relative, warning
from mmfuse.data.skeleton import STREAMS, check_streams, skeleton_streams
from mmfuse.data.video import Video
from mmfuse.errors import ConfigError, DataError
from mmfuse.registry import register_dataset

ACTIONS: tuple[str, ...] = (
    "walk", "sitDown", "standUp", "pickUp", "carry", "throw", "push", "pull", "waveHands", "clapHands",
)
BACKGROUND = "background"
FEATURE_MODALITIES: tuple[str, ...] = ("rgb", "depth")
NUM_JOINTS = 20
# Kinect v1 skeleton (the order UTKinect stores): hip centre, spine, shoulder centre, head, left
# shoulder, elbow, wrist, hand, right shoulder, elbow, wrist, hand, left hip, knee, ankle, foot,
# right hip, knee, ankle, foot. Parent of each joint along the kinematic tree; the hip centre is the root.
PARENTS: tuple[int, ...] = (0, 0, 1, 2, 2, 4, 5, 6, 2, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17, 18)
SEQUENCE = re.compile(r"s(\d{2})_e(\d{2})")
LABELS_FILE = "joints/actionLabel.txt"


@dataclass(frozen=True)
class Interval:
    action: str
    start: int
    end: int
    line: int


def parse_action_labels(text: str, location: str) -> tuple[dict[str, list[Interval]], list[Issue]]:
    """Intervals per sequence from ``actionLabel.txt``, with the issues of every line."""
    intervals: dict[str, list[Interval]] = {}
    issues: list[Issue] = []
    stray: dict[str, list[int]] = {}
    current: str | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        where = f"{location}:{lineno}"
        stripped = line.strip()
        if not stripped:
            continue
        if SEQUENCE.fullmatch(stripped):
            current = stripped
            if current in intervals:
                issues.append(error(where, f"sequence {current} has a second header; give each sequence one block"))
            intervals.setdefault(current, [])
            if line != stripped:
                stray.setdefault(current, []).append(lineno)
            continue
        if current is None:
            issues.append(error(where, f"{line!r} comes before any 'sSS_eEE' header line; start with a header"))
            continue
        name, colon, values = stripped.partition(":")
        fields = values.split()
        if not colon or len(fields) != 2:
            issues.append(error(where, f"malformed line {line!r} in {current}; expected 'action: start end'"))
            continue
        name = name.strip()
        if name not in ACTIONS:
            issues.append(error(where, f"unknown action {name!r} in {current}; the actions are {', '.join(ACTIONS)}"))
            continue
        if line != f"{name}: {fields[0]} {fields[1]}":
            stray.setdefault(current, []).append(lineno)
        if any(i.action == name for i in intervals[current]):
            issues.append(error(where, f"{current} labels {name!r} twice; keep one interval per action"))
            continue
        if fields == ["NaN", "NaN"]:
            issues.append(warning(
                where,
                f"{current}: the {name!r} interval is missing (NaN NaN); rule: the action is absent from this "
                "sequence and its frames are background",
            ))
            continue
        if not all(f.isdigit() for f in fields):
            issues.append(error(where, f"{current}: {name!r} needs two frame numbers, got {values.strip()!r}"))
            continue
        start, end = int(fields[0]), int(fields[1])
        if start > end:
            issues.append(error(where, f"{current}: {name!r} starts at {start} after it ends at {end}; swap them"))
            continue
        intervals[current].append(Interval(name, start, end, lineno))
    for sequence, lines in stray.items():
        issues.append(warning(
            f"{location}:{lines[0]}",
            f"{sequence}: stray whitespace (trailing or doubled) on line(s) {', '.join(map(str, lines))}; "
            "rule: fields are read whitespace-separated",
        ))
    return intervals, issues


def interval_issues(sequence: str, intervals: list[Interval], location: str) -> list[Issue]:
    """Warnings for intervals listed out of time order and for overlapping intervals."""
    issues = []
    for before, after in zip(intervals, intervals[1:]):
        if after.start < before.start:
            issues.append(warning(
                f"{location}:{after.line}",
                f"{sequence}: {after.action!r} ({after.start}-{after.end}) is listed after {before.action!r} "
                f"({before.start}-{before.end}) but starts earlier; rule: intervals are placed by their frame numbers",
            ))
    for i, first in enumerate(intervals):
        for second in intervals[i + 1:]:
            if first.start <= second.end and second.start <= first.end:
                overlap = f"{max(first.start, second.start)}-{min(first.end, second.end)}"
                issues.append(warning(
                    f"{location}:{second.line}",
                    f"{sequence}: {second.action!r} ({second.start}-{second.end}) overlaps {first.action!r} "
                    f"({first.start}-{first.end}) on frames {overlap}; rule: the interval listed first "
                    f"({first.action!r}) keeps them",
                ))
    return issues


def frame_labels(frames: np.ndarray, intervals: list[Interval], class_index: dict[str, int]) -> np.ndarray:
    """Class id of each frame number: the first listed interval holding it, else background."""
    labels = np.full(len(frames), class_index[BACKGROUND], dtype=np.int64)
    unset = np.ones(len(frames), dtype=bool)
    for interval in intervals:
        inside = unset & (frames >= interval.start) & (frames <= interval.end)
        labels[inside] = class_index[interval.action]
        unset &= ~inside
    return labels


def read_joints(path: Path, location: str, sequence: str) -> tuple[np.ndarray | None, np.ndarray | None, list[Issue]]:
    """Frame numbers ``int64[N]`` and joints ``float32[N, 20, 3]`` of one sequence, duplicates dropped."""
    try:
        table = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as exc:
        return None, None, [error(location, f"cannot be read as rows of numbers ({exc}); restore the original file")]
    if table.shape[0] == 0:
        return None, None, [error(location, "is empty; restore the original file")]
    if table.shape[1] != 1 + 3 * NUM_JOINTS:
        return None, None, [error(
            location, f"has {table.shape[1]} numbers per line; expected 61 (frame index, then 20 joints x 3)"
        )]
    if not np.isfinite(table).all():
        row = int(np.flatnonzero(~np.isfinite(table).all(axis=1))[0])
        return None, None, [error(f"{location}:{row + 1}", "holds NaN/Inf values; restore the original file")]
    frames = table[:, 0]
    if not (frames == np.round(frames)).all() or frames.min() < 0:
        row = int(np.flatnonzero((frames != np.round(frames)) | (frames < 0))[0])
        return None, None, [error(f"{location}:{row + 1}", f"frame index {frames[row]} is not a whole number >= 0")]
    frames = frames.astype(np.int64)
    issues = []
    steps = np.diff(frames)
    if (steps < 0).any():
        row = int(np.flatnonzero(steps < 0)[0]) + 2
        return None, None, [error(f"{location}:{row}", f"frame index {frames[row - 1]} goes back in time; sort the lines")]
    duplicate = np.concatenate([[False], steps == 0])
    if duplicate.any():
        repeated = frames[duplicate]
        issues.append(warning(
            location,
            f"{sequence}: {len(repeated)} frame index(es) appear on two consecutive lines (first {int(repeated[0])}, "
            f"line {int(np.flatnonzero(duplicate)[0]) + 1}); rule: the first line of each index is kept",
        ))
    gaps = steps[steps > 0]
    if len(gaps) and gaps.min() != gaps.max():
        issues.append(warning(
            location,
            f"{sequence}: frame indices are irregularly spaced (gaps of {int(gaps.min())}-{int(gaps.max())} video "
            f"frames, median {int(np.median(gaps))}); rule: one time step per captured skeleton frame",
        ))
    keep = ~duplicate
    return frames[keep], table[keep, 1:].reshape(-1, NUM_JOINTS, 3).astype(np.float32), issues


@register_dataset("utkinect")
class UTKinectDataset(CheckedDataset):
    """UTKinect-Action3D skeleton streams (and optional RGB/depth features), cross-subject by default."""

    def __init__(
        self,
        root: str | Path | None = None,
        modalities: Sequence[str] = ("joint", "bone"),
        sample_rate: int = 1,
        train_subjects: Sequence[int] = (1, 3, 5, 7, 9),
        background: Sequence[str] = (BACKGROUND,),
        length_tolerance: int = 5,
        layout: Layout = "channels_first",
    ) -> None:
        if root is None:
            raise ConfigError("dataset 'utkinect' needs its folder: set dataset.root=/path/to/utkinect")
        check_options(sample_rate, length_tolerance, layout)
        self.layout = layout
        subjects = [train_subjects] if isinstance(train_subjects, int) else list(train_subjects)
        if not subjects or not all(isinstance(s, int) and not isinstance(s, bool) for s in subjects):
            raise ConfigError(f"dataset.train_subjects must list subject numbers (e.g. [1, 3, 5, 7, 9]), got {train_subjects!r}")
        self.classes = [BACKGROUND, *ACTIONS]
        background = [background] if isinstance(background, str) else list(background)
        unknown = [name for name in background if name not in self.classes]
        if unknown:
            raise ConfigError(f"dataset.background names {unknown}, not classes of utkinect ({', '.join(self.classes)})")
        self.background = background
        self.modalities = check_streams(modalities, FEATURE_MODALITIES)
        self.sample_rate = sample_rate
        self.train_subjects = subjects
        self.length_tolerance = length_tolerance
        self.root = Path(root).expanduser()
        if not (self.root / "joints").is_dir():
            raise DataError(
                f"{self.root}: no joints/ folder; set dataset.root to the UTKinect folder holding joints/ "
                "(see datasets/utkinect.md)"
            )
        self._class_index = {name: i for i, name in enumerate(self.classes)}
        self._dims: dict[str, int] = {m: 3 * NUM_JOINTS for m in self.modalities if m in STREAMS}

    def _read_widths(self, modalities: list[str]) -> None:
        sequence = self._sequences("train")[0]
        for modality in modalities:
            raise_on_errors(self._read_feature(sequence, modality, None)[1])

    def _sequences(self, split: str) -> list[str]:
        check_split(split)
        found = sorted(
            match.group(0)
            for path in (self.root / "joints").glob("joints_s*_e*.txt")
            if (match := SEQUENCE.fullmatch(path.stem.removeprefix("joints_")))
        )
        if not found:
            raise DataError(f"{self.root / 'joints'}: no joints_sSS_eEE.txt files; see datasets/utkinect.md")
        chosen = [s for s in found if (int(s[1:3]) in self.train_subjects) == (split == "train")]
        if not chosen:
            raise DataError(
                f"{self.root / 'joints'}: no {split} sequence with dataset.train_subjects={self.train_subjects} "
                f"(subjects present: {sorted({int(s[1:3]) for s in found})})"
            )
        return chosen

    def _read_labels(self) -> tuple[dict[str, list[Interval]], list[Issue]]:
        path = self.root / LABELS_FILE
        if not path.is_file():
            return {}, [error(LABELS_FILE, "missing; it holds every sequence's action intervals")]
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return {}, [error(LABELS_FILE, f"cannot be read as text ({exc}); restore the original file")]
        return parse_action_labels(text, LABELS_FILE)

    def _read_feature(
        self, sequence: str, modality: str, frames: np.ndarray | None
    ) -> tuple[np.ndarray | None, list[Issue]]:
        """Frames of ``features/<modality>/<sequence>.npy`` at the given frame numbers (frame r = frames[0] + r)."""
        path = self.root / "features" / modality / f"{sequence}.npy"
        location = relative(path, self.root)
        features, issues = read_modality_features(
            path, location, self.layout, f"modality {modality!r} of {sequence}", self._dims, modality
        )
        if features is None:
            return None, issues
        if frames is None:
            return features, []
        rows = frames - frames[0]
        needed = int(rows[-1]) + 1
        if features.shape[0] + self.length_tolerance < needed:
            return None, [error(
                location,
                f"has {features.shape[0]} frames but {sequence}'s skeleton spans frames {int(frames[0])}-{int(frames[-1])} "
                f"({needed} frames, tolerance {self.length_tolerance}); extract every video frame from frame "
                f"{int(frames[0])} on (or check dataset.layout)",
            )]
        return features[np.minimum(rows, features.shape[0] - 1)], []

    def _load(self, split: str, keep: bool = True) -> tuple[list[Video], list[Issue]]:
        intervals, issues = self._read_labels()
        videos, sequence_issues = self._load_sequences(split, intervals, _unreadable(issues), keep)
        return videos, issues + sequence_issues

    def _load_sequences(
        self, split: str, intervals: dict[str, list[Interval]], labels_unreadable: bool, keep: bool
    ) -> tuple[list[Video], list[Issue]]:
        """Videos of ``split`` (only checked when not ``keep``) and the issues of their sequences."""
        issues: list[Issue] = []
        videos = []
        for sequence in self._sequences(split):
            location = f"joints/joints_{sequence}.txt"
            if sequence not in intervals:
                if not labels_unreadable:
                    issues.append(error(LABELS_FILE, f"has no block for {sequence}; add its 'action: start end' lines"))
                continue
            issues += interval_issues(sequence, intervals[sequence], LABELS_FILE)
            frames, joints, joint_issues = read_joints(self.root / location, location, sequence)
            issues += joint_issues
            if frames is None:
                continue
            labels = frame_labels(frames, intervals[sequence], self._class_index)
            streams = [m for m in self.modalities if m in STREAMS]
            features = skeleton_streams(joints, PARENTS, streams)
            for modality in self.modalities:
                if modality not in STREAMS:
                    array, feature_issues = self._read_feature(sequence, modality, frames)
                    issues += feature_issues
                    if array is not None:
                        features[modality] = array
            if keep and len(features) == len(self.modalities):
                videos.append(Video(
                    sequence,
                    {m: features[m][:: self.sample_rate] for m in self.modalities},
                    labels,
                    sample_rate=self.sample_rate,
                    meta={"split": split, "subject": int(sequence[1:3]), "frames": frames},
                ))
        return videos, issues

    def validate(self) -> list[Issue]:
        intervals, issues = self._read_labels()
        try:
            for split in ("train", "test"):
                issues += self._check_split(split, partial(self._load_sequences, split, intervals, _unreadable(issues)))
        except DataError as exc:
            issues.append(error(str(self.root), str(exc)))
        return issues


def _unreadable(label_issues: list[Issue]) -> bool:
    """Whether ``actionLabel.txt`` itself could not be read (then no sequence is blamed for a missing block)."""
    return any(i.severity == "error" and i.location == LABELS_FILE for i in label_issues)
