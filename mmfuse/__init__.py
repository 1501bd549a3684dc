"""mmfuse: a benchmark suite for multimodal fusion on temporal action understanding."""
from typing import Any

from mmfuse.registry import (
    create_dataset,
    create_encoder,
    create_fusion,
    create_regularizer,
    create_task,
    create_temporal_model,
    list_datasets,
    list_encoders,
    list_fusions,
    list_regularizers,
    list_tasks,
    list_temporal_models,
    register_dataset,
    register_encoder,
    register_fusion,
    register_regularizer,
    register_task,
    register_temporal_model,
)

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``FusionOutput`` and ``Fuser`` import torch: loaded on first use, so `mmfuse --help` needs none."""
    if name in ("FusionOutput", "Fuser"):
        from mmfuse.fusion import base

        return getattr(base, name)
    raise AttributeError(f"module 'mmfuse' has no attribute {name!r}")

__all__ = [
    "FusionOutput",
    "Fuser",
    "create_dataset",
    "create_encoder",
    "create_fusion",
    "create_regularizer",
    "create_task",
    "create_temporal_model",
    "list_datasets",
    "list_encoders",
    "list_fusions",
    "list_regularizers",
    "list_tasks",
    "list_temporal_models",
    "register_dataset",
    "register_encoder",
    "register_fusion",
    "register_regularizer",
    "register_task",
    "register_temporal_model",
]
