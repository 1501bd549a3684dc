"""Stateful long-term anticipation metric (torchmetrics): mean over classes (MoC)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torchmetrics import Metric

from mmfuse.metrics.functional.anticipation import (
    DEFAULT_FUTURE,
    DEFAULT_OBSERVE,
    DEFAULT_PREDICT,
    _check_fractions,
    _moc_scores,
    _moc_update,
)
from mmfuse.metrics.functional.segmentation import LabelSequence


class MeanOverClasses(Metric):
    """MoC for every (observed α, predicted β) over every video seen, in percent.

    ``update(preds, target)`` takes one video: ``preds[α]`` is the window array whose
    element ``i`` predicts frame ``int(α * T) + i`` (see
    ``mmfuse.metrics.functional.anticipation``), ``target`` the full ground truth of ``T``
    frames; ``future`` caps every window as in ``moc_scores``. ``compute()`` returns ``{"moc_obs20_pred10": ..., ...}`` as float64 scalar
    tensors. States: per-(α, β) per-class correct and total frame counts, summed.
    """

    higher_is_better = True
    is_differentiable = False
    full_state_update = False

    correct: torch.Tensor
    total: torch.Tensor

    def __init__(
        self,
        num_classes: int,
        observe: Sequence[float] = DEFAULT_OBSERVE,
        predict: Sequence[float] = DEFAULT_PREDICT,
        future: float | None = DEFAULT_FUTURE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        _check_fractions(observe, predict)
        self.num_classes = int(num_classes)
        self.observe = tuple(float(a) for a in observe)
        self.predict = tuple(float(b) for b in predict)
        self.future = future
        shape = (len(self.observe), len(self.predict), self.num_classes)
        self.add_state("correct", torch.zeros(shape, dtype=torch.int64), dist_reduce_fx="sum")
        self.add_state("total", torch.zeros(shape, dtype=torch.int64), dist_reduce_fx="sum")

    def update(self, preds: Mapping[float, LabelSequence], target: LabelSequence) -> None:
        """Add one video's window predictions (keyed by α) and its ground truth."""
        correct, total = _moc_update(preds, target, self.observe, self.predict, self.num_classes, self.future)
        self.correct += torch.from_numpy(correct).to(self.correct.device)
        self.total += torch.from_numpy(total).to(self.total.device)

    def compute(self) -> dict[str, torch.Tensor]:
        scores = _moc_scores(
            self.correct.cpu().numpy(), self.total.cpu().numpy(), self.observe, self.predict
        )
        return {key: torch.tensor(value, dtype=torch.float64) for key, value in scores.items()}
