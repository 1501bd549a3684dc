"""``folder``: the MS-TCN / FUTR dataset layout, extended to several modalities.

::

    ROOT/mapping.txt                          <id> <class name>, ids 0..K-1
    ROOT/groundTruth/<video>.txt              one class name per frame
    ROOT/features/<modality>/<video>.npy      (D_m, T) float array, or (T, D_m) with layout=time_first
    ROOT/splits/{train,test}.split<k>.bundle  one '<video>.txt' line per video

Construction only reads ``mapping.txt`` and lists ``features/``; problems found there are kept
and reported by ``validate()``, and any access to ``classes``, ``background`` or ``modalities``
raises them as a ``DataError``, so a broken dataset never yields a silently wrong model.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from mmfuse.data.base import FileDescribedDataset, check_split
from mmfuse.data.feature_file import every
from mmfuse.data.issues import Issue, raise_on_errors
from mmfuse.data.readers import (
    Layout,
    check_options,
    error,
    fit_length,
    read_frame_labels,
    read_mapping,
    read_modality_features,
    read_split,
    relative,
    resolve_background,
)
from mmfuse.data.video import Video
from mmfuse.errors import ConfigError, DataError
from mmfuse.registry import register_dataset



@register_dataset("folder")
class FolderDataset(FileDescribedDataset):
    """MS-TCN/FUTR folder layout with one feature sub-folder per modality."""

    def __init__(
        self,
        root: str | Path | None = None,
        modalities: Sequence[str] | None = None,
        sample_rate: int = 1,
        background: Sequence[str] | str | None = None,
        split: int | str = 1,
        layout: Layout = "channels_first",
        length_tolerance: int = 5,
    ) -> None:
        if root is None:
            raise ConfigError("dataset 'folder' needs a root folder: set dataset.root=/path/to/dataset")
        check_options(sample_rate, length_tolerance, layout)
        modalities = [modalities] if isinstance(modalities, str) else modalities
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DataError(f"{self.root}: dataset root is not a directory; set dataset.root to the dataset folder")
        self.sample_rate = sample_rate
        self.split = split
        self.layout = layout
        self.length_tolerance = length_tolerance
        self._dims: dict[str, int] = {}

        self._classes, issues = read_mapping(self.root / "mapping.txt", "mapping.txt")
        self._labels_readable = not issues  # else every label would read as an unknown class
        background = resolve_background(background, self._classes)
        for name in background:
            if name not in self._classes:
                issues.append(error(
                    "mapping.txt",
                    f"background class {name!r} (dataset.background) is not a class; fix dataset.background "
                    "or add the class",
                ))
        self._background = background
        self._modalities, modality_issues = self._find_modalities(modalities)
        if not (self.root / "groundTruth").is_dir():
            self._labels_readable = False
            issues.append(error("groundTruth", "missing directory; it needs one '<video>.txt' label file per video"))
        self._setup_issues = issues + modality_issues
        self._class_index = {name: i for i, name in enumerate(self._classes)}

    def _find_modalities(self, requested: Sequence[str] | None) -> tuple[list[str], list[Issue]]:
        features = self.root / "features"
        if not features.is_dir():
            return [], [error("features", "missing directory; put each modality's .npy files in features/<modality>/")]
        present = sorted(p.name for p in features.iterdir() if p.is_dir())
        if requested is None:
            if present:
                return present, []
            if any(features.glob("*.npy")):
                return [], [error("features", "holds .npy files directly; move them to features/<modality>/")]
            return [], [error("features", "has no modality sub-folders; put each modality's .npy files "
                              "in features/<modality>/")]
        requested = list(requested)
        issues = [
            error(f"features/{name}", f"missing directory for modality {name!r} (dataset.modalities); "
                  f"present: {', '.join(present) or 'none'}")
            for name in requested if name not in present
        ]
        if not requested:
            issues.append(error("features", "dataset.modalities is empty; name at least one, or null for all"))
        return requested, issues

    def _read_widths(self, modalities: list[str]) -> None:
        """From the first train video's feature files (reads one file per modality)."""
        entries, issues = self._split_entries("train")
        raise_on_errors(issues)
        lineno, name = entries[0]
        listed_at = f"{relative(self.split_file('train'), self.root)}:{lineno}"
        for modality in modalities:
            raise_on_errors(self._read_modality(name, modality, None, listed_at)[1])

    def split_file(self, split: str) -> Path:
        return self.root / "splits" / f"{check_split(split)}.split{self.split}.bundle"

    def _split_entries(self, split: str) -> tuple[list[tuple[int, str]], list[Issue]]:
        path = self.split_file(split)
        return read_split(path, relative(path, self.root))

    def _read_modality(
        self, video: str, modality: str, num_frames: int | None, listed_at: str
    ) -> tuple[np.ndarray | None, list[Issue]]:
        """Features of one modality, fitted to ``num_frames`` labels when given; checks the width."""
        path = self.root / "features" / modality / f"{video}.npy"
        location = relative(path, self.root)
        features, issues = read_modality_features(
            path, location, self.layout, f"video {video!r} ({listed_at})", self._dims, modality
        )
        if features is None:
            return None, issues
        if num_frames is None:
            return features, []
        return fit_length(
            features, num_frames, self.length_tolerance, location, f"groundTruth/{video}.txt", self.layout
        )

    def _load(self, split: str, keep: bool = True) -> tuple[list[Video], list[Issue]]:
        """Videos of ``split`` (only checked, one at a time, when not ``keep``) and every problem found."""
        entries, issues = self._split_entries(split)
        split_location = relative(self.split_file(split), self.root)
        videos = []
        for lineno, name in entries:
            label_path = self.root / "groundTruth" / f"{name}.txt"
            if not label_path.is_file():
                issues.append(error(
                    f"{split_location}:{lineno}",
                    f"names video {name!r} but groundTruth/{name}.txt does not exist; add it or remove the line",
                ))
                continue
            labels, label_issues = read_frame_labels(label_path, f"groundTruth/{name}.txt", self._class_index)
            issues += label_issues
            features = {}
            for modality in self._modalities:
                array, feature_issues = self._read_modality(
                    name, modality, None if labels is None else len(labels), f"{split_location}:{lineno}"
                )
                issues += feature_issues
                if array is not None:
                    features[modality] = every(array, self.sample_rate)
            if keep and labels is not None and len(features) == len(self._modalities):
                videos.append(Video(name, features, labels, sample_rate=self.sample_rate, meta={"split": split}))
        return videos, issues

    def _split_videos(self, split: str) -> set[str]:
        return {name for _, name in self._split_entries(split)[0]}
