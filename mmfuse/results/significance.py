"""Which leaderboard rows the data cannot tell apart from the best: a paired test over seeds × test videos.

For each column, the measured row with the best mean (by ``higher_is_better``) is compared with every
other measured row on the (seed, test video) pairs both have: the mean of the per-pair differences
is tested by a two-sided paired sign-flip permutation test at level ``ALPHA``. A row whose p-value is
at least ``ALPHA`` is *tied* with the best: not significantly different from it. Reported rows are
never tested (they have no per-video scores).

Why a sign-flip permutation test rather than a paired bootstrap: under the null hypothesis that two
methods perform alike, each pair's difference is as likely to have either sign, so flipping signs
at random gives the null distribution of the mean difference without assuming its shape, and the
test keeps its level with few pairs (a bootstrap of the mean is anti-conservative there: it treats
the sample as the population). ``RESAMPLES`` random sign vectors, drawn from a generator seeded
with ``SEED``, make the p-value ``(1 + #{|flipped mean| >= |observed mean|}) / (1 + RESAMPLES)``
(never 0, exact in level; Phipson & Smyth 2010) and the marks deterministic. Each comparison is
tested at ``ALPHA`` on its own (no correction for the several rows of a column: a correction would
only widen the tied set).

What the test treats as exchangeable is each (seed, video) pair, so it measures how reliably one
method beats the other over the test videos of the runs at hand; a seed whose run fails on every
video counts as that many losing pairs (2 seeds × 32 videos of ``synthetic``: concat's seed 10,
4 points below its seed 1, makes rtf's 1.5-point lead significant, p = 0.006, where seed 1 alone
gives p = 0.06). Flipping whole runs instead would respect seed-to-seed variation but, with 3
seeds, has 8 sign patterns and can never reach p < 0.25.

The pairs are per-video scores (``tasks.base.Evaluation``): where the board's value pools counts
over videos (frame accuracy, F1@k, MoC), the test compares the methods' per-video scores while the
board keeps the pooled value.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from mmfuse.metrics.columns import Column
from mmfuse.results.aggregate import MEASURED

ALPHA = 0.05
RESAMPLES = 10_000
SEED = 0
_CHUNK = 1_000  # sign vectors per matrix product: bounds memory for boards with many pairs

BEST, TIED = "best", "tied"


def _signs(pairs: int, resamples: int, seed: int) -> np.ndarray:
    """``resamples`` random ±1 vectors of length ``pairs``, the same for the same arguments."""
    return np.random.default_rng(seed).integers(0, 2, size=(resamples, pairs), dtype=np.int8) * 2 - 1


def sign_flip_p_values(differences: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """Two-sided p-values of a zero mean for each column of ``differences`` (``[pairs, comparisons]``,
    the comparisons sharing their pairs), by a paired sign-flip permutation test."""
    differences = np.asarray(differences, dtype=np.float64)
    if differences.ndim == 1:
        return sign_flip_p_values(differences[:, None], resamples, seed)[0]
    pairs = differences.shape[0]
    observed = np.abs(differences.mean(axis=0))
    signs = _signs(pairs, resamples, seed)
    exceed = np.zeros(differences.shape[1], dtype=np.int64)
    for start in range(0, resamples, _CHUNK):
        flipped = np.abs(signs[start : start + _CHUNK] @ differences) / pairs
        exceed += np.count_nonzero(flipped >= observed - 1e-9, axis=0)  # ties with the observed mean count
    return (1.0 + exceed) / (1.0 + resamples)


Scores = Mapping[Hashable, float]  # one row's per-video scores of a column, keyed by (seed, video)


@dataclass
class ColumnMarks:
    """The marks of one column: ``marks[row]`` is ``BEST``, ``TIED`` or absent; ``p_values`` and
    ``pairs`` per tested row; ``untested`` the rows that share no pair with the best."""

    marks: dict[int, str] = field(default_factory=dict)
    p_values: dict[int, float] = field(default_factory=dict)
    pairs: dict[int, int] = field(default_factory=dict)
    untested: list[int] = field(default_factory=list)


def column_marks(means: Mapping[int, float], scores: Mapping[int, Scores], higher_is_better: bool) -> ColumnMarks:
    """Mark the rows of one column: every row whose mean is the best (NaN means are left out) is
    ``BEST``; each other row is tested against the first best row on the pairs both have in
    ``scores`` and marked ``TIED`` when its p-value is at least ``ALPHA``."""
    result = ColumnMarks()
    present = {row: mean for row, mean in means.items() if not np.isnan(mean)}
    if not present:
        return result
    best = max(present.values()) if higher_is_better else min(present.values())
    leaders = [row for row, mean in present.items() if mean == best]
    result.marks.update((row, BEST) for row in leaders)
    reference = scores.get(leaders[0], {})
    for row in present:
        if row in leaders:
            continue
        shared = [key for key in scores.get(row, {}) if key in reference]
        if not shared:
            result.untested.append(row)
            continue
        differences = np.array([reference[key] - scores[row][key] for key in shared])
        p_value = float(sign_flip_p_values(differences))
        result.p_values[row], result.pairs[row] = p_value, len(shared)
        if p_value >= ALPHA:
            result.marks[row] = TIED
    return result


def pair_keys(seed: int, videos: Sequence[str]) -> list[tuple[int, str, int]]:
    """A run's pair keys: (seed, video name, how many videos of that name came before), so a split
    that names two videos alike still pairs them in order."""
    seen: dict[str, int] = {}
    keys = []
    for video in videos:
        keys.append((seed, video, seen.get(video, 0)))
        seen[video] = seen.get(video, 0) + 1
    return keys


def board_marks(table: pd.DataFrame, columns: Sequence[Column], runs: pd.DataFrame) -> tuple[dict[tuple[int, str], str], str]:
    """The marks of a board (``(row index of table, column key) -> BEST or TIED``) and the line that
    says how they were set. ``table`` is the board's (``render.Leaderboard.table``), ``runs`` its
    measured rows of the long table with their ``videos`` and ``per_video`` scores."""
    measured = table.index[table["source"] == MEASURED]
    row_of = {table.at[index, "method"]: index for index in measured}
    scores: dict[tuple[int, str], dict[Hashable, float]] = {}
    for run in runs.itertuples():
        if run.cell in row_of and len(run.per_video) == len(run.videos) > 0:
            keys = pair_keys(int(run.seed), run.videos)
            scores.setdefault((row_of[run.cell], run.metric), {}).update(zip(keys, run.per_video))
    marks: dict[tuple[int, str], str] = {}
    pairs: list[int] = []
    untested: set[int] = set()
    for column in columns:
        means = {index: float(table.at[index, f"{column.key}_mean"]) for index in measured}
        found = column_marks(means, {row: scores.get((row, column.key), {}) for row in measured}, column.higher_is_better)
        marks.update(((row, column.key), mark) for row, mark in found.marks.items())
        pairs.extend(found.pairs.values())
        untested.update(found.untested)
    names = [str(table.at[index, "method"]) for index in sorted(untested)]
    return marks, describe(pairs, names, tested_any=bool(scores))


def describe(pairs: Sequence[int], untested: Sequence[str], tested_any: bool) -> str:
    """The line under a table: what is marked, by which test, at which level, over how many pairs."""
    if not tested_any:
        return ("Bold: best mean; no significance test: the run records hold no per-video scores "
                "(written before mmfuse kept them), so no row is marked as tied")
    counts = sorted(set(pairs))
    if not counts:
        how_many = "no other row to compare"
    elif len(counts) == 1:
        how_many = f"{counts[0]} pairs"
    else:
        how_many = f"{counts[0]}–{counts[-1]} pairs per comparison"
    line = (
        "Bold: best mean; underlined: not significantly different from it (paired sign-flip permutation "
        f"test over seeds × test videos, two-sided, α = {ALPHA:g}, {RESAMPLES:,} resamples; {how_many})"
    )
    if untested:
        line += f"; not tested, no per-video scores shared with the best: {', '.join(untested)}"
    return line
