"""Stateful segmentation metrics (torchmetrics), built on ``mmfuse.metrics.functional``."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import torch
from torchmetrics import Metric

from mmfuse.metrics.functional.segmentation import (
    DEFAULT_OVERLAPS,
    _add_in_order,
    _background_array,
    _segmentation_compute,
    _segmentation_update,
    as_videos,
)


class SegmentationMetrics(Metric):
    """Frame accuracy, Edit and F1@k over every video seen, in percent.

    ``update(preds, target)`` takes one video (a 1-D tensor, array or list of class
    indices) or several (a list of 1-D sequences, or a 2-D tensor with one video per row).
    ``compute()`` returns ``{"accuracy", "edit", "f1@10", "f1@25", "f1@50"}`` (one F1 key
    per overlap) as float64 scalar tensors. States are sums: frames, edit scores and video
    count, TP/FP/FN per overlap. Edit scores are added video by video, so any split into
    batches gives ``segmentation_scores``' result to the last bit.
    """

    higher_is_better = True
    is_differentiable = False
    full_state_update = False

    correct: torch.Tensor
    total: torch.Tensor
    edit_sum: torch.Tensor
    num_videos: torch.Tensor
    tp: torch.Tensor
    fp: torch.Tensor
    fn: torch.Tensor

    def __init__(
        self,
        background: Collection[int] = (),
        overlaps: Sequence[float] = DEFAULT_OVERLAPS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not overlaps or any(not 0.0 <= k <= 1.0 for k in overlaps):
            raise ValueError(f"overlaps must be a non-empty list of values in [0, 1], got {overlaps}")
        self.background = tuple(int(b) for b in background)
        self.overlaps = tuple(float(k) for k in overlaps)
        self._background = _background_array(self.background)
        num_overlaps = len(self.overlaps)
        self.add_state("correct", torch.tensor(0, dtype=torch.int64), dist_reduce_fx="sum")
        self.add_state("total", torch.tensor(0, dtype=torch.int64), dist_reduce_fx="sum")
        self.add_state("edit_sum", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("num_videos", torch.tensor(0, dtype=torch.int64), dist_reduce_fx="sum")
        for name in ("tp", "fp", "fn"):
            self.add_state(name, torch.zeros(num_overlaps, dtype=torch.int64), dist_reduce_fx="sum")

    def update(self, preds: Any, target: Any) -> None:
        """Add one video or a list of videos."""
        preds_list, targets_list = as_videos(preds), as_videos(target)
        correct, total, edit_scores, num_videos, tp, fp, fn = _segmentation_update(
            preds_list, targets_list, self.overlaps, self._background
        )
        self.correct += correct
        self.total += total
        self.edit_sum.fill_(_add_in_order(self.edit_sum.item(), edit_scores))
        self.num_videos += num_videos
        self.tp += torch.from_numpy(tp).to(self.tp.device)
        self.fp += torch.from_numpy(fp).to(self.fp.device)
        self.fn += torch.from_numpy(fn).to(self.fn.device)

    def compute(self) -> dict[str, torch.Tensor]:
        scores = _segmentation_compute(
            self.correct.item(),
            self.total.item(),
            self.edit_sum.item(),
            self.num_videos.item(),
            self.tp.cpu().numpy(),
            self.fp.cpu().numpy(),
            self.fn.cpu().numpy(),
            self.overlaps,
        )
        return {key: torch.tensor(value, dtype=torch.float64) for key, value in scores.items()}
