"""Metrics as pure functions over label sequences; results in percent, never NaN."""
from mmfuse.metrics.functional.anticipation import (
    mean_over_classes,
    moc_key,
    moc_scores,
    moc_window,
)
from mmfuse.metrics.functional.segmentation import (
    edit_score,
    f1_at_k,
    f1_key,
    frame_accuracy,
    segmentation_scores,
)

__all__ = [
    "edit_score",
    "f1_at_k",
    "f1_key",
    "frame_accuracy",
    "mean_over_classes",
    "moc_key",
    "moc_scores",
    "moc_window",
    "segmentation_scores",
]
