"""Temporal models, the shared backbone and the anticipation decoder.

Importing this package imports every module in it, so a new temporal model is one
file (with its ``@register_temporal_model``) plus one config.
"""
import importlib
import pkgutil

from mmfuse.models.anticipation_decoder import AnticipationDecoder
from mmfuse.models.backbone import MultimodalBackbone, build_backbone

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["AnticipationDecoder", "MultimodalBackbone", "build_backbone"]
