"""The contract every dataset adapter implements."""
from __future__ import annotations

from abc import ABC, abstractmethod

from mmfuse.data.issues import Issue
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
