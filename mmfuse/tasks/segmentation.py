"""Temporal action segmentation: a label for every frame of the whole video."""
from __future__ import annotations

from typing import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmfuse.data.video import Video
from mmfuse.errors import ConfigError
from mmfuse.fusion.base import FusionOutput
from mmfuse.metrics.columns import Column
from mmfuse.metrics.functional.segmentation import f1_key
from mmfuse.metrics.segmentation import SegmentationMetrics
from mmfuse.registry import register_task
from mmfuse.tasks.base import (
    Batch,
    Task,
    TaskModel,
    every_stage,
    expand_to_frames,
    length_batches,
    pad_labels,
    pad_windows,
    predict_windows,
)


def smoothing_loss(logits: Tensor, mask: Tensor, clamp: float = 16.0) -> Tensor:
    """MS-TCN's truncated MSE between log-probabilities of neighbouring valid frames."""
    log_probs = F.log_softmax(logits.float(), dim=-1)
    diff = (log_probs[:, 1:] - log_probs[:, :-1].detach()) ** 2
    pair_mask = (mask[:, 1:] & mask[:, :-1]).unsqueeze(-1)
    return (diff.clamp(max=clamp) * pair_mask).sum() / pair_mask.sum().clamp(min=1) / logits.shape[-1]


def video_logits(
    model: TaskModel,
    videos: Sequence[Video],
    modalities: Sequence[str],
    batch_size: int,
    device: torch.device,
    keep: Callable[[np.ndarray], np.ndarray] = np.copy,
) -> Iterator[tuple[Video, np.ndarray]]:
    """Per-step segmentation logits of each whole video (in the order given), or what ``keep``
    makes of them (e.g. their argmax: the batches come longest first, so every video's result is
    held until its turn, and that result, not a batch's logits, is what stays in memory).

    Videos are batched by length (``length_batches``), never cut: every part of the backbone
    sees the whole video, so a prediction does not depend on batching or on ``model.max_len``.
    """
    outputs: dict[int, np.ndarray] = {}
    for indices in length_batches([v.num_steps for v in videos], batch_size):
        windows = [{m: videos[i].features[m] for m in modalities} for i in indices]
        logits = predict_windows(model, windows, modalities, device, lambda hidden, _: model.head(hidden).float())
        logits = logits.cpu().numpy()
        for row, index in enumerate(indices):
            outputs[index] = keep(logits[row, : videos[index].num_steps])
    for index, video in enumerate(videos):
        yield video, outputs[index]


class SegmentationHead(nn.Module):
    def __init__(self, hidden: int, num_classes: int) -> None:
        super().__init__()
        self.classifier = nn.Linear(hidden, num_classes)

    def forward(self, hidden: Tensor) -> Tensor:
        return self.classifier(hidden)


@register_task("segmentation")
class SegmentationTask(Task):
    """Frame-wise labels of the whole video; accuracy, edit and F1@k as MS-TCN."""

    name = "segmentation"

    def __init__(self, overlaps: Sequence[float] = (0.1, 0.25, 0.5), smoothing_weight: float = 0.15) -> None:
        if not overlaps or any(not 0 < k <= 1 for k in overlaps):
            raise ConfigError(f"task.overlaps must be fractions in (0, 1], got {list(overlaps)}")
        self.overlaps = tuple(float(k) for k in overlaps)
        self.smoothing_weight = smoothing_weight

    @property
    def columns(self) -> list[Column]:
        better = SegmentationMetrics.higher_is_better
        f1 = [Column(f1_key(k), f"F1@{round(k * 100)}", better) for k in self.overlaps]
        return [Column("accuracy", "Acc", better), Column("edit", "Edit", better), *f1]

    def build_head(self, hidden: int, num_classes: int) -> nn.Module:
        return SegmentationHead(hidden, num_classes)

    def plan(self, videos: Sequence[Video], batch_size: int, max_len: int, rng: np.random.Generator) -> list[list[Video]]:
        """Whole videos, shuffled, as MS-TCN trains: ``max_len`` is not used (no crops)."""
        order = rng.permutation(len(videos))
        return [[videos[i] for i in order[first : first + batch_size]] for first in range(0, len(order), batch_size)]

    def collate(self, samples: Sequence[Video], modalities: Sequence[str]) -> Batch:
        feats, mask = pad_windows([{m: v.features[m] for m in modalities} for v in samples], modalities)
        return Batch(feats, mask, {"labels": pad_labels([v.sampled_labels for v in samples])})

    def loss(self, model: TaskModel, batch: Batch) -> tuple[Tensor, FusionOutput, dict[str, float]]:
        """Cross-entropy + smoothing on the head's logits and, as MS-TCN, on every earlier stage's."""
        hidden, fused = model(batch.feats, batch.mask)
        labels = batch.targets["labels"].flatten()
        ce = smooth = torch.zeros((), device=hidden.device)
        for logits in every_stage(fused, model.head(hidden)):
            ce = ce + F.cross_entropy(logits.float().flatten(0, 1), labels, ignore_index=-100)
            smooth = smooth + smoothing_loss(logits, batch.mask)
        return ce + self.smoothing_weight * smooth, fused, {"ce": ce.item(), "smooth": smooth.item()}

    def metric(self, num_classes: int, background: Sequence[int]) -> SegmentationMetrics:
        return SegmentationMetrics(background=background, overlaps=self.overlaps)

    def predictions(
        self, model: TaskModel, videos: Sequence[Video], modalities: Sequence[str], *, max_len: int, batch_size: int, device: torch.device
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every frame's label: the argmax of its step's logits over the whole video."""
        steps = video_logits(model, videos, modalities, batch_size, device, keep=lambda logits: logits.argmax(-1))
        for video, labels in steps:
            yield expand_to_frames(labels, video.sample_rate, video.num_frames), video.labels
