"""Seeding, schedules, device choice, mixed precision and peak memory; one run end to end."""
from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

from mmfuse.engine.device import autocast, needs_grad_scaler, resolve_device
from mmfuse.engine.memory import CLEAR_REFS, PeakMemory
from mmfuse.engine.schedule import build_optimizer, warmup_cosine
from mmfuse.engine.seeding import seed_everything
from mmfuse.engine.trainer import ModelSpec, TrainBudget, train_and_evaluate
from mmfuse.errors import ConfigError
from mmfuse.registry import create_dataset, create_fusion, create_task


def test_warmup_then_cosine():
    factor = warmup_cosine(total_steps=100, warmup_steps=10)
    assert factor(0) == pytest.approx(1 / 11)
    assert factor(9) == pytest.approx(10 / 11)
    assert factor(10) == pytest.approx(1.0)
    assert factor(55) == pytest.approx(0.5)
    assert factor(100) == pytest.approx(0.0, abs=1e-12)
    values = [factor(s) for s in range(10, 101)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_no_weight_decay_on_biases_and_norms():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3))
    optimizer, _ = build_optimizer(model, 1e-3, 0.1, 10, 1)
    decayed, plain = optimizer.param_groups
    assert decayed["weight_decay"] == 0.1 and [p.ndim for p in decayed["params"]] == [2]
    assert plain["weight_decay"] == 0.0 and len(plain["params"]) == 3


def test_modules_keep_rtf_alpha_and_its_batchnorm_out_of_weight_decay():
    fuser = create_fusion("rtf", modalities=["a", "b"], dim=8, preset="official")
    assert fuser.scorer == "bn_gamma" and fuser.alpha is not None
    model = torch.nn.ModuleDict({"fuser": fuser, "head": torch.nn.Linear(8, 3)})
    decayed, plain = build_optimizer(model, 1e-3, 0.1, 10, 1)[0].param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    kept_out = {id(p) for p in plain["params"]}
    assert {id(fuser.alpha), id(fuser.bn.weight), id(fuser.bn.bias)} <= kept_out
    assert id(model["head"].weight) not in kept_out and any(p is model["head"].weight for p in decayed["params"])
    assert create_fusion("rtf", modalities=["a", "b"], dim=8, mode="static").no_weight_decay() == set()


def test_device_choice():
    assert resolve_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA device"):
            resolve_device("cuda")


@pytest.mark.filterwarnings("ignore:CUDA is not available")
@pytest.mark.parametrize("bf16", [True, False])
def test_mixed_precision_is_bf16_on_cuda_else_fp16_with_a_grad_scaler(bf16, monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert isinstance(autocast(cpu), contextlib.nullcontext) and not needs_grad_scaler(cpu)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: bf16)
    context = autocast(cuda)
    assert isinstance(context, torch.autocast) and context.device == "cuda"
    assert context.fast_dtype == (torch.bfloat16 if bf16 else torch.float16)
    assert needs_grad_scaler(cuda) is not bf16


def test_seeding_is_deterministic():
    first = seed_everything(5).random(3), torch.rand(3)
    second = seed_everything(5).random(3), torch.rand(3)
    assert np.array_equal(first[0], second[0]) and torch.equal(first[1], second[1])


def run(seed: int, tmp_path=None, fusion: str = "concat"):
    dataset = create_dataset("synthetic", num_train=4, num_test=2, min_frames=60, max_frames=80)
    return train_and_evaluate(
        dataset=dataset,
        train_videos=dataset.videos("train"),
        test_videos=dataset.videos("test"),
        task=create_task("segmentation"),
        spec=ModelSpec(dataset.modalities, {"name": "projection"}, {"name": fusion}, {"name": "tcn", "layers": 3}, 16, 16, 32),
        regularizer_cfg={"name": "none"},
        budget=TrainBudget(epochs=2, batch_size=2),
        seed=seed,
        device=torch.device("cpu"),
        run_dir=tmp_path,
    )


def test_training_is_deterministic_under_a_seed_and_saves_the_model(tmp_path):
    a, b, c = run(1, tmp_path), run(1), run(2)
    assert a.metrics == b.metrics and a.final_loss == b.final_loss
    assert a.final_loss != c.final_loss
    state = torch.load(tmp_path / "model.pt")
    assert any(k.startswith("backbone.fuser") for k in state) and any(k.startswith("head.") for k in state)
    assert set(a.effective_rank) == {"m0", "m1", "m0/blended", "m1/blended", "stacked", "fused"}
    assert all(v > 0 for v in a.effective_rank.values())
    assert a.effective_rank["m0/blended"] == a.effective_rank["m0"]  # concat's streams are its inputs
    assert a.parameters > 0 and a.peak_memory_mb > 0
    assert {"ce", "smooth"} <= set(a.train_logs) and all(np.isfinite(v) for v in a.train_logs.values())


def test_fusers_with_streams_record_their_rank_after_fusion():
    outcome = run(1, fusion="rtf")
    assert set(outcome.effective_rank) == {"m0", "m1", "m0/blended", "m1/blended", "stacked", "fused"}
    assert outcome.representation["spectra"].keys() == outcome.effective_rank.keys()
    assert set(outcome.representation["rank_gain"]) == {"m0", "m1"}
    assert run(1, fusion="afft_sa").effective_rank.keys() == {"m0", "m1", "fused"}


def test_a_dataset_may_scale_a_tasks_epochs():
    budget = TrainBudget(epochs=14, task_epoch_scale={"anticipation": 0.43})
    assert budget.for_task("anticipation").epochs == 6 and budget.for_task("segmentation").epochs == 14
    assert budget.for_task("anticipation").lr == budget.lr
    assert budget.for_task("anticipation").warmup_epochs == 1 and budget.for_task("segmentation").warmup_epochs == 2
    assert TrainBudget(epochs=1, task_epoch_scale={"anticipation": 0.43}).for_task("anticipation").epochs == 1


@pytest.mark.skipif(not CLEAR_REFS.exists(), reason="the peak RSS of a run is measured on Linux")
def test_a_run_reports_its_own_peak_memory_not_an_earlier_runs():
    earlier = PeakMemory(torch.device("cpu"))
    spike = np.ones(512 * 2**20 // 8)  # 512 MiB, written
    earlier_peak = earlier.mb()
    del spike
    later = run(1)
    assert 0 < later.peak_memory_mb < earlier_peak - 256
