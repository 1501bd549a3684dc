"""A short, stable fingerprint of what defines a dataset, independent of where it lies on disk."""
from __future__ import annotations

import hashlib
import json
from typing import Mapping, Sequence

import numpy as np

from mmfuse.data.base import DatasetAdapter
from mmfuse.data.video import Video

FINGERPRINT_DIGITS = 12


def dataset_fingerprint(adapter: DatasetAdapter, splits: Mapping[str, Sequence[Video]]) -> str:
    """The first 12 hex digits of the SHA-256 of the dataset's definition.

    What counts: the class list (the mapping) and background classes, each modality's name and
    feature width, and per split (the split files) every video's name, frame count and frame
    labels. What does not: the root path, the folder's name, feature values. So the same data
    copied or moved elsewhere keeps its fingerprint, and data that differs in any of those never
    shares one. Computed from videos already read, so it costs no extra file access.
    """
    labels = hashlib.sha256()
    definition = {
        "classes": list(adapter.classes),
        "background": list(adapter.background),
        "modalities": {m: _width(splits, m) for m in adapter.modalities},
        "splits": {
            split: [(video.name, int(video.num_frames)) for video in videos] for split, videos in sorted(splits.items())
        },
    }
    for split in sorted(splits):
        for video in splits[split]:
            labels.update(np.ascontiguousarray(video.labels, dtype=np.int64).tobytes())
    definition["labels"] = labels.hexdigest()
    payload = json.dumps(definition, sort_keys=True).encode()
    return hashlib.sha256(payload).hexdigest()[:FINGERPRINT_DIGITS]


def _width(splits: Mapping[str, Sequence[Video]], modality: str) -> int | None:
    first = next((videos[0] for videos in splits.values() if videos), None)
    return None if first is None else int(first.features[modality].shape[1])
