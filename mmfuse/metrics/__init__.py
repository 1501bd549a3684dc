"""Metrics: ``torchmetrics.Metric`` classes here, the same math as functions in ``functional``."""
from mmfuse.metrics.anticipation import MeanOverClasses
from mmfuse.metrics.segmentation import SegmentationMetrics

__all__ = ["MeanOverClasses", "SegmentationMetrics"]
