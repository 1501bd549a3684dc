"""Dataset adapters.

Importing this package imports every module in it, so a new adapter is one file (with its
``@register_dataset``) plus one config and one dataset card, and no import list to edit.
"""
import importlib
import pkgutil

from mmfuse.data.base import DatasetAdapter
from mmfuse.data.issues import Issue, raise_on_errors
from mmfuse.data.video import Video

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["DatasetAdapter", "Issue", "Video", "raise_on_errors"]
