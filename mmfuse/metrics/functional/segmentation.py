"""Temporal action segmentation metrics: frame accuracy, Edit and F1@k (DESIGN §5).

The definitions follow MS-TCN's ``eval.py`` with two deliberate differences: a segment
ends one past its last frame (``eval.py`` ends the final segment at the last index), and
the cases where ``eval.py`` gives NaN or crashes are defined (edit of two empty segment
lists is 100, of exactly one empty list 0; a zero denominator gives 0). Every score is a
percentage.

The math is vectorized with numpy over a whole batch of videos at once: segment
boundaries come from ``np.flatnonzero`` over the concatenated labels, every
(predicted, true) segment pair's IoU from one flat array with per-row ``reduceat``, and the
Levenshtein tables of all videos are filled together, a row at a time (see
``bench/segmentation_metrics.py``). The ``_update`` helpers return additive statistics of a
batch, the ``_compute`` helpers turn summed statistics into scores; the ``Metric`` classes
in ``mmfuse.metrics.segmentation`` call the same helpers. The per-video edit scores are added
one at a time in video order (``_add_in_order``), so the float sum, and with it Edit, is the
same to the last bit however the videos are split into batches.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import torch

LabelSequence = Union[np.ndarray, torch.Tensor, Sequence[int]]

DEFAULT_OVERLAPS: tuple[float, ...] = (0.10, 0.25, 0.50)


def as_labels(labels: LabelSequence) -> np.ndarray:
    """One video's frame labels as a 1-D ``int64`` numpy array."""
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(f"expected a 1-D label sequence, got shape {tuple(array.shape)}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"expected integer class indices, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


def as_videos(labels: Any) -> list[np.ndarray]:
    """Normalise one video or several videos to a list of 1-D label arrays.

    A 1-D array or tensor, or a list of ints, is one video; a 2-D array or tensor is one
    video per row; a list or tuple of sequences is one video per element.
    """
    if isinstance(labels, (np.ndarray, torch.Tensor)):
        if labels.ndim == 2:
            return [as_labels(row) for row in labels]
        return [as_labels(labels)]
    if isinstance(labels, (list, tuple)):
        if len(labels) == 0:
            return []
        if all(np.ndim(item) == 0 for item in labels):
            return [as_labels(labels)]
        return [as_labels(item) for item in labels]
    raise TypeError(f"expected label sequences, got {type(labels).__name__}")


def _check_pairs(preds: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> None:
    if len(preds) != len(targets):
        raise ValueError(f"got predictions for {len(preds)} videos but targets for {len(targets)}")
    for v, (pred, target) in enumerate(zip(preds, targets)):
        if pred.shape != target.shape:
            raise ValueError(
                f"video {v}: prediction has {pred.shape[0]} frames "
                f"but the ground truth has {target.shape[0]}"
            )


def _background_array(background: Collection[int]) -> np.ndarray:
    return np.fromiter((int(b) for b in background), dtype=np.int64)


@dataclass
class _Segments:
    """The non-background segments of a batch of videos, flat in video order.

    ``starts`` and ``ends`` (one past the last frame) are frame indices within the video;
    segments ``offsets[v] : offsets[v] + counts[v]`` belong to video ``v``.
    """

    labels: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    video: np.ndarray
    counts: np.ndarray
    offsets: np.ndarray


def _segments(videos: Sequence[np.ndarray], background: np.ndarray) -> _Segments:
    """Segments of every video at once: a boundary wherever the label or the video changes."""
    lengths = np.fromiter((v.size for v in videos), dtype=np.int64, count=len(videos))
    frame_offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    flat = np.concatenate(videos) if videos else np.zeros(0, dtype=np.int64)
    boundary = np.ones(flat.size, dtype=bool)
    np.not_equal(flat[1:], flat[:-1], out=boundary[1:])
    boundary[frame_offsets[lengths > 0]] = True
    starts = np.flatnonzero(boundary)
    ends = np.append(starts[1:], flat.size)
    video = np.searchsorted(frame_offsets, starts, side="right") - 1  # empty videos tie
    labels = flat[starts]
    if background.size:
        keep = ~np.isin(labels, background)
        labels, starts, ends, video = labels[keep], starts[keep], ends[keep], video[keep]
    counts = np.bincount(video, minlength=len(videos))
    local = frame_offsets[video]
    return _Segments(
        labels=labels,
        starts=starts - local,
        ends=ends - local,
        video=video,
        counts=counts,
        offsets=np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64),
    )


def _padded(segments: _Segments, rows: np.ndarray, width: int) -> np.ndarray:
    """Segment labels of the videos ``rows`` as a ``[len(rows), width]`` matrix (pad 0)."""
    counts = segments.counts[rows]
    out = np.zeros((rows.size, width), dtype=np.int64)
    row = np.repeat(np.arange(rows.size), counts)
    col = np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts)
    out[row, col] = segments.labels[np.repeat(segments.offsets[rows], counts) + col]
    return out


def _levenshtein(a: np.ndarray, m: np.ndarray, b: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Edit distances between ``a[v, :m[v]]`` and ``b[v, :n[v]]`` for a batch of pairs.

    The table is filled one row at a time for every pair together. Within a row,
    ``D[i, j] = min(t[j], D[i, j-1] + 1)`` where ``t`` holds the deletion and substitution
    candidates; unrolled, ``D[i, j] = min_{j' <= j} t[j'] + (j - j')``, which is
    ``np.minimum.accumulate(t - arange) + arange``. Cells past a pair's lengths never feed
    the cell ``D[m, n]`` that is read, so padding needs no mask.
    """
    cols = np.arange(b.shape[1] + 1)
    row = np.broadcast_to(cols, (a.shape[0], cols.size)).copy()
    distance = n.copy()  # m == 0
    candidates = np.empty_like(row)
    for i in range(1, int(m.max(initial=0)) + 1):
        candidates[:, 0] = i
        np.minimum(row[:, 1:] + 1, row[:, :-1] + (b != a[:, i - 1 : i]), out=candidates[:, 1:])
        row = np.minimum.accumulate(candidates - cols, axis=1) + cols
        done = np.flatnonzero(m == i)
        distance[done] = row[done, n[done]]
    return distance


# Pairs are batched while (pairs x rows x columns) of the padded tables stays below this, so
# one video with thousands of segments is not padded against every other video.
_LEVENSHTEIN_CELLS = 1 << 22


def _edit_scores(p: _Segments, y: _Segments) -> np.ndarray:
    """Per-video edit score: 100 for two empty segment lists, 0 for exactly one."""
    short = np.minimum(p.counts, y.counts)
    long = np.maximum(p.counts, y.counts)
    distance = np.zeros(p.counts.size, dtype=np.int64)
    order = np.argsort(long, kind="stable")
    begin = 0
    while begin < order.size:  # greedy chunks of similar sizes, at least one video each
        end, most_rows = begin + 1, short[order[begin]]
        while end < order.size:
            grown = max(most_rows, short[order[end]])
            if (end - begin + 1) * (grown + 1) * (long[order[end]] + 1) > _LEVENSHTEIN_CELLS:
                break
            end, most_rows = end + 1, grown
        rows = order[begin:end]
        width = int(long[rows].max(initial=0))
        swap = (p.counts[rows] > y.counts[rows])[:, None]  # iterate over the shorter list
        p_pad, y_pad = _padded(p, rows, width), _padded(y, rows, width)
        distance[rows] = _levenshtein(
            np.where(swap, y_pad, p_pad), short[rows], np.where(swap, p_pad, y_pad), long[rows]
        )
        begin = end
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(long > 0, (1.0 - distance / long) * 100.0, 100.0)


def _f1_counts(
    p: _Segments, y: _Segments, overlaps: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TP, FP and FN per overlap, summed over the videos.

    Every (predicted, ground-truth) segment pair of a video is laid out flat, row by row.
    The sequential rule of ``eval.py`` (a hit only on the best match when that one is still
    unhit, no fallback) makes one true positive per distinct best-matching ground-truth
    segment whose IoU clears the threshold.
    """
    num_p, num_y = p.labels.size, y.labels.size
    tp = np.zeros(len(overlaps), dtype=np.int64)
    per_row = y.counts[p.video]  # candidates of each predicted segment
    rows = np.flatnonzero(per_row)  # predictions in a video without ground truth are FPs
    if rows.size:
        row_len = per_row[rows]
        row_start = np.cumsum(row_len) - row_len
        pair_row = np.repeat(rows, row_len)
        local = np.arange(pair_row.size) - np.repeat(row_start, row_len)
        gt = y.offsets[p.video[pair_row]] + local
        # Same arithmetic as eval.py (intersection may be negative), so ties break identically.
        intersection = np.minimum(p.ends[pair_row], y.ends[gt]) - np.maximum(
            p.starts[pair_row], y.starts[gt]
        )
        union = np.maximum(p.ends[pair_row], y.ends[gt]) - np.minimum(
            p.starts[pair_row], y.starts[gt]
        )
        iou = (intersection / union) * (p.labels[pair_row] == y.labels[gt])
        best_iou = np.maximum.reduceat(iou, row_start)
        first_best = np.where(iou == np.repeat(best_iou, row_len), local, np.iinfo(np.int64).max)
        best_gt = y.offsets[p.video[rows]] + np.minimum.reduceat(first_best, row_start)
        hit = np.zeros(num_y, dtype=bool)
        for k, overlap in enumerate(overlaps):
            hit[:] = False
            hit[best_gt[best_iou >= overlap]] = True
            tp[k] = np.count_nonzero(hit)
    return tp, num_p - tp, num_y - tp


def _frame_accuracy_update(
    preds: Sequence[np.ndarray], targets: Sequence[np.ndarray]
) -> tuple[int, int]:
    """Correct and total frames of a batch of videos."""
    _check_pairs(preds, targets)
    correct = sum(int(np.count_nonzero(p == t)) for p, t in zip(preds, targets))
    return correct, sum(t.size for t in targets)


def _frame_accuracy_compute(correct: float, total: float) -> float:
    return 100.0 * float(correct) / float(total) if total else 0.0


def _add_in_order(total: float, values: np.ndarray) -> float:
    """``total`` plus each value in turn: the same float whether the values come one at a time,
    in batches or all at once (numpy's pairwise ``sum`` rounds differently from 8 values on)."""
    for value in values.tolist():
        total += value
    return total


def _edit_score_update(
    preds: Sequence[np.ndarray], targets: Sequence[np.ndarray], background: np.ndarray
) -> tuple[np.ndarray, int]:
    """Per-video edit scores (to add in order) and the number of videos (Edit averages over videos)."""
    _check_pairs(preds, targets)
    return _edit_scores(_segments(preds, background), _segments(targets, background)), len(targets)


def _edit_score_compute(score_sum: float, num_videos: float) -> float:
    return float(score_sum) / float(num_videos) if num_videos else 0.0


def _f1_update(
    preds: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    overlaps: Sequence[float],
    background: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True positives, false positives and false negatives per overlap, summed over videos."""
    _check_pairs(preds, targets)
    return _f1_counts(_segments(preds, background), _segments(targets, background), overlaps)


def _f1_compute(tp: Any, fp: Any, fn: Any) -> np.ndarray:
    """F1 in percent per overlap from summed counts; every zero denominator gives 0."""
    tp, fp, fn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(
            precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0
        )
    return f1 * 100.0


def _segmentation_update(
    preds: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    overlaps: Sequence[float],
    background: np.ndarray,
) -> tuple[int, int, np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]:
    """Every statistic of a batch of videos, extracting each segment list once.

    Returns correct frames, total frames, the per-video edit scores (to add in order with
    ``_add_in_order``), number of videos, and TP/FP/FN per overlap.
    """
    correct, total = _frame_accuracy_update(preds, targets)
    p_segments = _segments(preds, background)
    y_segments = _segments(targets, background)
    edit_scores = _edit_scores(p_segments, y_segments)
    tp, fp, fn = _f1_counts(p_segments, y_segments, overlaps)
    return correct, total, edit_scores, len(targets), tp, fp, fn


def f1_key(overlap: float) -> str:
    """The result key of F1 at ``overlap``: ``0.1 -> "f1@10"``."""
    return f"f1@{round(overlap * 100)}"


def _segmentation_compute(
    correct: float,
    total: float,
    edit_sum: float,
    num_videos: float,
    tp: Any,
    fp: Any,
    fn: Any,
    overlaps: Sequence[float],
) -> dict[str, float]:
    scores = {
        "accuracy": _frame_accuracy_compute(correct, total),
        "edit": _edit_score_compute(edit_sum, num_videos),
    }
    for overlap, f1 in zip(overlaps, _f1_compute(tp, fp, fn)):
        scores[f1_key(overlap)] = float(f1)
    return scores


def frame_accuracy(preds: LabelSequence, target: LabelSequence) -> float:
    """Percentage of the frames of one video whose predicted label is correct (0 if empty)."""
    return _frame_accuracy_compute(
        *_frame_accuracy_update([as_labels(preds)], [as_labels(target)])
    )


def edit_score(
    preds: LabelSequence, target: LabelSequence, background: Collection[int] = ()
) -> float:
    """Segmental edit score of one video in percent, background segments dropped."""
    scores, _ = _edit_score_update(
        [as_labels(preds)], [as_labels(target)], _background_array(background)
    )
    return float(scores[0])


def f1_at_k(
    preds: LabelSequence,
    target: LabelSequence,
    overlaps: Sequence[float] = DEFAULT_OVERLAPS,
    background: Collection[int] = (),
) -> dict[str, float]:
    """F1@k of one video in percent, keyed ``f1@10`` etc., background segments dropped."""
    tp, fp, fn = _f1_update(
        [as_labels(preds)], [as_labels(target)], overlaps, _background_array(background)
    )
    return {f1_key(k): float(f1) for k, f1 in zip(overlaps, _f1_compute(tp, fp, fn))}


def segmentation_scores(
    preds_list: Sequence[LabelSequence],
    targets_list: Sequence[LabelSequence],
    background: Collection[int] = (),
    overlaps: Sequence[float] = DEFAULT_OVERLAPS,
) -> dict[str, float]:
    """All segmentation metrics over a set of videos, in percent.

    Accuracy pools frames, Edit averages per-video scores, F1 sums TP/FP/FN over videos.
    Keys: ``accuracy``, ``edit`` and ``f1@10``, ``f1@25``, ``f1@50`` (one per overlap).
    """
    preds = [as_labels(p) for p in preds_list]
    targets = [as_labels(t) for t in targets_list]
    correct, total, edit_scores, num_videos, tp, fp, fn = _segmentation_update(
        preds, targets, overlaps, _background_array(background)
    )
    return _segmentation_compute(
        correct, total, _add_in_order(0.0, edit_scores), num_videos, tp, fp, fn, overlaps
    )
