"""Corruptions that remove part of a modality (DAGR D.2: missing modality, frame drop, cutout,
feature dropout), the removed values replaced by ``fill``."""
from __future__ import annotations

import numpy as np

from mmfuse.corruptions.base import Corruption, FeatureStatistics
from mmfuse.registry import register_corruption


@register_corruption("missing")
class MissingModality(Corruption):
    """The modality is absent from a whole video, in each test video with probability ``level`` (1: every video)."""

    name = "missing"

    def apply(self, x: np.ndarray, rng: np.random.Generator, statistics: FeatureStatistics) -> np.ndarray:
        if rng.random() < self.level:
            return np.broadcast_to(self.filler(statistics), x.shape).copy()
        return x.copy()


@register_corruption("frame_drop")
class FrameDrop(Corruption):
    """Each step of the modality is dropped with probability ``level`` (DAGR Fig. 10e, 13)."""

    name = "frame_drop"

    def apply(self, x: np.ndarray, rng: np.random.Generator, statistics: FeatureStatistics) -> np.ndarray:
        dropped = rng.random(x.shape[0]) < self.level
        out = x.copy()
        out[dropped] = self.filler(statistics)
        return out


@register_corruption("cutout")
class TemporalCutout(Corruption):
    """One contiguous span of ``level`` × the video's steps, at a random place, is removed (DAGR Fig. 10f, on the time axis)."""

    name = "cutout"

    def apply(self, x: np.ndarray, rng: np.random.Generator, statistics: FeatureStatistics) -> np.ndarray:
        span = int(round(self.level * x.shape[0]))
        start = int(rng.integers(0, x.shape[0] - span + 1))
        out = x.copy()
        out[start:start + span] = self.filler(statistics)
        return out


@register_corruption("feature_dropout")
class FeatureDropout(Corruption):
    """Each feature value of the modality is removed with probability ``level`` (DAGR Fig. 11), not rescaled."""

    name = "feature_dropout"

    def apply(self, x: np.ndarray, rng: np.random.Generator, statistics: FeatureStatistics) -> np.ndarray:
        dropped = rng.random(x.shape) < self.level
        return np.where(dropped, self.filler(statistics), x).astype(np.float32)
