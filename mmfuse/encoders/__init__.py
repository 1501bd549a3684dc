"""Per-modality encoders ``[B, T, D_m] -> [B, T, D]``.

Importing this package imports every module in it, so a new encoder is one file
(with its ``@register_encoder``) plus one config.
"""
import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
