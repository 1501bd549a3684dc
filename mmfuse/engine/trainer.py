"""Train one model on one dataset for one task, evaluate it, and save it."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from mmfuse.analysis.representations import measure_representations
from mmfuse.config import options
from mmfuse.data.base import DatasetAdapter
from mmfuse.data.video import Video
from mmfuse.engine.device import autocast, needs_grad_scaler
from mmfuse.engine.memory import PeakMemory, return_large_buffers
from mmfuse.engine.prefetch import prefetched
from mmfuse.engine.schedule import build_optimizer
from mmfuse.engine.seeding import seed_everything
from mmfuse.errors import MmfuseError
from mmfuse.models.backbone import build_backbone
from mmfuse.registry import create_regularizer
from mmfuse.tasks.base import Evaluation, Task, TaskModel

PREFETCH = 2  # training batches built ahead in a background thread (engine.prefetch)
MODEL_FILE = "model.pt"  # the trained weights in a run directory, loaded again by corrupted evaluations


@dataclass
class TrainBudget:
    """Training budget; each dataset config carries its own under ``train:``."""

    epochs: int = 30
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-2
    warmup_epochs: int = 2
    grad_clip: float = 1.0
    eval_batch_size: int = 16
    task_epoch_scale: dict[str, float] = field(default_factory=dict)  # e.g. {anticipation: 0.3}

    def for_task(self, task: str) -> "TrainBudget":
        """This budget for one task: ``epochs`` (at least 1) and ``warmup_epochs`` times the task's
        scale, where the dataset gives one, so ``dataset.train.epochs=N`` still sets every task's length."""
        scale = float(self.task_epoch_scale.get(task, 1.0))
        return replace(self, epochs=max(1, round(self.epochs * scale)), warmup_epochs=round(self.warmup_epochs * scale))


@dataclass
class RunOutcome:
    metrics: dict[str, float]
    effective_rank: dict[str, float]
    parameters: int
    peak_memory_mb: float | None  # see PeakMemory
    train_seconds: float
    eval_seconds: float
    final_loss: float
    train_logs: dict[str, float] = field(default_factory=dict)  # loss terms, mean over the last epoch
    train_curves: dict[str, list[float]] = field(default_factory=dict)  # loss and each term, mean per epoch
    representation: dict[str, Any] = field(default_factory=dict)  # collapse diagnostics (analysis.representations)
    per_video: dict[str, list[float]] = field(default_factory=dict)  # metric -> each test video's score (tasks.base.Evaluation)
    videos: list[str] = field(default_factory=list)  # the test videos' names, in the order of ``per_video``


@dataclass(frozen=True)
class ModelSpec:
    """What builds a run's model: its parts' configs and widths (``build_backbone``)."""

    modalities: Sequence[str]
    encoder: Mapping[str, Any]
    fusion: Mapping[str, Any]
    temporal: Mapping[str, Any]
    dim: int
    hidden: int
    max_len: int
    shared_encoder: bool = False

    def build(self, dataset: DatasetAdapter, videos: Sequence[Video], task: Task) -> TaskModel:
        feature_dims = {m: int(videos[0].features[m].shape[1]) for m in self.modalities}
        backbone = build_backbone(
            self.modalities, feature_dims, self.dim, self.hidden, dict(self.encoder), dict(self.fusion),
            dict(self.temporal), self.shared_encoder, num_classes=dataset.num_classes,
        )
        return TaskModel(backbone, task.build_head(self.hidden, dataset.num_classes))


def train_and_evaluate(
    *,
    dataset: DatasetAdapter,
    train_videos: Sequence[Video],
    test_videos: Sequence[Video],
    task: Task,
    spec: ModelSpec,
    regularizer_cfg: Mapping[str, Any],
    budget: TrainBudget,
    seed: int,
    device: torch.device,
    run_dir: Path | None = None,
    description: str = "train",
) -> RunOutcome:
    """The whole protocol of one run: seeded build, AdamW + warm-up/cosine training, evaluation."""
    return_large_buffers()
    rng = seed_everything(seed)
    memory = PeakMemory(device)
    model = spec.build(dataset, train_videos, task).to(device)
    used = list(model.backbone.fuser.modalities)
    regularizer = create_regularizer(regularizer_cfg["name"], **options(regularizer_cfg))

    steps_per_epoch = len(task.plan(train_videos, budget.batch_size, spec.max_len, np.random.default_rng(0)))
    total_steps = steps_per_epoch * budget.epochs
    optimizer, scheduler = build_optimizer(
        model, budget.lr, budget.weight_decay, total_steps, budget.warmup_epochs * steps_per_epoch
    )
    scaler = torch.amp.GradScaler("cuda", enabled=needs_grad_scaler(device))

    started = time.perf_counter()
    last_loss = float("nan")
    curves: dict[str, list[float]] = {}
    with _progress() as progress:
        bar = progress.add_task(description, total=total_steps, loss=float("nan"))
        for _ in range(budget.epochs):
            model.train()
            epoch_logs: dict[str, list[float]] = {}
            for batch in prefetched(task.batches(train_videos, used, budget.batch_size, spec.max_len, rng), PREFETCH):
                batch = batch.to(device)
                with autocast(device):
                    loss, fused, task_logs = task.loss(model, batch)
                    reg_loss, reg_logs = regularizer(fused.embeddings, fused.tokens, batch.mask)
                    loss = loss + reg_loss
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), budget.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                last_loss = float(loss.detach())
                for key, value in {"loss": last_loss, **task_logs, **reg_logs}.items():
                    epoch_logs.setdefault(key, []).append(float(value))
                progress.update(bar, advance=1, loss=last_loss)
            for key, values in epoch_logs.items():
                curves.setdefault(key, []).append(float(np.mean(values)))
    train_seconds = time.perf_counter() - started

    evaluated = evaluate(model, dataset, test_videos, task, spec, budget.eval_batch_size, device)
    if run_dir is not None:
        torch.save(model.state_dict(), run_dir / MODEL_FILE)
    return outcome_of(
        model, memory, evaluated,
        train_seconds=train_seconds,
        final_loss=last_loss,
        train_logs={key: values[-1] for key, values in curves.items() if key != "loss"},
        train_curves=curves,
    )


def evaluate_saved(
    model_path: Path,
    *,
    dataset: DatasetAdapter,
    train_videos: Sequence[Video],
    test_videos: Sequence[Video],
    task: Task,
    spec: ModelSpec,
    eval_batch_size: int,
    device: torch.device,
) -> RunOutcome:
    """Evaluate the model a run saved (``model.pt``) on ``test_videos``, e.g. corrupted ones: no
    training, so ``train_seconds`` is 0 and the loss fields are empty."""
    return_large_buffers()
    memory = PeakMemory(device)
    model = spec.build(dataset, train_videos, task)
    try:
        model.load_state_dict(torch.load(model_path, map_location="cpu", weights_only=True))
    except (RuntimeError, OSError) as error:
        raise MmfuseError(
            f"cannot load the trained model {model_path}: {error.__class__.__name__}: {str(error).splitlines()[0]}. "
            f"It was saved by another version of mmfuse or another config; delete {model_path.parent} to train it again."
        ) from None
    model.to(device)
    evaluated = evaluate(model, dataset, test_videos, task, spec, eval_batch_size, device)
    return outcome_of(model, memory, evaluated, train_seconds=0.0, final_loss=float("nan"))


def outcome_of(model: TaskModel, memory: PeakMemory, evaluated: tuple, **training: Any) -> RunOutcome:
    """A run's outcome from its model, its memory, ``evaluate``'s result and its training fields."""
    scores, erank, representation, eval_seconds = evaluated
    return RunOutcome(
        metrics=scores.metrics,
        per_video=scores.per_video,
        videos=scores.videos,
        effective_rank=erank,
        parameters=sum(p.numel() for p in model.parameters()),
        peak_memory_mb=memory.mb(),
        eval_seconds=eval_seconds,
        representation=representation,
        **training,
    )


def evaluate(
    model: TaskModel,
    dataset: DatasetAdapter,
    test_videos: Sequence[Video],
    task: Task,
    spec: ModelSpec,
    batch_size: int,
    device: torch.device,
) -> tuple[Evaluation, dict[str, float], dict[str, Any], float]:
    """The task's scores (per video too), the representations' effective ranks and collapse diagnostics
    (``measure_representations``) over ``test_videos``, and the seconds it took."""
    model.eval()
    started = time.perf_counter()
    used = list(model.backbone.fuser.modalities)
    background = [dataset.classes.index(name) for name in dataset.background]
    scores = task.evaluate(
        model,
        test_videos,
        used,
        num_classes=dataset.num_classes,
        background=background,
        max_len=spec.max_len,
        batch_size=batch_size,
        device=device,
    )
    erank, representation = measure_representations(model, test_videos, used, batch_size, device)
    return scores, erank, representation, time.perf_counter() - started


def _progress() -> Progress:
    """A training bar on stderr, shown on a terminal only (a transient bar leaves a blank line in a file)."""
    console = Console(stderr=True)
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.3f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=console,
        disable=not console.is_terminal,
    )
