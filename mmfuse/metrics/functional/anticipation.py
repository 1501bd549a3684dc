"""Long-term anticipation metric: mean over classes (MoC; Abu Farha et al. CVPR 2018, FUTR).

For an observed fraction α and a predicted fraction β, a video of ``T`` frames is scored on
the frames ``[int(α * T), int((α + β) * T))``, computed in floating point exactly like the
reference code, so the end can fall one frame short of ``round((α + β) * T)``. Like the
reference code (FUTR's and R3D's ``predict``: the observed part, ``int(α T)`` frames, followed
by a decoded window of ``int(future * T)`` frames, cut to ``int((α + β) T)``), the window also
ends at ``int(α T) + int(future T)``, which for β = future can be one frame before
``int((α + β) T)``; ``future=None`` drops that cap. Correct and
total frames are summed per ground-truth class over all videos; MoC is the mean over
classes with non-zero support of correct / total, in percent (0 when no class has support).

Predictions of one video are given per observed fraction: ``preds[α]`` is the
*window array* whose element ``i`` is the predicted label of frame ``int(α * T) + i``; it
must cover the longest horizon, ``int((α + max β) * T) - int(α * T)`` frames, and longer
arrays are cut. Any predicted index that differs from the ground truth, e.g. an end/none
class, is wrong.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mmfuse.metrics.functional.segmentation import LabelSequence, as_labels

DEFAULT_OBSERVE: tuple[float, ...] = (0.2, 0.3)
DEFAULT_PREDICT: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5)
DEFAULT_FUTURE = 0.5  # the decoded window of FUTR and R3D, as a fraction of the video


def moc_window(num_frames: int, alpha: float, beta: float, future: float | None = DEFAULT_FUTURE) -> tuple[int, int]:
    """First and one-past-last evaluated frame, exactly as the reference code computes them."""
    start, end = int(alpha * num_frames), int((alpha + beta) * num_frames)
    if future is not None:
        end = min(end, start + int(future * num_frames))
    return start, min(end, num_frames)


def moc_key(alpha: float, beta: float) -> str:
    """The result key of (α, β): ``(0.2, 0.1) -> "moc_obs20_pred10"``."""
    return f"moc_obs{round(alpha * 100)}_pred{round(beta * 100)}"


def _check_fractions(observe: Sequence[float], predict: Sequence[float]) -> None:
    for alpha in observe:
        for beta in predict:
            if not (0.0 <= alpha and 0.0 < beta and alpha + beta <= 1.0):
                raise ValueError(
                    f"impossible anticipation fractions observe={alpha}, predict={beta}: "
                    "need 0 <= observe, 0 < predict and observe + predict <= 1"
                )


def _moc_update(
    preds: Mapping[float, LabelSequence],
    target: LabelSequence,
    observe: Sequence[float],
    predict: Sequence[float],
    num_classes: int,
    future: float | None = DEFAULT_FUTURE,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-class correct and total frame counts of one video, shape ``[α, β, num_classes]``."""
    target = as_labels(target)
    if target.size and (target.min() < 0 or target.max() >= num_classes):
        raise ValueError(f"ground-truth labels must lie in [0, {num_classes})")
    correct = np.zeros((len(observe), len(predict), num_classes), dtype=np.int64)
    total = np.zeros_like(correct)
    num_frames = target.size
    for a, alpha in enumerate(observe):
        if alpha not in preds:
            raise ValueError(f"no predictions for observation fraction {alpha}")
        window = as_labels(preds[alpha])
        start = int(alpha * num_frames)
        needed = max(moc_window(num_frames, alpha, beta, future)[1] for beta in predict) - start
        if window.size < needed:
            raise ValueError(
                f"predictions for observation fraction {alpha} cover {window.size} frames, "
                f"need {needed}"
            )
        for b, beta in enumerate(predict):
            start, end = moc_window(num_frames, alpha, beta, future)
            truth = target[start:end]
            hit = truth == window[: end - start]
            total[a, b] = np.bincount(truth, minlength=num_classes)
            correct[a, b] = np.bincount(truth[hit], minlength=num_classes)
    return correct, total


def _moc_compute(correct: np.ndarray, total: np.ndarray) -> np.ndarray:
    """MoC in percent over the last axis (classes); 0 where no class has support."""
    correct = np.asarray(correct, dtype=np.float64)
    total = np.asarray(total, dtype=np.float64)
    supported = total > 0
    per_class = np.divide(correct, total, out=np.zeros_like(correct), where=supported)
    count = supported.sum(axis=-1)
    mean = np.divide(
        per_class.sum(axis=-1), count, out=np.zeros(count.shape), where=count > 0
    )
    return mean * 100.0


def _moc_scores(
    correct: np.ndarray, total: np.ndarray, observe: Sequence[float], predict: Sequence[float]
) -> dict[str, float]:
    moc = _moc_compute(correct, total)
    return {
        moc_key(alpha, beta): float(moc[a, b])
        for a, alpha in enumerate(observe)
        for b, beta in enumerate(predict)
    }


def moc_scores(
    preds_by_video: Sequence[Mapping[float, LabelSequence]],
    targets_by_video: Sequence[LabelSequence],
    observe: Sequence[float] = DEFAULT_OBSERVE,
    predict: Sequence[float] = DEFAULT_PREDICT,
    *,
    num_classes: int,
    future: float | None = DEFAULT_FUTURE,
) -> dict[str, float]:
    """MoC for every (α, β) over a set of videos, keyed ``moc_obs20_pred10`` etc.

    ``preds_by_video[v][α]`` is video ``v``'s window array for observed fraction α (see the
    module docstring); ``targets_by_video[v]`` its full-length ground truth; ``future`` the
    decoded window that caps every evaluated one (``None``: no cap).
    """
    _check_fractions(observe, predict)
    if len(preds_by_video) != len(targets_by_video):
        raise ValueError(
            f"got predictions for {len(preds_by_video)} videos "
            f"but targets for {len(targets_by_video)}"
        )
    correct = np.zeros((len(observe), len(predict), num_classes), dtype=np.int64)
    total = np.zeros_like(correct)
    for preds, target in zip(preds_by_video, targets_by_video):
        c, t = _moc_update(preds, target, observe, predict, num_classes, future)
        correct += c
        total += t
    return _moc_scores(correct, total, observe, predict)


def mean_over_classes(
    preds_by_video: Sequence[LabelSequence],
    targets_by_video: Sequence[LabelSequence],
    alpha: float,
    beta: float,
    *,
    num_classes: int,
) -> float:
    """MoC in percent for one (α, β); ``preds_by_video[v]`` is video ``v``'s window array."""
    scores = moc_scores(
        [{alpha: preds} for preds in preds_by_video],
        targets_by_video,
        (alpha,),
        (beta,),
        num_classes=num_classes,
    )
    return scores[moc_key(alpha, beta)]
