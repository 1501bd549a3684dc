"""The datasets this process has read, so a bench's validation and its jobs share one read.

With the default launcher every job runs in the launching process: ``mmfuse bench`` checks each
dataset with ``check_dataset``, which keeps the adapter and the videos that check read, and each
job takes them from ``load_dataset``. Launchers that run jobs in other processes (joblib,
submitit) cannot share the bench's read: each worker process reads each dataset it trains on once.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Mapping

import numpy as np

from mmfuse.config import adapter_options
from mmfuse.corruptions.base import FeatureStatistics, feature_statistics
from mmfuse.data.base import DatasetAdapter
from mmfuse.data.fingerprint import dataset_fingerprint
from mmfuse.data.issues import Issue
from mmfuse.data.video import Video
from mmfuse.registry import create_dataset

KEPT = 2  # datasets a process holds at once; the least recently used one goes first


@dataclass(frozen=True)
class LoadedDataset:
    adapter: DatasetAdapter
    train: list[Video]
    test: list[Video]
    _statistics: dict[str, FeatureStatistics] = field(default_factory=dict, compare=False, repr=False)

    def statistics(self, modality: str) -> FeatureStatistics:
        """Per-channel mean and std of ``modality`` over the training videos (computed once)."""
        if modality not in self._statistics:
            self._statistics[modality] = feature_statistics(self.train, modality)
        return self._statistics[modality]

    @cached_property
    def fingerprint(self) -> str:
        """What defines the data (``mmfuse.data.fingerprint``), not where it lies."""
        return dataset_fingerprint(self.adapter, {"train": self.train, "test": self.test})


_loaded: OrderedDict[str, LoadedDataset] = OrderedDict()


def build_adapter(dataset_cfg: Mapping[str, Any]) -> DatasetAdapter:
    """The adapter of a resolved dataset config (cheap: no feature file is read)."""
    return create_dataset(dataset_cfg["name"], **adapter_options(dataset_cfg))


def load_dataset(dataset_cfg: Mapping[str, Any], in_memory: bool = False) -> LoadedDataset:
    """The adapter and the videos of both splits of a resolved dataset config, read once per process.

    Adapters of feature files describe videos whose features stay on disk (``FeatureFile``), read
    per batch; ``in_memory`` reads every feature into RAM first (``features_in_memory=true``: the
    in-RAM path, for comparison, or for a small dataset on a slow disk)."""
    key = _key(dataset_cfg)
    if key not in _loaded:
        adapter = build_adapter(dataset_cfg)
        _keep(key, LoadedDataset(adapter, adapter.videos("train"), adapter.videos("test")))
    _loaded.move_to_end(key)
    if not in_memory:
        return _loaded[key]
    streamed = _loaded[key]
    return LoadedDataset(streamed.adapter, in_ram(streamed.train), in_ram(streamed.test))


def in_ram(videos: list[Video]) -> list[Video]:
    """The videos with every feature read into memory as a float32 array."""
    return [replace(v, features={m: np.asarray(x, dtype=np.float32) for m, x in v.features.items()}) for v in videos]


def check_dataset(dataset_cfg: Mapping[str, Any]) -> list[Issue]:
    """Every issue of a resolved dataset config's data; when none is an error, the videos this
    check read are kept for ``load_dataset``."""
    adapter = build_adapter(dataset_cfg)
    issues, videos = adapter.validate_and_load()
    if videos:
        _keep(_key(dataset_cfg), LoadedDataset(adapter, videos["train"], videos["test"]))
    return issues


def _key(dataset_cfg: Mapping[str, Any]) -> str:
    """What the adapter sees: its name and options (a dataset's training budget reads no file)."""
    return json.dumps({"name": dataset_cfg["name"], **adapter_options(dataset_cfg)}, sort_keys=True)


def _keep(key: str, loaded: LoadedDataset) -> None:
    _loaded[key] = loaded
    _loaded.move_to_end(key)
    while len(_loaded) > KEPT:
        _loaded.popitem(last=False)
