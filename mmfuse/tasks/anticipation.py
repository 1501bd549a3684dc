"""Long-term action anticipation (Abu Farha et al. 2018; FUTR; R3D).

Observe the first α of a video, predict the labels of the next β. The temporal model
encodes the observed window (with an auxiliary segmentation head, and a loss on every stage
of a multi-stage temporal model); N_q learnable future queries cross-attend to it and decode
(class incl. an end class, normalised duration).
As FUTR and R3D train it: the class targets are the future transcript followed by **one**
end token, the queries after it are padding ignored by the loss, and every epoch visits every
training video at every training α (``train_observe``). Frame predictions are the decoded
transcript up to the first end token, expanded by duration over the future window of
``int(future T)`` frames from ``int(α T)``, as FUTR's ``predict.py`` does; where the first query
already predicts the end, the window gets the official prediction scripts' fallback (R3D's
``evaluation/predict_utkinects.py``: the class of the last query).
``length_pool`` > 1 sorts each pool of that many batches' worth of shuffled samples by length
before cutting it into batches, then shuffles the batches: far less padding, so far less attention
computed over nothing (FUTR and R3D batch at random: ``length_pool=1``).
``transition_weight`` is the official code's class-loss weighting (``utils.cal_weighted_loss``):
a sample whose first future class differs from its last observed label weighs that much more.

An observed part longer than ``max_len`` steps is subsampled uniformly to ``max_len``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmfuse.data.video import Video
from mmfuse.errors import ConfigError
from mmfuse.fusion.base import FusionOutput
from mmfuse.metrics.anticipation import MeanOverClasses
from mmfuse.metrics.columns import Column
from mmfuse.metrics.functional.anticipation import moc_key
from mmfuse.models.anticipation_decoder import AnticipationDecoder
from mmfuse.registry import register_task
from mmfuse.tasks.base import (
    Batch,
    Task,
    TaskModel,
    every_stage,
    pad_labels,
    pad_windows,
    predict_windows,
)


UNOBSERVED = -1  # the window of a video too short to observe anything at α: no class, so every frame is wrong


@dataclass
class Observation:
    """The observed window of one video at one α, and the future window it must predict."""

    video: Video
    alpha: float
    steps: np.ndarray  # feature rows fed to the model
    future_start: int  # int(α T)
    future_end: int  # int(α T) + int(future T), clipped to T, as R3D's predict computes it


def observe(video: Video, alpha: float, future: float, max_len: int) -> Observation | None:
    """Cut the observed part at ``int(α T)``; ``None`` when nothing is observed."""
    total = video.num_frames
    start = int(alpha * total)
    end = min(start + int(future * total), total)
    observed_steps = -(-start // video.sample_rate)
    if observed_steps == 0 or end <= start:
        return None
    steps = np.arange(observed_steps)
    if observed_steps > max_len:
        steps = np.linspace(0, observed_steps - 1, max_len).round().astype(np.int64)
    return Observation(video, alpha, steps, start, end)


def transcript(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segment classes and their lengths as fractions of ``len(labels)``."""
    change = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [len(labels)]]))
    return labels[starts], lengths / len(labels)


def decode(classes: np.ndarray, durations: np.ndarray, logits: np.ndarray, length: int, end_class: int) -> np.ndarray:
    """Frame labels of one window from the per-query argmax ``classes``, ``durations`` and class
    ``logits`` ``[N_q, C + 1]``: the transcript up to the first end query, spread by duration.

    An empty transcript (the first query predicts the end) takes R3D's fallback: every frame
    gets the last query's class. Where that is the end class too, the official script scores an
    all-"NONE" window (every frame wrong); here the first query's most likely real class fills it.
    """
    ended = np.flatnonzero(classes == end_class)
    count = int(ended[0]) if len(ended) else len(classes)
    if count:
        return expand_transcript(classes[:count], durations[:count], length)
    fallback = int(classes[-1]) if classes[-1] != end_class else int(np.argmax(logits[0, :end_class]))
    return np.full(length, fallback, dtype=np.int64)


def expand_transcript(classes: np.ndarray, durations: np.ndarray, length: int) -> np.ndarray:
    """Frame labels of a non-empty decoded transcript spread over ``length`` frames by relative duration."""
    durations = np.clip(durations, 0, None)
    durations = durations / durations.sum() if durations.sum() > 0 else np.full(len(classes), 1 / len(classes))
    bounds = np.round(np.cumsum(durations) * length).astype(np.int64)
    bounds[-1] = length
    return np.repeat(classes, np.diff(np.concatenate([[0], bounds])).clip(min=0))[:length]


def constant_predictions(predictions: dict[str, dict[float, np.ndarray]], alphas: Sequence[float]) -> dict[str, Any]:
    """How often a decoded window is one class throughout: the share of (video, α) windows, and
    the α at which every video gets the same single class (a model that ignores its input)."""
    windows = [(alpha, by_alpha[alpha]) for by_alpha in predictions.values() for alpha in alphas]
    constant = [(alpha, int(w[0])) for alpha, w in windows if len(w) and (w == w[0]).all()]
    same_everywhere = [
        alpha for alpha in alphas
        if len({c for a, c in constant if a == alpha}) == 1 and sum(a == alpha for a, _ in constant) == len(predictions)
    ]
    return {"constant_windows": len(constant) / max(len(windows), 1), "same_class_for_every_video_at": same_everywhere}


class AnticipationHead(nn.Module):
    def __init__(self, hidden: int, num_classes: int, **decoder: Any) -> None:
        super().__init__()
        self.segmentation = nn.Linear(hidden, num_classes)
        self.decoder = AnticipationDecoder(hidden, num_classes, **decoder)

    def forward(self, hidden: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        class_logits, durations = self.decoder(hidden, mask)
        return self.segmentation(hidden), class_logits, durations


@register_task("anticipation")
@dataclass(eq=False)
class AnticipationTask(Task):
    """Predict the next β of a video from its first α; MoC per (α, β).

    Options: ``observe`` (α) and ``predict`` (β) fractions scored; ``train_observe``, the α each
    training video is cut at; ``future``, the longest window a β may cover; the FUTR decoder's
    ``num_queries``, ``decoder_layers``, ``heads``, ``decoder_norm`` and ``decoder_positions``;
    loss weights ``segmentation_weight`` (on the observed frames), ``duration_weight`` and
    ``transition_weight`` (see :meth:`_class_loss`); ``length_pool`` (batches cut from pools of that
    many batches' worth of samples sorted by length).
    """

    name = "anticipation"

    observe: Sequence[float] = (0.2, 0.3)
    predict: Sequence[float] = (0.1, 0.2, 0.3, 0.5)
    train_observe: Sequence[float] = (0.2, 0.3, 0.5)
    future: float = 0.5
    num_queries: int = 8
    decoder_layers: int = 2
    heads: int = 4
    segmentation_weight: float = 1.0
    duration_weight: float = 1.0
    transition_weight: float = 1.0
    length_pool: int = 1
    decoder_norm: str = "pre"
    decoder_positions: str = "sinusoidal"
    end_class: int = field(default=-1, init=False)  # set by build_head

    def __post_init__(self) -> None:
        self.observe, self.predict, self.train_observe = map(tuple, (self.observe, self.predict, self.train_observe))
        for alpha in (*self.observe, *self.train_observe):
            if not 0 < alpha < 1:
                raise ConfigError(f"task: observation fractions must lie in (0, 1), got {alpha}")
        if not self.train_observe:
            raise ConfigError("task.train_observe: give at least one training observation fraction")
        if self.length_pool < 1:
            raise ConfigError(f"task.length_pool must be a positive number of batches, got {self.length_pool}")
        if self.transition_weight <= 0:
            raise ConfigError(f"task.transition_weight must be positive, got {self.transition_weight}")
        for beta in self.predict:
            if not 0 < beta <= self.future:
                raise ConfigError(f"task.predict: β={beta} must lie in (0, task.future={self.future}]")
        for alpha in self.observe:
            if alpha + self.future > 1 + 1e-9:
                raise ConfigError(f"task: α={alpha} + future={self.future} runs past the end of the video")

    @property
    def columns(self) -> list[Column]:
        return [
            Column(moc_key(a, b), f"α={a} β={b}", MeanOverClasses.higher_is_better)
            for a in self.observe
            for b in self.predict
        ]

    def build_head(self, hidden: int, num_classes: int) -> nn.Module:
        """Also fixes the end class index (``num_classes``) used by the training targets."""
        self.end_class = num_classes
        return AnticipationHead(
            hidden, num_classes, num_queries=self.num_queries, layers=self.decoder_layers, heads=self.heads,
            norm=self.decoder_norm, positions=self.decoder_positions,
        )

    @staticmethod
    def _windows(observations: Sequence[Observation], modalities: Sequence[str]) -> list[dict[str, np.ndarray]]:
        return [{m: o.video.features[m][o.steps] for m in modalities} for o in observations]

    def _targets(self, observation: Observation) -> tuple[np.ndarray, np.ndarray]:
        """The future transcript, one end token, then padding (class -100, ignored; duration -1).
        A transcript of ``num_queries`` segments or more is cut there with no end token (FUTR, R3D)."""
        classes = np.full(self.num_queries, -100, dtype=np.int64)
        durations = np.full(self.num_queries, -1.0, dtype=np.float32)  # -1: no duration target
        seg_classes, seg_durations = transcript(observation.video.labels[observation.future_start : observation.future_end])
        count = min(len(seg_classes), self.num_queries)
        classes[:count], durations[:count] = seg_classes[:count], seg_durations[:count]
        if count < self.num_queries:
            classes[count] = self.end_class
        return classes, durations

    def plan(
        self, videos: Sequence[Video], batch_size: int, max_len: int, rng: np.random.Generator
    ) -> list[list[Observation]]:
        """Every training video at every training α, shuffled into batches (FUTR's and R3D's training set)."""
        observations = [
            o for v in videos for a in self.train_observe if (o := observe(v, float(a), self.future, max_len))
        ]
        order = rng.permutation(len(observations))
        if self.length_pool > 1:  # sort each pool of random samples by length: less padding per batch
            pool = self.length_pool * batch_size
            order = np.concatenate([
                sorted(order[first : first + pool], key=lambda i: len(observations[i].steps))
                for first in range(0, len(order), pool)
            ]).astype(np.int64)
        batches = [[observations[i] for i in order[first : first + batch_size]] for first in range(0, len(order), batch_size)]
        return [batches[i] for i in rng.permutation(len(batches))] if self.length_pool > 1 else batches

    def collate(self, samples: Sequence[Observation], modalities: Sequence[str]) -> Batch:
        feats, mask = pad_windows(self._windows(samples, modalities), modalities)
        targets = [self._targets(o) for o in samples]
        return Batch(
            feats,
            mask,
            {
                "observed": pad_labels([o.video.sampled_labels[o.steps] for o in samples]),
                "classes": torch.from_numpy(np.stack([t[0] for t in targets])),
                "durations": torch.from_numpy(np.stack([t[1] for t in targets])),
                "last_observed": torch.tensor([int(o.video.sampled_labels[o.steps[-1]]) for o in samples]),
            },
        )

    def loss(self, model: TaskModel, batch: Batch) -> tuple[Tensor, FusionOutput, dict[str, float]]:
        hidden, fused = model(batch.feats, batch.mask)
        seg_logits, class_logits, durations = model.head(hidden, batch.mask)
        observed = batch.targets["observed"].flatten()
        seg = sum(
            (F.cross_entropy(logits.float().flatten(0, 1), observed, ignore_index=-100)
             for logits in every_stage(fused, seg_logits)),
            start=torch.zeros((), device=hidden.device),
        )
        cls = self._class_loss(class_logits, batch.targets["classes"], batch.targets["last_observed"])
        target_durations = batch.targets["durations"]
        has_duration = target_durations >= 0
        dur = ((durations.float() - target_durations) ** 2 * has_duration).sum() / has_duration.sum().clamp(min=1)
        loss = cls + self.duration_weight * dur + self.segmentation_weight * seg
        return loss, fused, {"class": cls.item(), "duration": dur.item(), "segmentation": seg.item()}

    def _class_loss(self, class_logits: Tensor, classes: Tensor, last_observed: Tensor) -> Tensor:
        """Cross-entropy over the non-padding queries; with ``transition_weight`` w, each query of a
        sample whose first future class differs from its last observed label counts w times."""
        losses = F.cross_entropy(class_logits.float().transpose(1, 2), classes, ignore_index=-100, reduction="none")
        weights = torch.where(classes[:, :1] == last_observed[:, None], 1.0, self.transition_weight)
        return (losses * weights).sum() / (classes != -100).sum().clamp(min=1)

    def metric(self, num_classes: int, background: Sequence[int]) -> MeanOverClasses:
        """MoC counts every class: ``background`` is not used."""
        return MeanOverClasses(num_classes, self.observe, self.predict, future=self.future)

    def predictions(
        self, model: TaskModel, videos: Sequence[Video], modalities: Sequence[str], *, max_len: int, batch_size: int, device: torch.device
    ) -> Iterator[tuple[dict[float, np.ndarray], np.ndarray]]:
        """Each video's decoded windows by observed α, with its ground truth; the observations of
        all videos are decoded in batches first, and ``diagnostics`` set, before the first is yielded."""
        predictions: dict[str, dict[float, np.ndarray]] = {v.name: {} for v in videos}
        observations = []
        empty = 0  # windows whose first query predicts the end: decoded by the fallback
        for video in videos:
            for alpha in self.observe:
                observation = observe(video, alpha, self.future, max_len)
                if observation is None:  # nothing observed: nothing can be predicted
                    predictions[video.name][alpha] = np.full(video.num_frames, UNOBSERVED, dtype=np.int64)
                else:
                    observations.append(observation)
        for first in range(0, len(observations), batch_size):
            chunk = observations[first : first + batch_size]
            _, class_logits, durations = predict_windows(model, self._windows(chunk, modalities), modalities, device, model.head)
            logits = class_logits.float().cpu().numpy()
            durations = durations.float().cpu().numpy()
            end_class = logits.shape[-1] - 1  # the decoder's last class
            empty += int((logits[:, 0].argmax(-1) == end_class).sum())
            for row, obs in enumerate(chunk):
                predictions[obs.video.name][obs.alpha] = decode(
                    logits[row].argmax(-1), durations[row], logits[row], obs.future_end - obs.future_start, end_class
                )
        self.diagnostics = {
            **constant_predictions(predictions, self.observe),
            "empty_transcript_windows": empty / max(len(observations), 1),
        }
        for video in videos:
            yield predictions[video.name], video.labels
