"""The unit every dataset adapter yields."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Video:
    """One recording: per-modality features ``float32[T, D_m]`` and frame labels ``int64[T]``.

    ``labels`` are always at the full frame rate of the ground truth; every modality has
    exactly ``len(labels)`` rows (adapters trim or reject disagreeing lengths).
    """

    name: str
    features: dict[str, np.ndarray]
    labels: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.labels.shape[0])

    @property
    def modalities(self) -> list[str]:
        return list(self.features)
