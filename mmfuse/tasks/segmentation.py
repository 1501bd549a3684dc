"""Temporal action segmentation: a label for every frame of the whole video."""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmfuse.data.video import Video
from mmfuse.errors import ConfigError
from mmfuse.fusion.base import FusionOutput
from mmfuse.metrics.functional.segmentation import segmentation_scores
from mmfuse.registry import register_task
from mmfuse.tasks.base import (
    Batch,
    Column,
    Task,
    TaskModel,
    expand_to_frames,
    pad_labels,
    pad_windows,
    predict_windows,
)


Window = tuple[Video, int, int]  # a video and the steps [start, end) of one training window


def smoothing_loss(logits: Tensor, mask: Tensor, clamp: float = 16.0) -> Tensor:
    """MS-TCN's truncated MSE between log-probabilities of neighbouring valid frames."""
    log_probs = F.log_softmax(logits.float(), dim=-1)
    diff = (log_probs[:, 1:] - log_probs[:, :-1].detach()) ** 2
    pair_mask = (mask[:, 1:] & mask[:, :-1]).unsqueeze(-1)
    return (diff.clamp(max=clamp) * pair_mask).sum() / pair_mask.sum().clamp(min=1) / logits.shape[-1]


def crop_windows(video: Video, max_len: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """``ceil(steps / max_len)`` random windows of at most ``max_len`` steps covering the video."""
    steps = video.num_steps
    if steps <= max_len:
        return [(0, steps)]
    starts = rng.integers(0, steps - max_len + 1, size=-(-steps // max_len))
    return [(int(s), int(s) + max_len) for s in starts]


def window_logits(
    model: TaskModel, videos: Sequence[Video], modalities: Sequence[str], max_len: int, batch_size: int, device: torch.device
) -> Iterator[tuple[Video, np.ndarray]]:
    """Per-step segmentation logits of each video, from consecutive windows of ``max_len`` steps."""
    pieces = [(v, s, min(s + max_len, v.num_steps)) for v in videos for s in range(0, v.num_steps, max_len)]
    outputs: dict[str, list[np.ndarray]] = {v.name: [] for v in videos}
    for first in range(0, len(pieces), batch_size):
        chunk = pieces[first : first + batch_size]
        windows = [{m: v.features[m][s:e] for m in modalities} for v, s, e in chunk]
        logits = predict_windows(model, windows, modalities, device, lambda hidden, _: model.head(hidden).float())
        logits = logits.cpu().numpy()
        for row, (video, start, end) in enumerate(chunk):
            outputs[video.name].append(logits[row, : end - start])
    for video in videos:
        yield video, np.concatenate(outputs[video.name])


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
        f1 = [Column(f"f1@{round(k * 100)}", f"F1@{round(k * 100)}") for k in self.overlaps]
        return [Column("accuracy", "Acc"), Column("edit", "Edit"), *f1]

    def build_head(self, hidden: int, num_classes: int) -> nn.Module:
        return SegmentationHead(hidden, num_classes)

    def plan(self, videos: Sequence[Video], batch_size: int, max_len: int, rng: np.random.Generator) -> list[list[Window]]:
        windows = [(v, s, e) for v in videos for s, e in crop_windows(v, max_len, rng)]
        order = rng.permutation(len(windows))
        return [[windows[i] for i in order[first : first + batch_size]] for first in range(0, len(order), batch_size)]

    def collate(self, samples: Sequence[Window], modalities: Sequence[str]) -> Batch:
        feats, mask = pad_windows([{m: v.features[m][s:e] for m in modalities} for v, s, e in samples], modalities)
        labels = pad_labels([v.sampled_labels[s:e] for v, s, e in samples])
        return Batch(feats, mask, {"labels": labels})

    def loss(self, model: TaskModel, batch: Batch) -> tuple[Tensor, FusionOutput, dict[str, float]]:
        hidden, fused = model(batch.feats, batch.mask)
        logits = model.head(hidden)
        labels = batch.targets["labels"]
        ce = F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100)
        smooth = smoothing_loss(logits, batch.mask)
        return ce + self.smoothing_weight * smooth, fused, {"ce": ce.item(), "smooth": smooth.item()}

    def evaluate(
        self,
        model: TaskModel,
        videos: Sequence[Video],
        modalities: Sequence[str],
        *,
        num_classes: int,
        background: Sequence[int],
        max_len: int,
        batch_size: int,
        device: torch.device,
    ) -> dict[str, float]:
        predictions, targets = [], []
        for video, logits in window_logits(model, videos, modalities, max_len, batch_size, device):
            predictions.append(expand_to_frames(logits.argmax(-1), video.sample_rate, video.num_frames))
            targets.append(video.labels)
        return segmentation_scores(predictions, targets, background=background, overlaps=self.overlaps)
