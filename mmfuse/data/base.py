"""The contract every dataset adapter implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

from mmfuse.data.issues import Issue, raise_on_errors
from mmfuse.data.readers import relative
from mmfuse.data.video import Video
from mmfuse.errors import ConfigError

SPLITS = ("train", "test")


def check_split(split: str) -> str:
    """``split`` when it is ``train`` or ``test``; any other name is refused."""
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    return split


class DatasetAdapter(ABC):
    """Yields ``Video``s and the class list for a named split, and validates what it reads.

    Attributes every adapter sets in ``__init__`` (cheap: no feature file is read there):
    ``classes`` (index -> name), ``background`` (class names dropped from Edit and F1),
    ``modalities`` (names, in the order fusers see them), ``sample_rate`` (features keep
    every ``sample_rate``-th frame; labels stay at the full frame rate).
    """

    classes: list[str]
    background: list[str]
    modalities: list[str]
    sample_rate: int = 1

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def feature_dims(self) -> dict[str, int]:
        """Feature width per modality."""
        raise NotImplementedError

    @abstractmethod
    def videos(self, split: str) -> list[Video]:
        """Load every video of ``split`` (``"train"`` or ``"test"``); raise ``DataError`` on bad input."""

    @abstractmethod
    def validate(self) -> list[Issue]:
        """Check every file the adapter would read, without training; never raises on bad data."""

    def validate_and_load(self) -> tuple[list[Issue], dict[str, list[Video]]]:
        """``validate()``'s issues and, when none is an error, the videos of each split (else ``{}``):
        what a bench checks, then trains on. Here ``validate()``, then ``videos()``; a
        ``CheckedDataset`` keeps the videos its ``validate()`` reads, so its files are read once."""
        issues = self.validate()
        if any(issue.severity == "error" for issue in issues):
            return issues, {}
        return issues, {split: self.videos(split) for split in SPLITS}


class CheckedDataset(DatasetAdapter):
    """A file-based adapter that defers what its constructor finds wrong.

    The constructor keeps the problems it finds in ``_setup_issues`` instead of raising, so
    ``validate()`` can report them beside everything else; every load raises them first.
    Subclasses implement ``_load(split, keep)``: the videos of a split (only checked, one at a
    time, when not ``keep``) and every problem found; their ``validate()`` reads the splits
    through ``_check_splits`` (or ``_check_split``).
    """

    _setup_issues: Sequence[Issue] = ()
    _dims: dict[str, int]  # feature width per modality, filled as files are read
    _kept: dict[str, list[Video]] | None = None  # inside validate_and_load: the videos validate() read

    def _checked(self) -> None:
        raise_on_errors(list(self._setup_issues))

    @property
    def feature_dims(self) -> dict[str, int]:
        """Feature width per modality: the first training video's files, read on first use."""
        self._checked()
        missing = [m for m in self.modalities if m not in self._dims]
        if missing:
            self._read_widths(missing)
        return {m: self._dims[m] for m in self.modalities}

    @abstractmethod
    def _read_widths(self, modalities: list[str]) -> None:
        """Read the first training video's files of ``modalities`` into ``_dims``; raise on bad ones."""

    @abstractmethod
    def _load(self, split: str, keep: bool = True) -> tuple[list[Video], list[Issue]]:
        """Videos of ``split`` and the issues found reading them."""

    def videos(self, split: str) -> list[Video]:
        self._checked()
        videos, issues = self._load(split)
        raise_on_errors(issues)
        return videos

    def validate_and_load(self) -> tuple[list[Issue], dict[str, list[Video]]]:
        self._kept = {}
        try:
            issues = self.validate()
            kept = self._kept
        finally:
            self._kept = None
        if any(issue.severity == "error" for issue in issues):
            return issues, {}
        return issues, {split: kept[split] if split in kept else self.videos(split) for split in SPLITS}

    def _check_splits(self) -> list[Issue]:
        """``validate()``'s read of every split: ``_check_split`` of each."""
        return [issue for split in SPLITS for issue in self._check_split(split)]

    def _check_split(
        self, split: str, load: Callable[[bool], tuple[list[Video], list[Issue]]] | None = None
    ) -> list[Issue]:
        """``validate()``'s read of ``split`` by ``load(keep)`` (default: ``_load(split, keep)``): its
        issues. Only checked, except inside ``validate_and_load``, which keeps the videos."""
        videos, issues = (load or partial(self._load, split))(self._kept is not None)
        if self._kept is not None:
            self._kept[split] = videos
        return issues


class FileDescribedDataset(CheckedDataset):
    """A ``CheckedDataset`` whose classes, background and modalities come from its files, and
    whose splits are lists of video names.

    Reading any of them raises the setup errors, so a broken dataset never yields a silently
    wrong model. Subclasses set ``_classes``, ``_background``, ``_modalities`` and
    ``_labels_readable`` (False when the label files cannot be read, so nothing else is checked).
    """

    root: Path
    _classes: list[str]
    _background: list[str]
    _modalities: list[str]
    _labels_readable: bool

    @abstractmethod
    def split_file(self, split: str) -> Path:
        """The file that lists the videos of ``split``."""

    @abstractmethod
    def _split_videos(self, split: str) -> set[str]:
        """The names of the videos ``split_file(split)`` lists."""

    def validate(self) -> list[Issue]:
        """The setup problems, every problem of each split's files, and videos listed in both splits."""
        issues = list(self._setup_issues)
        if not self._labels_readable:
            return issues
        issues += self._check_splits()
        location = relative(self.split_file("test"), self.root)
        for name in sorted(self._split_videos("train") & self._split_videos("test")):
            issues.append(Issue(
                "warning", location, f"video {name!r} is in both the train and the test split; results will be optimistic"
            ))
        return issues

    @property
    def classes(self) -> list[str]:  # type: ignore[override]
        self._checked()
        return self._classes

    @property
    def background(self) -> list[str]:  # type: ignore[override]
        self._checked()
        return self._background

    @property
    def modalities(self) -> list[str]:  # type: ignore[override]
        self._checked()
        return self._modalities
