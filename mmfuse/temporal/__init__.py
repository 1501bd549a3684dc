"""Temporal models ``[B, T, D] -> [B, T, hidden]`` over the fused tokens.

Importing this package imports every module in it, so a new temporal model is one file
(with its ``@register_temporal_model``) plus one config.
"""
import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
