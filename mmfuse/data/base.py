"""The contract every dataset adapter implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

from mmfuse.data.issues import Issue, raise_on_errors
from mmfuse.data.video import Video


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


class CheckedDataset(DatasetAdapter):
    """A file-based adapter that defers what its constructor finds wrong.

    The constructor keeps the problems it finds in ``_setup_issues`` instead of raising, so
    ``validate()`` can report them beside everything else; every load raises them first.
    Subclasses implement ``_load(split, keep)``: the videos of a split (only checked, one at a
    time, when not ``keep``) and every problem found.
    """

    _setup_issues: Sequence[Issue] = ()

    def _checked(self) -> None:
        raise_on_errors(list(self._setup_issues))

    @abstractmethod
    def _load(self, split: str, keep: bool = True) -> tuple[list[Video], list[Issue]]:
        """Videos of ``split`` and the issues found reading them."""

    def videos(self, split: str) -> list[Video]:
        self._checked()
        videos, issues = self._load(split)
        raise_on_errors(issues)
        return videos


class FileDescribedDataset(CheckedDataset):
    """A ``CheckedDataset`` whose classes, background and modalities come from its files.

    Reading any of them raises the setup errors, so a broken dataset never yields a silently
    wrong model. Subclasses set ``_classes``, ``_background`` and ``_modalities``.
    """

    _classes: list[str]
    _background: list[str]
    _modalities: list[str]

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
