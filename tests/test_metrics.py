"""mmfuse's metrics against the independent per-frame reference (tests/reference_metrics.py)."""
from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from mmfuse.metrics import MeanOverClasses, SegmentationMetrics
from mmfuse.metrics.functional import (
    edit_score,
    f1_at_k,
    frame_accuracy,
    mean_over_classes,
    moc_scores,
    moc_window,
    segmentation_scores,
)

sys.path.insert(0, str(Path(__file__).parent))
import reference_metrics as ref  # noqa: E402

TOL = 1e-6
OBSERVE = (0.2, 0.3)
PREDICT = (0.1, 0.2, 0.3, 0.5)


def random_segmentation(rng: np.random.Generator, num_frames: int, num_classes: int) -> np.ndarray:
    """Runs of random labels with lengths from 1 frame to a large part of the video."""
    labels = []
    while len(labels) < num_frames:
        length = int(rng.choice([1, 2, rng.integers(1, 8), rng.integers(5, max(6, num_frames // 3))]))
        labels.extend([int(rng.integers(num_classes))] * length)
    return np.asarray(labels[:num_frames], dtype=np.int64)


def perturb(rng: np.random.Generator, target: np.ndarray, num_classes: int) -> np.ndarray:
    """A prediction: the truth with shifted boundaries, relabelled runs and noise, or random."""
    kind = rng.integers(4)
    if kind == 0:
        return random_segmentation(rng, target.size, num_classes)
    pred = np.roll(target, int(rng.integers(-3, 4)))
    if kind >= 2:
        flips = rng.random(target.size) < 0.05
        pred[flips] = rng.integers(num_classes, size=int(flips.sum()))
    if kind == 3 and target.size:
        start = int(rng.integers(target.size))
        pred[start : start + int(rng.integers(1, 20))] = rng.integers(num_classes)
    return pred


def random_targets(
    rng: np.random.Generator, num_videos: int, num_classes: int, lengths: tuple[int, ...], spans: tuple[tuple[int, int], ...]
) -> Iterator[np.ndarray]:
    """Ground truth of each video in turn, its length one of ``lengths`` or of a number drawn from
    each ``span``; the caller draws each prediction from the same ``rng`` before the next target."""
    for _ in range(num_videos):
        num_frames = int(rng.choice([*lengths, *(rng.integers(lo, hi) for lo, hi in spans)]))
        yield random_segmentation(rng, num_frames, num_classes)


def random_videos(seed: int, num_videos: int, num_classes: int) -> tuple[list, list]:
    rng = np.random.default_rng(seed)
    preds, targets = [], []
    for target in random_targets(rng, num_videos, num_classes, (1, 2, 5), ((1, 60), (50, 400))):
        pred = perturb(rng, target, num_classes)
        if rng.random() < 0.1:  # an all-background video or prediction
            (target if rng.random() < 0.5 else pred)[:] = 0
        preds.append(pred)
        targets.append(target)
    return preds, targets


def assert_scores_close(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        got = float(actual[key])
        assert not math.isnan(got), key
        assert got == pytest.approx(value, abs=TOL), key


def lists(videos: list[np.ndarray]) -> list[list[int]]:
    return [video.tolist() for video in videos]


# --- segmentation: functional against the reference ---------------------------------


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("background", [(), (0,), (0, 3)])
def test_segmentation_scores_match_reference(seed: int, background: tuple[int, ...]) -> None:
    preds, targets = random_videos(seed, num_videos=8, num_classes=int(3 + seed % 6))
    expected = ref.segmentation_scores(lists(preds), lists(targets), background)
    assert_scores_close(segmentation_scores(preds, targets, background=background), expected)


@pytest.mark.parametrize("seed", range(30))
def test_per_video_functions_match_reference(seed: int) -> None:
    preds, targets = random_videos(100 + seed, num_videos=5, num_classes=5)
    for pred, target in zip(preds, targets):
        p, t = pred.tolist(), target.tolist()
        expected = ref.segmentation_scores([p], [t], (0,), (0.1, 0.25, 0.5, 0.75))
        assert frame_accuracy(pred, target) == pytest.approx(expected["accuracy"], abs=TOL)
        assert edit_score(pred, target, background=(0,)) == pytest.approx(
            ref.edit_score(p, t, (0,)), abs=TOL
        )
        f1 = f1_at_k(torch.as_tensor(pred), torch.as_tensor(target), (0.1, 0.25, 0.5, 0.75), (0,))
        assert_scores_close(f1, {k: v for k, v in expected.items() if k.startswith("f1")})


def test_overlap_zero_matches_reference() -> None:
    """k = 0 makes label-mismatched gt segments (IoU 0) eligible: the argmax rule decides."""
    preds, targets = random_videos(7, num_videos=20, num_classes=4)
    expected = ref.segmentation_scores(lists(preds), lists(targets), (), (0.0, 1.0))
    assert_scores_close(segmentation_scores(preds, targets, overlaps=(0.0, 1.0)), expected)


def test_levenshtein_on_long_segment_lists() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        p = rng.integers(4, size=int(rng.integers(0, 80)))
        y = rng.integers(4, size=int(rng.integers(0, 80)))
        assert edit_score(p, p) == 100.0
        n = min(p.size, y.size)
        assert edit_score(p[:n], y[:n]) == pytest.approx(
            ref.edit_score(p[:n].tolist(), y[:n].tolist()), abs=TOL
        )


# --- segmentation: hand-computed edge cases -----------------------------------------


def test_edit_of_two_empty_segment_lists_is_100() -> None:
    assert edit_score([], []) == 100.0
    assert edit_score([0, 0, 0], [0, 0, 0], background=(0,)) == 100.0


def test_edit_with_exactly_one_empty_segment_list_is_0() -> None:
    assert edit_score([0, 0, 0], [0, 1, 1], background=(0,)) == 0.0
    assert edit_score([2, 1, 1], [0, 0, 0], background=(0,)) == 0.0


def test_edit_hand_computed() -> None:
    # segments: pred [1, 2, 1], truth [1, 2] -> one insertion over max length 3
    assert edit_score([1, 1, 2, 1], [1, 1, 2, 2]) == pytest.approx(100 * (1 - 1 / 3))
    # background 0 splits runs of 1 into two segments, as in MS-TCN
    assert edit_score([1, 0, 1], [1, 1, 1], background=(0,)) == pytest.approx(50.0)


def test_f1_hand_computed() -> None:
    # truth: a=[0,4), b=[4,10); pred: a=[0,2) IoU .5, a=[2,4) IoU .5 (hit taken -> FP), b=[4,10)
    # truth: 1=[0,4), 3=[4,10); pred: 1=[0,2) IoU .5, 5=[2,3) mislabelled -> FP,
    # 1=[3,4) IoU .25 with the already hit truth segment -> FP (no fallback), 3=[4,10) IoU 1
    pred = [1, 1, 5, 1, 3, 3, 3, 3, 3, 3]
    target = [1, 1, 1, 1, 3, 3, 3, 3, 3, 3]
    scores = f1_at_k(pred, target, overlaps=(0.25, 0.5, 0.75))
    # k=.25,.5: TP 2, FP 2, FN 0 -> P .5, R 1 -> F1 2/3; k=.75: TP 1, FP 3, FN 1
    assert scores["f1@25"] == pytest.approx(200 / 3)
    assert scores["f1@50"] == pytest.approx(200 / 3)
    assert scores["f1@75"] == pytest.approx(100 * 2 * 0.25 * 0.5 / 0.75)


def test_zero_denominators_give_zero_not_nan() -> None:
    # no predicted and no true segments at all: precision and recall 0/0
    scores = segmentation_scores([[0, 0]], [[0, 0]], background=(0,))
    assert scores == {"accuracy": 100.0, "edit": 100.0, "f1@10": 0.0, "f1@25": 0.0, "f1@50": 0.0}
    # predicted segments but no ground-truth segment: every prediction is a false positive
    assert f1_at_k([1, 2], [0, 0], background=(0,)) == {"f1@10": 0.0, "f1@25": 0.0, "f1@50": 0.0}
    # no videos, no frames
    assert segmentation_scores([], []) == {
        "accuracy": 0.0, "edit": 0.0, "f1@10": 0.0, "f1@25": 0.0, "f1@50": 0.0
    }
    assert frame_accuracy([], []) == 0.0


def test_segment_ends_one_past_the_last_frame() -> None:
    """MS-TCN's eval.py ends the final segments at the last index, which lowers this IoU."""
    # eval.py: pred [1,3) vs gt [0,3) -> 2/3; one-past: [1,4) vs [0,4) -> 3/4
    assert f1_at_k([0, 1, 1, 1], [1, 1, 1, 1], (0.75,), background=(0,)) == {"f1@75": 100.0}


def test_length_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="frames"):
        segmentation_scores([[1, 2, 3]], [[1, 2]])


# --- segmentation: the Metric class over several batches ----------------------------


@pytest.mark.parametrize("seed", range(10))
def test_segmentation_metric_class_over_batches(seed: int) -> None:
    preds, targets = random_videos(1000 + seed, num_videos=12, num_classes=6)
    metric = SegmentationMetrics(background=(0,))
    batches = [(0, 1), (1, 5), (5, 6), (6, 12)]
    for lo, hi in batches:
        batch_p = [torch.as_tensor(p) for p in preds[lo:hi]]
        batch_t = [torch.as_tensor(t) for t in targets[lo:hi]]
        if hi - lo == 1:  # a single video as a tensor
            batch_p, batch_t = batch_p[0], batch_t[0]
        metric.update(batch_p, batch_t)
    expected = ref.segmentation_scores(lists(preds), lists(targets), (0,))
    assert_scores_close(metric.compute(), expected)
    assert_scores_close(segmentation_scores(preds, targets, background=(0,)), expected)


def test_segmentation_metric_states_are_sums() -> None:
    preds, targets = random_videos(5, num_videos=6, num_classes=4)
    whole = SegmentationMetrics()
    whole.update(preds, targets)
    a, b = SegmentationMetrics(), SegmentationMetrics()
    a.update(preds[:2], targets[:2])
    b.update(preds[2:], targets[2:])
    for name, reduce in a._reductions.items():
        assert reduce is not None and reduce.__name__ == "dim_zero_sum", name
        assert torch.equal(getattr(a, name) + getattr(b, name), getattr(whole, name)), name
    assert SegmentationMetrics.higher_is_better is True
    assert SegmentationMetrics.full_state_update is False


def test_segmentation_metric_forward_returns_batch_value_and_reset() -> None:
    preds, targets = random_videos(9, num_videos=4, num_classes=4)
    metric = SegmentationMetrics()
    batch_value = metric(preds[:2], targets[:2])
    assert_scores_close(batch_value, ref.segmentation_scores(lists(preds[:2]), lists(targets[:2])))
    metric.update(preds[2:], targets[2:])
    assert_scores_close(metric.compute(), ref.segmentation_scores(lists(preds), lists(targets)))
    metric.reset()
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert_scores_close(metric.compute(), ref.segmentation_scores([], []))


# --- anticipation (MoC) --------------------------------------------------------------


def random_anticipation(seed: int, num_videos: int, num_classes: int) -> tuple[list, list]:
    """Window predictions as mmfuse takes them, including an 'end' index num_classes."""
    rng = np.random.default_rng(seed)
    preds, targets = [], []
    for target in random_targets(rng, num_videos, num_classes, (1, 3, 7), ((1, 50), (50, 500))):
        num_frames = target.size
        by_alpha = {}
        for alpha in OBSERVE:
            start = int(alpha * num_frames)
            needed = int((alpha + max(PREDICT)) * num_frames) - start
            window = perturb(rng, target[start : start + needed], num_classes + 1)
            extra = rng.integers(num_classes + 1, size=int(rng.integers(0, 3)))
            by_alpha[alpha] = np.concatenate([window, extra]).astype(np.int64)
        preds.append(by_alpha)
        targets.append(target)
    return preds, targets


def ref_lists(preds: list[dict]) -> list[dict]:
    return [{alpha: window.tolist() for alpha, window in p.items()} for p in preds]


@pytest.mark.parametrize("seed", range(30))
def test_moc_matches_reference(seed: int) -> None:
    num_classes = int(2 + seed % 7)
    preds, targets = random_anticipation(seed, num_videos=6, num_classes=num_classes)
    expected = ref.moc_scores(ref_lists(preds), lists(targets), OBSERVE, PREDICT)
    assert_scores_close(moc_scores(preds, targets, num_classes=num_classes), expected)
    alpha, beta = OBSERVE[seed % 2], PREDICT[seed % 4]
    single = mean_over_classes(
        [p[alpha] for p in preds], targets, alpha, beta, num_classes=num_classes
    )
    assert single == pytest.approx(expected[f"moc_obs{round(alpha * 100)}_pred{round(beta * 100)}"])


@pytest.mark.parametrize("seed", range(8))
def test_moc_metric_class_over_batches(seed: int) -> None:
    preds, targets = random_anticipation(500 + seed, num_videos=10, num_classes=5)
    metric = MeanOverClasses(num_classes=5)
    for p, t in zip(preds, targets):
        metric.update({a: torch.as_tensor(w) for a, w in p.items()}, torch.as_tensor(t))
    expected = ref.moc_scores(ref_lists(preds), lists(targets), OBSERVE, PREDICT)
    assert_scores_close(metric.compute(), expected)
    assert_scores_close(moc_scores(preds, targets, num_classes=5), expected)
    assert list(metric.compute()) == [
        f"moc_obs{a}_pred{b}" for a in (20, 30) for b in (10, 20, 30, 50)
    ]
    for name, reduce in metric._reductions.items():
        assert reduce.__name__ == "dim_zero_sum", name


def test_moc_window_end_can_fall_one_frame_short() -> None:
    """Find videos where int((α+β)·T) differs from the exact bound and check both agree."""
    short = [
        (alpha, beta, num_frames)
        for alpha in OBSERVE
        for beta in PREDICT
        for num_frames in range(1, 2000)
        if int((alpha + beta) * num_frames)
        != (round((alpha + beta) * 100) * num_frames) // 100
        and int((alpha + beta) * num_frames) > int(alpha * num_frames)
    ]
    assert short, "expected floating point to cut some windows one frame short"
    for alpha, beta, num_frames in short[:: max(1, len(short) // 25)]:
        start, end = moc_window(num_frames, alpha, beta)
        assert end == (round((alpha + beta) * 100) * num_frames) // 100 - 1
        # The frame just past the window is wrongly predicted: counting it would change MoC.
        target = np.zeros(num_frames, dtype=np.int64)
        target[end:] = 1
        window = np.zeros(int((alpha + 0.5) * num_frames) - start, dtype=np.int64)
        mine = mean_over_classes([window], [target], alpha, beta, num_classes=2)
        theirs = ref.moc_scores([{alpha: window.tolist()}], [target.tolist()], (alpha,), (beta,))
        assert mine == pytest.approx(next(iter(theirs.values())), abs=TOL)
        assert mine == 100.0


def test_moc_edge_cases() -> None:
    # end/none prediction (index 3 of 3 classes) is wrong; classes without support ignored
    target = np.array([0] * 10 + [1] * 10)
    window = np.array([3] * 6 + [1] * 10)
    # α=.2: frames [4, 6) for β=.1 -> class 0, both predicted 3 -> 0 %
    assert mean_over_classes([window], [target], 0.2, 0.1, num_classes=3) == 0.0
    # β=.5: frames [4, 14): class 0 frames 4..9 all wrong, class 1 frames 10..13 right -> 50 %
    assert mean_over_classes([window], [target], 0.2, 0.5, num_classes=3) == 50.0
    # no frames in any window: no class with support -> 0, not NaN
    empty = moc_scores([{0.2: [], 0.3: []}], [[1]], num_classes=2)
    assert all(value == 0.0 for value in empty.values())
    assert moc_scores([], [], num_classes=2) == {k: 0.0 for k in empty}


def test_moc_rejects_short_windows_and_bad_fractions() -> None:
    with pytest.raises(ValueError, match="need 10"):
        moc_scores([{0.2: [0] * 9, 0.3: [0] * 10}], [[0] * 20], num_classes=1)
    with pytest.raises(ValueError, match="impossible"):
        MeanOverClasses(num_classes=2, observe=(0.6,), predict=(0.5,))


# --- one metric path: the classes Task.evaluate feeds give the functions' result --------


def exact(scores: dict) -> dict[str, float]:
    return {key: float(value) for key, value in scores.items()}


@pytest.mark.parametrize("seed", range(6))
def test_metric_classes_give_the_functions_result_to_the_last_bit(seed: int) -> None:
    """Video by video (as ``Task.evaluate`` feeds them) and in uneven batches, over more than
    8 videos (where numpy's pairwise sum would round Edit differently)."""
    preds, targets = random_videos(2000 + seed, num_videos=25, num_classes=5)
    expected = segmentation_scores(preds, targets, background=(0,))
    for bounds in (range(26), (0, 3, 4, 17, 25)):
        metric = SegmentationMetrics(background=(0,))
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            metric.update(preds[lo:hi], targets[lo:hi])
        assert exact(metric.compute()) == expected
    windows, truths = random_anticipation(3000 + seed, num_videos=12, num_classes=5)
    moc = MeanOverClasses(num_classes=5)
    for by_alpha, truth in zip(windows, truths):
        moc.update(by_alpha, truth)
    assert exact(moc.compute()) == moc_scores(windows, truths, num_classes=5)


# --- batching: the whole batch is processed at once ----------------------------------


def test_batch_with_empty_videos_and_videos_without_segments() -> None:
    """Empty videos and all-background videos between others must not shift any segment."""
    preds, targets = random_videos(21, num_videos=10, num_classes=4)
    empty = np.zeros(0, dtype=np.int64)
    preds[3:3] = [empty, np.zeros(5, dtype=np.int64), np.array([1, 1, 2])]
    targets[3:3] = [empty, np.array([0, 0, 3, 3, 0]), np.zeros(3, dtype=np.int64)]
    preds.append(empty)
    targets.append(empty)
    expected = ref.segmentation_scores(lists(preds), lists(targets), (0,))
    assert_scores_close(segmentation_scores(preds, targets, background=(0,)), expected)
    # video by video, through the Metric class
    metric = SegmentationMetrics(background=(0,))
    for p, t in zip(preds, targets):
        metric.update(torch.as_tensor(p), torch.as_tensor(t))
    assert_scores_close(metric.compute(), expected)


def test_levenshtein_chunks_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny chunk budget: every video (and the longest ones alone) in its own table."""
    from mmfuse.metrics.functional import segmentation as functional

    preds, targets = random_videos(33, num_videos=30, num_classes=5)
    expected = ref.segmentation_scores(lists(preds), lists(targets), (0,))
    for cells in (1, 500, 5_000):
        monkeypatch.setattr(functional, "_LEVENSHTEIN_CELLS", cells)
        assert_scores_close(segmentation_scores(preds, targets, background=(0,)), expected)


def test_metric_accepts_a_2d_batch_of_equal_length_videos() -> None:
    rng = np.random.default_rng(4)
    targets = np.stack([random_segmentation(rng, 64, 5) for _ in range(6)])
    preds = np.stack([perturb(rng, t, 5) for t in targets])
    metric = SegmentationMetrics(overlaps=(0.1, 0.5))
    metric.update(torch.as_tensor(preds), torch.as_tensor(targets))
    expected = ref.segmentation_scores(lists(list(preds)), lists(list(targets)), (), (0.1, 0.5))
    assert_scores_close(metric.compute(), expected)


def official_scored_frames(num_frames: int, obs_p: float, p: float, pred_p: float = 0.5) -> range:
    """The frames R3D's ``evaluation/predict_utkinects.py`` and ``utils.eval_file`` score, built
    the way they build them: observed labels plus ``int(pred_p * T)`` decoded ones, cut to
    ``int((obs_p + p) * T)``, scored from ``int(obs_p * T)`` to ``min(len(prediction), T)``."""
    past_len = int(obs_p * num_frames)
    future_len = int(pred_p * num_frames)
    prediction = ["past"] * past_len + ["future"] * future_len
    eval_prediction = prediction[: int((obs_p + p) * num_frames)]
    last_frame = min(len(eval_prediction), num_frames)
    return range(int(obs_p * num_frames), last_frame)


def test_moc_window_is_the_official_one_for_every_length() -> None:
    capped = 0
    for num_frames in range(10, 2001):
        for alpha in OBSERVE:
            for beta in PREDICT:
                start, end = moc_window(num_frames, alpha, beta)
                official = official_scored_frames(num_frames, alpha, beta)
                assert (start, end) == (official.start, official.stop), (num_frames, alpha, beta)
                capped += end < int((alpha + beta) * num_frames)
    assert capped, "the decoded window (int(0.5 T) frames) never bound: the test checks nothing new"
