"""The unit every dataset adapter yields."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Video:
    """One recording: per-modality features ``float32[T', D_m]`` and frame labels ``int64[T]``.

    ``labels`` are always at the full frame rate of the ground truth, so metrics are computed
    on every frame. Features keep every ``sample_rate``-th frame: each modality has exactly
    ``ceil(T / sample_rate)`` rows, row ``i`` describing frame ``i * sample_rate`` (adapters
    trim or reject lengths that disagree).
    """

    name: str
    features: dict[str, np.ndarray]
    labels: np.ndarray
    sample_rate: int = 1
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_steps(self) -> int:
        """Rows per modality: ``ceil(num_frames / sample_rate)``."""
        return -(-self.num_frames // self.sample_rate)

    @property
    def sampled_labels(self) -> np.ndarray:
        """Labels of the frames the features describe."""
        return self.labels[:: self.sample_rate]

    @property
    def modalities(self) -> list[str]:
        return list(self.features)
