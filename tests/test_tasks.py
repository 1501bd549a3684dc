"""The task contract, for every registered task, plus the decoding and windowing rules."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmfuse.data.video import Video
from mmfuse.metrics.functional import frame_accuracy
from mmfuse.models.backbone import build_backbone
from mmfuse.registry import create_dataset, create_task, list_tasks
from mmfuse.tasks.anticipation import decode, expand_transcript, observe, transcript
from mmfuse.tasks.base import TaskModel, expand_to_frames, length_batches
from mmfuse.tasks.segmentation import video_logits

MODALITIES = ["m0", "m1"]


@pytest.fixture(scope="module")
def data():
    dataset = create_dataset("synthetic", num_train=4, num_test=3, min_frames=60, max_frames=90, seed=3)
    return dataset, dataset.videos("train"), dataset.videos("test")


def model_for(task, dataset, temporal: str = "tcn") -> TaskModel:
    torch.manual_seed(0)
    backbone = build_backbone(
        MODALITIES, dataset.feature_dims, 16, 16, {"name": "projection"}, {"name": "concat"},
        {"name": temporal, "layers": 3}, num_classes=dataset.num_classes,
    )
    return TaskModel(backbone, task.build_head(16, dataset.num_classes))


@pytest.mark.parametrize("temporal", ["tcn", "mstcn"])  # single stage; a loss on every stage
@pytest.mark.parametrize("name", list_tasks())
def test_task_contract(name, temporal, data):
    dataset, train, test = data
    task = create_task(name)
    model = model_for(task, dataset, temporal)
    rng = np.random.default_rng(0)
    plan = task.plan(train, 2, 32, np.random.default_rng(0))
    batches = list(task.batches(train, MODALITIES, 2, 32, rng))
    assert len(plan) == len(batches) and all(len(samples) <= 2 for samples in plan)
    assert batches and all(b.mask.shape == b.feats["m0"].shape[:2] for b in batches)
    if name == "anticipation":
        assert max(b.mask.shape[1] for b in batches) <= 32  # observed parts are subsampled to max_len

    loss, fused, logs = task.loss(model, batches[0])
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert all(np.isfinite(v) for v in logs.values())
    loss.backward()
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not unused, f"parameters without gradient: {unused}"

    model.eval()
    cpu = torch.device("cpu")
    pairs = list(task.predictions(model, test, MODALITIES, max_len=32, batch_size=4, device=cpu))
    assert [target.tolist() for _, target in pairs] == [v.labels.tolist() for v in test]  # every video, in order
    metrics = task.evaluate(
        model, test, MODALITIES, num_classes=dataset.num_classes, background=[], max_len=32, batch_size=4, device=cpu
    ).metrics
    assert list(metrics) == [c.key for c in task.columns]
    assert all(0.0 <= v <= 100.0 and np.isfinite(v) for v in metrics.values())
    assert len({c.header for c in task.columns}) == len(task.columns)


@pytest.mark.parametrize("name", list_tasks())
def test_evaluation_scores_every_video_alone_and_pools_the_same_totals(name, data):
    """Per-video scores are the task's metric on each video alone; the board's metrics stay those of
    one metric fed every video (``forward`` adds each video's statistics to the running sums)."""
    dataset, _, test = data
    task = create_task(name)
    model = model_for(task, dataset).eval()
    cpu = torch.device("cpu")
    scores = task.evaluate(model, test, MODALITIES, num_classes=dataset.num_classes, background=[1], max_len=32,
                           batch_size=4, device=cpu)
    pairs = list(task.predictions(model, test, MODALITIES, max_len=32, batch_size=4, device=cpu))
    pooled = task.metric(dataset.num_classes, [1])
    for prediction, target in pairs:
        pooled.update(prediction, target)
    assert scores.metrics == {key: float(value) for key, value in pooled.compute().items()}
    assert scores.videos == [video.name for video in test]
    assert list(scores.per_video) == list(scores.metrics)
    for v, (prediction, target) in enumerate(pairs):
        alone = task.metric(dataset.num_classes, [1])
        alone.update(prediction, target)
        assert {key: values[v] for key, values in scores.per_video.items()} == {
            key: float(value) for key, value in alone.compute().items()
        }


def test_segmentation_per_video_scores_average_to_edit_and_weight_to_accuracy(data):
    """Edit is the mean of its per-video scores; pooled accuracy is their frame-weighted mean."""
    dataset, _, test = data
    task = create_task("segmentation")
    model = model_for(task, dataset).eval()
    scores = task.evaluate(model, test, MODALITIES, num_classes=dataset.num_classes, background=[], max_len=32,
                           batch_size=4, device=torch.device("cpu"))
    assert scores.metrics["edit"] == pytest.approx(np.mean(scores.per_video["edit"]), abs=1e-12)
    frames = [video.num_frames for video in test]
    assert scores.metrics["accuracy"] == pytest.approx(np.average(scores.per_video["accuracy"], weights=frames))
    pairs = task.predictions(model, test, MODALITIES, max_len=32, batch_size=4, device=torch.device("cpu"))
    assert scores.per_video["accuracy"] == [frame_accuracy(p, t) for p, t in pairs]


def test_transcript_and_expansion_round_trip():
    labels = np.array([2, 2, 2, 5, 5, 1, 1, 1, 1, 1])
    classes, durations = transcript(labels)
    assert classes.tolist() == [2, 5, 1] and np.allclose(durations, [0.3, 0.2, 0.5])
    assert expand_transcript(classes, durations, 10).tolist() == labels.tolist()
    # durations are renormalised over the decoded segments, as FUTR does
    assert expand_transcript(classes, durations * 3, 10).tolist() == labels.tolist()


def test_decoding_stops_at_the_first_end_query_and_falls_back_when_it_is_first():
    end = 4
    logits = np.zeros((5, end + 1))
    logits[0, 2] = 1.0  # the first query's most likely real class
    durations = np.array([0.5, 0.5, 0.9, 0.9, 0.9])
    assert decode(np.array([1, 3, end, 0, 0]), durations, logits, 8, end).tolist() == [1] * 4 + [3] * 4
    # R3D's predict_utkinects.py: an empty transcript leaves every frame to the last query's class
    assert decode(np.array([end, 1, 1, 1, 3]), durations, logits, 6, end).tolist() == [3] * 6
    # ... and where that is the end class too, the first query's best real class, never "end"
    assert decode(np.array([end, 1, 1, 1, end]), durations, logits, 6, end).tolist() == [2] * 6


def test_anticipation_targets_end_once_then_padding():
    task = create_task("anticipation", num_queries=5)
    task.build_head(8, num_classes=7)
    labels = np.array([0] * 30 + [2] * 20 + [5] * 20 + [1] * 30)
    video = Video("v", {"m0": np.zeros((100, 2), np.float32)}, labels)
    classes, durations = task._targets(observe(video, 0.3, 0.5, 512))  # future: frames 30..79
    assert classes.tolist() == [2, 5, 1, 7, -100] and np.allclose(durations, [0.4, 0.4, 0.2, -1, -1])
    many = Video("w", {"m0": np.zeros((100, 2), np.float32)}, np.repeat(np.arange(7) % 3, [30, 10, 10, 10, 10, 10, 20]))
    classes, _ = task._targets(observe(many, 0.3, 0.5, 512))  # five future segments fill all 5 queries: no end token
    assert classes.tolist() == [1, 2, 0, 1, 2]


def test_anticipation_trains_every_video_at_every_alpha(data):
    _, train, _ = data
    task = create_task("anticipation", train_observe=[0.2, 0.25, 0.3])
    plan = task.plan(train, 4, 64, np.random.default_rng(0))
    seen = sorted((o.video.name, o.alpha) for batch in plan for o in batch)
    assert seen == sorted((v.name, a) for v in train for a in (0.2, 0.25, 0.3))


@pytest.mark.parametrize("pool", [1, 2, 100])
def test_length_pools_cover_every_sample_and_cut_padding(data, pool):
    _, train, _ = data
    task = create_task("anticipation", train_observe=[0.2, 0.3, 0.5], length_pool=pool)
    plan = task.plan(train, 2, 64, np.random.default_rng(1))
    assert sorted((o.video.name, o.alpha) for b in plan for o in b) == sorted((v.name, a) for v in train for a in (0.2, 0.3, 0.5))
    if pool == 100:  # one pool: every batch holds neighbours in length, so padding is minimal
        lengths = sorted(len(o.steps) for b in plan for o in b)
        assert sum(max(len(o.steps) for o in b) * len(b) for b in plan) == sum(
            max(lengths[i : i + 2]) * len(lengths[i : i + 2]) for i in range(0, len(lengths), 2)
        )


def test_transition_weight_scales_samples_whose_future_starts_a_new_action():
    logits = torch.randn(2, 3, 5)
    classes = torch.tensor([[1, 4, -100], [2, 3, 4]])
    last_observed = torch.tensor([1, 0])  # sample 0 continues its action, sample 1 changes
    plain = create_task("anticipation")._class_loss(logits, classes, last_observed)
    weighted = create_task("anticipation", transition_weight=10.0)._class_loss(logits, classes, last_observed)
    ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), classes, ignore_index=-100, reduction="none")
    assert plain == pytest.approx((ce.sum() / 5).item())
    assert weighted == pytest.approx(((ce[0].sum() + 10 * ce[1].sum()) / 5).item())


def test_observation_windows_follow_the_protocol():
    video = Video("v", {"m0": np.zeros((50, 2), np.float32)}, np.zeros(100, np.int64), sample_rate=2)
    obs = observe(video, 0.3, 0.5, max_len=512)
    assert (obs.future_start, obs.future_end) == (int(0.3 * 100), int(0.3 * 100) + int(0.5 * 100))
    assert obs.steps.tolist() == list(range(15))  # frames 0, 2, ..., 28 are before int(0.3 T)
    short = observe(video, 0.3, 0.5, max_len=4)
    assert len(short.steps) == 4 and short.steps[0] == 0 and short.steps[-1] == 14
    assert observe(video, 0.001, 0.5, max_len=8) is None


def test_segmentation_logits_cover_every_frame(data):
    """Batched with longer videos, each video still gets its own whole-video logits (nothing cut,
    no padding leaking in), and every frame, the last odd one too, gets its step's label."""
    dataset, _, test = data
    cpu = torch.device("cpu")
    model = model_for(create_task("segmentation"), dataset).eval()
    alone = {video.name: logits for v in test for video, logits in video_logits(model, [v], MODALITIES, 1, cpu)}
    assert len({v.num_steps for v in test}) > 1 and any(v.num_frames % v.sample_rate for v in test)
    for video, logits in video_logits(model, test, MODALITIES, batch_size=len(test), device=cpu):
        np.testing.assert_allclose(logits, alone[video.name], atol=1e-5)
        frames = expand_to_frames(np.arange(len(logits)), video.sample_rate, video.num_frames)
        assert frames.tolist() == [frame // video.sample_rate for frame in range(video.num_frames)]


def test_segmentation_trains_on_every_whole_video_once_per_epoch(data):
    _, train, _ = data
    plan = create_task("segmentation").plan(train, 3, 8, np.random.default_rng(0))
    assert sorted(v.name for batch in plan for v in batch) == sorted(v.name for v in train)
    batch = create_task("segmentation").collate(plan[0], MODALITIES)
    assert batch.mask.sum(1).tolist() == [v.num_steps for v in plan[0]]  # no crop, however short max_len


def test_length_batches_bound_videos_and_padded_steps():
    lengths = [10, 500, 40, 300, 1000, 20]
    batches = length_batches(lengths, batch_size=2, max_steps=700)
    assert sorted(i for b in batches for i in b) == list(range(6))
    assert batches[0] == [4]  # longer than the budget: alone
    assert all(len(b) <= 2 and len(b) * max(lengths[i] for i in b) <= 700 for b in batches[1:])


@pytest.mark.parametrize(
    "options",
    [{"predict": [0.7]}, {"observe": [0.0]}, {"observe": [0.6], "future": 0.5}, {"train_observe": []},
     {"transition_weight": 0}, {"length_pool": 0}],
)
def test_impossible_anticipation_options_are_config_errors(options):
    from mmfuse.errors import ConfigError

    with pytest.raises(ConfigError):
        create_task("anticipation", **options)


def test_constant_prediction_diagnostics():
    from mmfuse.tasks.anticipation import constant_predictions

    predictions = {
        "a": {0.2: np.array([3, 3, 3]), 0.3: np.array([1, 2, 2])},
        "b": {0.2: np.array([3, 3]), 0.3: np.array([2, 2])},
    }
    found = constant_predictions(predictions, (0.2, 0.3))
    assert found == {"constant_windows": 0.75, "same_class_for_every_video_at": [0.2]}


def test_anticipation_evaluation_records_its_diagnostics(data):
    dataset, _, test = data
    task = create_task("anticipation")
    model = model_for(task, dataset).eval()
    task.evaluate(model, test, MODALITIES, num_classes=dataset.num_classes, background=[], max_len=32,
                  batch_size=4, device=torch.device("cpu"))
    assert 0.0 <= task.diagnostics["constant_windows"] <= 1.0
    assert 0.0 <= task.diagnostics["empty_transcript_windows"] <= 1.0
    assert set(task.diagnostics["same_class_for_every_video_at"]) <= {0.2, 0.3}
