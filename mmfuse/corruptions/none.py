"""``none``: the clean test videos."""
from __future__ import annotations

import numpy as np

from mmfuse.corruptions.base import Corruption, FeatureStatistics
from mmfuse.registry import register_corruption


@register_corruption("none")
class NoCorruption(Corruption):
    """No corruption: the model is evaluated on the clean test videos (its options are ignored)."""

    name = "none"
    uses_fill = False
    max_level = None

    def apply(self, x: np.ndarray, rng: np.random.Generator, statistics: FeatureStatistics) -> np.ndarray:
        return x.copy()

    def settings(self) -> dict[str, str]:
        return {"name": self.name}
