"""The paired sign-flip test behind the leaderboards' marks, against a simple exact reference and on
constructed boards."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from mmfuse.results.aggregate import long_table, summary
from mmfuse.results.render import build_leaderboards
from mmfuse.results.significance import ALPHA, BEST, TIED, column_marks, pair_keys, sign_flip_p_values


def exact_p_value(differences: np.ndarray) -> float:
    """Every one of the 2^n sign vectors, one at a time: the share whose |mean| reaches the observed."""
    observed = abs(sum(differences) / len(differences))
    flips = [abs(sum(s * d for s, d in zip(signs, differences)) / len(differences))
             for signs in itertools.product((1, -1), repeat=len(differences))]
    return sum(f >= observed - 1e-9 for f in flips) / len(flips)


@pytest.mark.parametrize("shift", [0.0, 0.3, 1.0, 3.0])
def test_p_values_match_the_exact_test_within_monte_carlo_error(shift: float) -> None:
    differences = np.random.default_rng(7).normal(shift, 2.0, size=12)
    p_value = sign_flip_p_values(differences)
    # 10,000 draws: the Monte Carlo error of a p-value is at most 0.005 (std); allow 4 of them
    assert p_value == pytest.approx(exact_p_value(differences), abs=0.02)
    assert p_value == sign_flip_p_values(differences)  # the same draws every time


def test_p_values_of_several_comparisons_at_once_are_those_of_each_alone() -> None:
    differences = np.random.default_rng(1).normal(0.5, 2.0, size=(40, 5))
    together = sign_flip_p_values(differences)
    assert together.tolist() == [sign_flip_p_values(differences[:, k]) for k in range(5)]


def test_identical_scores_give_p_one_and_a_constant_lead_the_smallest_p() -> None:
    assert sign_flip_p_values(np.zeros(30)) == 1.0
    assert sign_flip_p_values(np.full(30, 0.5)) == pytest.approx(1 / 10_001, abs=2e-4)


def noisy_scores(lead: float, rng: np.random.Generator, seeds=(1, 10, 13452), videos: int = 32) -> dict:
    """Per-video scores of two methods on the same videos: each video's difficulty, each run's seed
    effect (std 0.6) and per-video noise (std 2); the second method trails by ``lead``."""
    difficulty = rng.normal(90.0, 5.0, size=videos)
    names = [f"v{j}" for j in range(videos)]
    scores: dict[int, dict] = {0: {}, 1: {}}
    for row, offset in ((0, 0.0), (1, -lead)):
        for seed in seeds:
            values = difficulty + offset + rng.normal(0.0, 0.6) + rng.normal(0.0, 2.0, size=videos)
            scores[row].update(zip(pair_keys(seed, names), values))
    return scores


def marks_of(scores: dict) -> dict:
    means = {row: float(np.mean(list(values.values()))) for row, values in scores.items()}
    return column_marks(means, scores, higher_is_better=True)


def test_a_method_0_3_behind_inside_the_seed_noise_is_tied_and_a_clearly_worse_one_is_not() -> None:
    rng = np.random.default_rng(0)
    close = noisy_scores(0.3, rng)
    found = marks_of(close)  # the noise may even put the trailing method ahead: either way, tied
    assert sorted(found.marks.values()) == [BEST, TIED] and list(found.pairs.values()) == [96]
    assert list(found.p_values.values())[0] >= ALPHA
    worse = noisy_scores(3.0, rng)
    found = marks_of(worse)
    assert found.marks == {0: BEST} and found.p_values[1] < 0.001


def test_lower_is_better_ties_and_untested_rows() -> None:
    scores = {0: {"a": 1.0, "b": 2.0}, 1: {"a": 1.0, "b": 2.5}, 2: {}}
    found = column_marks({0: 1.5, 1: 1.75, 2: 9.0, 3: float("nan")}, scores, higher_is_better=False)
    assert found.marks == {0: BEST, 1: TIED} and found.pairs == {1: 2} and found.untested == [2]


def test_pair_keys_keep_videos_of_one_name_apart() -> None:
    assert pair_keys(3, ["a", "b", "a"]) == [(3, "a", 0), (3, "b", 0), (3, "a", 1)]


def run(cell: str, seed: int, per_video: list[float] | None) -> dict:
    record = {
        "status": "finished", "task": "segmentation", "dataset": "synthetic", "cell": cell, "seed": seed,
        "columns": [{"key": "edit", "header": "Edit", "higher_is_better": True}],
        "metrics": {"edit": float(np.mean(per_video)) if per_video else 50.0},
        "created": "2026-01-01",
    }
    if per_video is not None:
        record.update(per_video={"edit": per_video}, videos=[f"v{j}" for j in range(len(per_video))])
    return record


def board_of(records: list[dict]):
    long = long_table(records)
    (board,) = build_leaderboards(summary(long), long)
    return board


def test_boards_mark_from_the_runs_per_video_scores_and_say_how() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(80.0, 5.0, size=(3, 20))
    records = [
        *(run("best", seed, list(base[k] + 1.0)) for k, seed in enumerate((1, 2, 3))),
        *(run("close", seed, list(base[k] + 0.8 + rng.normal(0, 2, 20))) for k, seed in enumerate((1, 2, 3))),
        *(run("far", seed, list(base[k] - 10.0)) for k, seed in enumerate((1, 2, 3))),
        run("old", 1, None),  # a record written before per-video scores
    ]
    board = board_of(records)
    marks = {board.table.at[i, "method"]: board.mark(i, "edit") for i in board.table.index}
    assert marks == {"best": BEST, "close": TIED, "far": "", "old": ""}
    assert board.significance == (
        "Bold: best mean; underlined: not significantly different from it (paired sign-flip permutation test "
        "over seeds × test videos, two-sided, α = 0.05, 10,000 resamples; 60 pairs); not tested, no per-video "
        "scores shared with the best: old"
    )


def test_without_per_video_scores_only_the_best_is_marked_and_the_line_says_so() -> None:
    records = [run("a", 1, None), run("b", 1, None), run("b", 2, None)]
    records[1]["metrics"]["edit"] = 50.3
    board = board_of(records)
    assert [board.mark(i, "edit") for i in board.table.index] == ["", BEST]
    assert "no significance test" in board.significance and "no per-video scores" in board.significance
