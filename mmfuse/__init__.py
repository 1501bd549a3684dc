"""mmfuse: a benchmark suite for multimodal fusion on temporal action understanding."""
from mmfuse.fusion.base import FusionOutput, Fuser
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
