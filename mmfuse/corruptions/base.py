"""The contract every corruption implements, and how test videos are corrupted lazily.

A corruption changes one modality's features of the test videos at evaluation only. Each video's
corruption is drawn from its own generator, seeded by ``(seed, video index, modality)``, so every
method of a grid meets exactly the same corrupted inputs, and features on disk stay on disk: a
video's corrupted features are computed when a batch reads them.
"""
from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

from mmfuse.data.video import Video
from mmfuse.errors import ConfigError

FILLS = ("mean", "zeros")
DEFAULT_FILL = "mean"
DEFAULT_SEED = 0


@dataclass(frozen=True)
class FeatureStatistics:
    """Per-channel mean and standard deviation of one modality's features over the training videos."""

    mean: np.ndarray  # float32[D]
    std: np.ndarray  # float32[D]


def feature_statistics(videos: Sequence[Video], modality: str) -> FeatureStatistics:
    """Mean and (population) std per channel of ``modality`` over every step of ``videos``, read
    one video at a time in float64."""
    total, squares, count = 0.0, 0.0, 0
    for video in videos:
        values = np.asarray(video.features[modality], dtype=np.float64)
        total = total + values.sum(axis=0)
        squares = squares + (values**2).sum(axis=0)
        count += values.shape[0]
    if count == 0:
        raise ConfigError(f"no training steps of modality {modality!r} to calibrate a corruption on")
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    return FeatureStatistics(mean.astype(np.float32), std.astype(np.float32))


def check_modality(modality: str | None, modalities: Sequence[str], dataset: str) -> None:
    """A corruption of a modality the dataset does not have is a configuration error."""
    if modality is not None and modality not in modalities:
        raise ConfigError(
            f"corruption.modality={modality!r} is not a modality of dataset {dataset!r}; its modalities: {', '.join(modalities)}"
        )


class Corruption(ABC):
    """Base class: ``corruption.apply(x, rng, statistics) -> corrupted copy of x [T, D]``.

    Options every corruption accepts, so one sweep can cross them with any corruption:

    - ``modality``: the modality corrupted (None: each modality of the dataset, one cell each);
    - ``level``: how strong, in the unit the corruption's docstring gives (0 changes nothing);
    - ``fill``: what replaces removed values: ``mean`` (the modality's per-channel training mean) or
      ``zeros``. No built-in fuser has a notion of an absent modality (a learned mask token), so
      removal always means replacing values;
    - ``seed``: the seed every video's generator starts from.

    ``uses_fill`` says whether ``fill`` matters (it names the cell only then).
    """

    name: str = ""
    uses_fill = True
    max_level: float | None = 1.0  # a probability or fraction; None: no upper bound

    def __init__(self, modality: str | None = None, level: float = 0.0, fill: str = DEFAULT_FILL, seed: int = DEFAULT_SEED):
        if fill not in FILLS:
            raise ConfigError(f"corruption.fill must be one of {', '.join(FILLS)}, got {fill!r}")
        level = float(level)
        if level < 0 or (self.max_level is not None and level > self.max_level):
            bound = f"in [0, {self.max_level:g}]" if self.max_level is not None else ">= 0"
            raise ConfigError(f"corruption.level of {self.name!r} must be {bound}, got {level:g}")
        self.modality, self.level, self.fill, self.seed = modality, level, fill, int(seed)

    @abstractmethod
    def apply(self, x: np.ndarray, rng: np.random.Generator, statistics: FeatureStatistics) -> np.ndarray:
        """A corrupted copy of one video's features ``float32[T, D]`` (``x`` itself is never changed)."""

    def filler(self, statistics: FeatureStatistics) -> np.ndarray:
        """``float32[D]``: what replaces a removed step or value."""
        return statistics.mean if self.fill == "mean" else np.zeros_like(statistics.mean)

    def settings(self) -> dict[str, Any]:
        """What defines this corruption, as run records keep it (``fill`` only where it matters)."""
        settings: dict[str, Any] = {"name": self.name, "modality": self.modality, "level": self.level}
        if self.uses_fill:
            settings["fill"] = self.fill
        settings["seed"] = self.seed
        return settings


@dataclass(frozen=True)
class CorruptedFeatures:
    """One video's features of one modality, corrupted when read (indexing and ``numpy.asarray``
    work like the array's). Every read recomputes the corruption from the same seed, so a slice
    is always the slice of the same corrupted video."""

    source: Any  # float32[T, D] array or an on-disk FeatureFile
    corruption: Corruption
    statistics: FeatureStatistics
    seed: tuple[int, ...]

    ndim = 2
    dtype = np.dtype(np.float32)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.source.shape)  # type: ignore[return-value]

    def __len__(self) -> int:
        return self.shape[0]

    def values(self) -> np.ndarray:
        clean = np.asarray(self.source, dtype=np.float32)
        return self.corruption.apply(clean, np.random.default_rng(list(self.seed)), self.statistics).astype(np.float32)

    def __getitem__(self, rows: Any) -> np.ndarray:
        return self.values()[rows]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        values = self.values()
        return values if dtype is None else values.astype(dtype, copy=False)


def corrupt_videos(videos: Sequence[Video], corruption: Corruption, statistics: FeatureStatistics) -> list[Video]:
    """``videos`` with ``corruption.modality`` corrupted (lazily); every other modality, the labels
    and the videos themselves untouched."""
    modality = corruption.modality
    if modality is None:
        raise ConfigError("corrupt_videos needs a corruption with a modality")
    stream = zlib.crc32(modality.encode())
    return [
        replace(
            video,
            features={
                **video.features,
                modality: CorruptedFeatures(video.features[modality], corruption, statistics, (corruption.seed, index, stream)),
            },
        )
        for index, video in enumerate(videos)
    ]
