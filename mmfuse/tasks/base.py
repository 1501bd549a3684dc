"""The contract every task implements, and the batching helpers tasks share."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

import numpy as np
import torch
from torch import Tensor, nn
from torchmetrics import Metric

from mmfuse.data.video import Video
from mmfuse.engine.device import autocast
from mmfuse.fusion.base import FusionOutput
from mmfuse.metrics.columns import Column
from mmfuse.models.backbone import STAGE_LOGITS


@dataclass
class Batch:
    """Padded model inputs ``{modality: [B, T, D_m]}``, ``mask`` (True = valid) and task targets."""

    feats: dict[str, Tensor]
    mask: Tensor
    targets: dict[str, Tensor] = field(default_factory=dict)

    def to(self, device: torch.device) -> "Batch":
        return Batch(
            {m: x.to(device, non_blocking=True) for m, x in self.feats.items()},
            self.mask.to(device),
            {k: v.to(device) for k, v in self.targets.items()},
        )


def pad_windows(windows: Sequence[dict[str, np.ndarray]], modalities: Sequence[str]) -> tuple[dict[str, Tensor], Tensor]:
    """Stack variable-length ``{modality: [t, D_m]}`` windows into zero-padded tensors and a mask."""
    lengths = [len(next(iter(w.values()))) for w in windows]
    longest = max(lengths)
    mask = torch.zeros(len(windows), longest, dtype=torch.bool)
    feats = {}
    for modality in modalities:
        dim = windows[0][modality].shape[1]
        stacked = np.zeros((len(windows), longest, dim), dtype=np.float32)
        for row, window in enumerate(windows):
            stacked[row, : lengths[row]] = window[modality]
        feats[modality] = torch.from_numpy(stacked)
    for row, length in enumerate(lengths):
        mask[row, :length] = True
    return feats, mask


def pad_labels(labels: Sequence[np.ndarray], fill: int = -100) -> Tensor:
    """Stack 1-D label arrays, padding with ``fill`` (ignored by the losses)."""
    out = torch.full((len(labels), max(len(x) for x in labels)), fill, dtype=torch.long)
    for row, label in enumerate(labels):
        out[row, : len(label)] = torch.from_numpy(np.asarray(label, dtype=np.int64))
    return out


EVAL_STEPS_PER_BATCH = 65_536  # padded steps per evaluation batch: a bound on memory, not a window


def length_batches(lengths: Sequence[int], batch_size: int, max_steps: int = EVAL_STEPS_PER_BATCH) -> list[list[int]]:
    """Indices grouped, longest first, into batches of at most ``batch_size`` items whose padded
    size (count x longest) stays within ``max_steps``; a longer item is a batch of its own."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for index in order:
        current = batches[-1] if batches else None
        if current is None or len(current) == batch_size or (len(current) + 1) * lengths[current[0]] > max_steps:
            batches.append([index])
        else:
            current.append(index)
    return batches


def every_stage(fused: FusionOutput, final: Tensor) -> list[Tensor]:
    """Class logits of every stage, first to last: a multi-stage temporal model's earlier
    stages (``mstcn``, from ``fused.aux``), then ``final``, the head's; only ``final`` otherwise."""
    stacked = fused.aux.get(STAGE_LOGITS)
    return [final] if stacked is None else [*stacked.unbind(0), final]


def expand_to_frames(step_predictions: np.ndarray, sample_rate: int, num_frames: int) -> np.ndarray:
    """Repeat per-step predictions back to every frame (steps are every ``sample_rate``-th frame)."""
    return np.repeat(step_predictions, sample_rate)[:num_frames]


Out = TypeVar("Out")


def predict_windows(
    model: "TaskModel",
    windows: Sequence[dict[str, np.ndarray]],
    modalities: Sequence[str],
    device: torch.device,
    head: Callable[[Tensor, Tensor], Out],
) -> Out:
    """Pad ``windows``, run the backbone and ``head(hidden, mask)`` without gradients, under
    autocast on CUDA (the head must run inside it too: its input may be half precision)."""
    feats, mask = pad_windows(windows, modalities)
    mask = mask.to(device)
    with torch.no_grad(), autocast(device):
        hidden, _ = model({m: x.to(device) for m, x in feats.items()}, mask)
        return head(hidden, mask)


class TaskModel(nn.Module):
    """Backbone (encoders, fuser, temporal model) plus the task's head, saved as one state dict."""

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, feats: dict[str, Tensor], mask: Tensor) -> tuple[Tensor, FusionOutput]:
        return self.backbone(feats, mask)


@dataclass(frozen=True)
class Evaluation:
    """A task's scores over the test videos: ``metrics`` as the leaderboard shows them, and
    ``per_video[key][v]`` the same metric computed on video ``v`` alone (``videos[v]`` its name),
    in percent, for the paired tests of ``mmfuse.results.significance``.

    Only where a metric is a mean over videos (Edit) is the board's value the mean of its per-video
    scores. Frame accuracy pools the frames of every video, F1@k sums TP/FP/FN over videos and MoC
    sums each class's frames over videos before averaging over classes: for them the per-video
    score is the metric of one video (its accuracy, its F1, its MoC over the classes it holds), and
    the board's value stays the pooled one.
    """

    metrics: dict[str, float]
    per_video: dict[str, list[float]]
    videos: list[str]


class Task(ABC):
    """Owns sampling, heads, losses, decoding and metrics of one protocol.

    ``evaluate`` is the same for every task: it feeds ``predictions`` video by video to the
    task's ``metric``. ``diagnostics`` holds what the last evaluation noticed beside its metrics
    (kept in the run record, never a leaderboard column), e.g. how many anticipation windows were
    one constant class.
    """

    name: str
    diagnostics: Mapping[str, Any] = MappingProxyType({})  # read-only default; ``predictions`` may assign its own

    @property
    @abstractmethod
    def columns(self) -> list[Column]:
        """Leaderboard columns, generated from the task's options."""

    @abstractmethod
    def build_head(self, hidden: int, num_classes: int) -> nn.Module:
        """The task head on top of the temporal model's ``[B, T, hidden]`` output."""

    @abstractmethod
    def plan(self, videos: Sequence[Video], batch_size: int, max_len: int, rng: np.random.Generator) -> list[list[Any]]:
        """One epoch of shuffled training samples, grouped in batches: indices only, no tensors."""

    @abstractmethod
    def collate(self, samples: Sequence[Any], modalities: Sequence[str]) -> Batch:
        """The padded batch of some planned samples."""

    def batches(
        self, videos: Sequence[Video], modalities: Sequence[str], batch_size: int, max_len: int, rng: np.random.Generator
    ) -> Iterator[Batch]:
        """One epoch of training batches, each built only when it is needed."""
        for samples in self.plan(videos, batch_size, max_len, rng):
            yield self.collate(samples, modalities)

    @abstractmethod
    def loss(self, model: TaskModel, batch: Batch) -> tuple[Tensor, FusionOutput, dict[str, float]]:
        """Task loss of one batch, the fusion output (for regularizers), and scalars to log."""

    @abstractmethod
    def metric(self, num_classes: int, background: Sequence[int]) -> Metric:
        """A fresh ``torchmetrics.Metric`` whose ``compute()`` is keyed as ``columns``."""

    @abstractmethod
    def predictions(
        self, model: TaskModel, videos: Sequence[Video], modalities: Sequence[str], *, max_len: int, batch_size: int, device: torch.device
    ) -> Iterator[tuple[Any, np.ndarray]]:
        """``(prediction, target)`` of each video in order, as ``metric().update`` takes them."""

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
    ) -> Evaluation:
        """Metrics (percent) over ``videos`` at the full frame rate, keyed as ``columns``, and each
        column's score of every video alone (:class:`Evaluation`)."""
        metric = self.metric(num_classes, background)
        per_video: dict[str, list[float]] = {}
        for prediction, target in self.predictions(
            model, videos, modalities, max_len=max_len, batch_size=batch_size, device=device
        ):
            # torchmetrics' forward: this video's scores from its own statistics, which are then
            # added to the running sums (in video order, so the totals are those of ``update``)
            for key, value in metric(prediction, target).items():
                per_video.setdefault(key, []).append(float(value))
        metrics = {key: float(value) for key, value in metric.compute().items()}
        return Evaluation(metrics, {key: per_video.get(key, []) for key in metrics}, [video.name for video in videos])

