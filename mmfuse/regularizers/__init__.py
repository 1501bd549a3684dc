"""Training-only regularizers on fusion embeddings.

Importing this package imports every module in it, so a new regularizer is one
file (with its ``@register_regularizer``) plus one config.
"""
import importlib
import pkgutil

from mmfuse.regularizers.base import Regularizer

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Regularizer"]
