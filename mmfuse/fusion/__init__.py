"""Fusion strategies.

Importing this package imports every module in it, so a new fuser is one file
(with its ``@register_fusion``) plus one config, and no import list to edit.
"""
import importlib
import pkgutil

from mmfuse.fusion.base import FusionOutput, Fuser

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["FusionOutput", "Fuser"]
