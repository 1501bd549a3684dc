"""``noise``: additive Gaussian noise, calibrated per modality (R3D §5.4; DAGR D.2)."""
from __future__ import annotations

import numpy as np

from mmfuse.corruptions.base import Corruption, FeatureStatistics
from mmfuse.registry import register_corruption


@register_corruption("noise")
class GaussianNoise(Corruption):
    """Additive Gaussian noise of std ``level`` × each channel's training std (level 1: as much noise as signal spread).

    R3D calibrates σ separately for each modality so that a level perturbs each comparably
    (Sec. 5.4); relative to each channel's spread on the training set, one level does that for
    every modality and dataset. A channel that never varies in training gets no noise.
    """

    name = "noise"
    uses_fill = False
    max_level = None

    def apply(self, x: np.ndarray, rng: np.random.Generator, statistics: FeatureStatistics) -> np.ndarray:
        return x + self.level * statistics.std * rng.standard_normal(x.shape).astype(np.float32)
