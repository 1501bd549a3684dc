"""Test-time corruptions of one modality's features: an evaluation axis (DESIGN §9).

Importing this package imports every module in it, so a new corruption is one file (with its
``@register_corruption``) plus one config in ``configs/corruption/``.
"""
import importlib
import pkgutil

from mmfuse.corruptions.base import Corruption, FeatureStatistics, corrupt_videos, feature_statistics

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Corruption", "FeatureStatistics", "corrupt_videos", "feature_statistics"]
