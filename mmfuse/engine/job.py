"""The body of one Hydra job: one grid cell (or one per modality for ``fusion=single``)."""
from __future__ import annotations

import json
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.markup import escape

from mmfuse.config import chosen_config, options, task_options
from mmfuse.corruptions import Corruption, corrupt_videos
from mmfuse.corruptions.base import check_modality
from mmfuse.engine.datasets import LoadedDataset, load_dataset
from mmfuse.engine.device import resolve_device
from mmfuse.engine.gpus import claimed_gpu
from mmfuse.engine.locks import held_lock
from mmfuse.engine.progress import progress_line
from mmfuse.engine.threads import use_threads
from mmfuse.engine.trainer import MODEL_FILE, ModelSpec, RunOutcome, TrainBudget, evaluate_saved, train_and_evaluate
from mmfuse.errors import ConfigError, MmfuseError
from mmfuse.registry import create_corruption, create_task
from mmfuse.results.cells import NAMING_GROUPS, REFERENCES_FILE, NamingReferences, is_corrupted
from mmfuse.results.metric_notes import named_header
from mmfuse.results.records import (
    FAILURE_FILE,
    RunRecord,
    adopt_run,
    finished_elsewhere,
    is_finished,
    run_directory,
    write_json_atomic,
)
from mmfuse.tasks.base import Task

OUTCOME_FILE = "outcome.json"
LOCK_FILE = ".lock"  # held while a run trains (engine.locks)
NO_CORRUPTION = {"name": "none"}

console = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class CellOutcome:
    """What happened to one cell of one job: ``finished``, ``skipped`` or ``failed``."""

    status: str
    task: str
    dataset: str
    cell: str
    seed: int
    run_dir: str
    message: str = ""


def run_job(cfg: DictConfig) -> list[CellOutcome]:
    """Run every cell this job stands for, skipping finished ones; never raises for a failed cell."""
    hydra_cfg = HydraConfig.get()
    choices = {group: str(hydra_cfg.runtime.choices.get(group)) for group in NAMING_GROUPS}
    launch_dir = Path(hydra_cfg.sweep.dir if hydra_cfg.mode == RunMode.MULTIRUN else hydra_cfg.run.dir)
    references = read_naming_references(launch_dir)
    resolved: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    use_threads(resolved.get("threads", "auto"), hydra_cfg.launcher)
    announce(launch_dir, hydra_cfg, resolved)
    outcomes = []
    try:
        dataset = load_dataset(resolved["dataset"], in_memory=bool(resolved.get("features_in_memory")))
        variants = [
            corrupted
            for variant in expand_single(resolved, dataset.adapter.modalities)
            for corrupted in expand_corruption(variant, dataset.adapter.modalities)
        ]
    except MmfuseError as error:
        outcomes.append(_failure(resolved, choices, references, error))
        variants = []
    with claimed_gpu(launch_dir, shared_gpus(resolved["device"])) as gpu:
        for variant in variants:
            outcomes.extend(run_cell(on_gpu(variant, gpu), choices, references, dataset))
    output_dir = Path(hydra_cfg.runtime.output_dir)
    write_json_atomic(output_dir / OUTCOME_FILE, [asdict(o) for o in outcomes])
    return outcomes


def announce(launch_dir: Path, hydra_cfg: Any, resolved: dict[str, Any]) -> None:
    """In a grid, the job's place in it, time elapsed and an estimate of the time left (``engine.progress``)."""
    line = progress_line(launch_dir, int(hydra_cfg.job.num)) if hydra_cfg.mode == RunMode.MULTIRUN else None
    if line is not None:
        what = f"{resolved['task']['name']} / {resolved['fusion']['name']} seed={resolved['seed']}"
        console.print(escape(f"{line}: {what}"), style="bold")


def shared_gpus(device: str) -> int:
    """GPUs this job shares with the launch's other jobs: all of them for ``device=auto``."""
    return torch.cuda.device_count() if device == "auto" else 0


def on_gpu(resolved: dict[str, Any], gpu: int | None) -> dict[str, Any]:
    """The cell's config on the GPU its job claimed (``device`` is not part of a run's hash)."""
    return resolved if gpu is None else {**resolved, "device": f"cuda:{gpu}"}


def expand_single(resolved: dict[str, Any], modalities: list[str]) -> list[dict[str, Any]]:
    """``fusion=single`` without a modality stands for one cell per modality of the dataset."""
    fusion = resolved["fusion"]
    if fusion["name"] != "single" or fusion.get("modality") is not None:
        return [resolved]
    return [{**resolved, "fusion": {**fusion, "modality": modality}} for modality in modalities]


def expand_corruption(resolved: dict[str, Any], modalities: list[str]) -> list[dict[str, Any]]:
    """A corruption without a modality stands for one cell per modality the cell's fuser uses
    (``fusion=single``: its own modality); a modality the dataset does not have is an error."""
    corruption = resolved["corruption"]
    if not is_corrupted(corruption):
        return [resolved]
    modality = corruption.get("modality")
    check_modality(modality, modalities, resolved["dataset"]["name"])
    single = resolved["fusion"]["name"] == "single"
    chosen = [modality] if modality is not None else [resolved["fusion"]["modality"]] if single else modalities
    return [{**resolved, "corruption": {**corruption, "modality": m}} for m in chosen]


def read_naming_references(launch_dir: Path) -> NamingReferences:
    """The references the launching process composed for this launch (see ``commands.hydra_app.launch``)."""
    path = launch_dir / REFERENCES_FILE
    if not path.is_file():
        raise ConfigError(f"{path} is missing: run jobs through `mmfuse run` or `mmfuse bench`, which write it")
    return NamingReferences(**json.loads(path.read_text()))


def _failure(
    resolved: dict[str, Any], choices: dict[str, str], references: NamingReferences, error: BaseException
) -> CellOutcome:
    label, cell, _ = references.describe(resolved, choices)
    console.print(escape(f"✗ {resolved['task']['name']} / {label} / {cell} seed={resolved['seed']}: {error}"), style="red")
    return CellOutcome("failed", resolved["task"]["name"], label, cell, int(resolved["seed"]), "", str(error))


def run_cell(
    resolved: dict[str, Any],
    choices: dict[str, str],
    references: NamingReferences,
    dataset: LoadedDataset,
) -> list[CellOutcome]:
    """Run one cell: train and evaluate it, or, for a cell with a test-time corruption, evaluate the
    model its clean cell trained (training that cell first if it has not finished)."""
    try:
        corruption = create_corruption(resolved["corruption"]["name"], **options(resolved["corruption"]))
    except MmfuseError as error:  # a value of a swept axis no check saw before launch
        return [_failure(resolved, choices, references, error)]
    resolved = {**resolved, "corruption": corruption.settings()}
    cell = describe_run(resolved, choices, references, dataset)
    if is_finished(cell.run_dir):
        console.print(f"[dim]↷ {cell.title}: finished before, skipped ({escape(str(cell.run_dir))})[/dim]")
        return [cell.outcome("skipped")]
    if not is_corrupted(resolved["corruption"]):
        with held_lock(cell.run_dir / LOCK_FILE):  # parallel jobs needing one model train it once
            return [train_cell(resolved, cell, dataset)]
    clean = {**resolved, "corruption": NO_CORRUPTION}
    model_run = describe_run(clean, choices, references, dataset)
    trained = [] if is_finished(model_run.run_dir) else run_cell(clean, choices, references, dataset)
    if any(o.status == "failed" for o in trained):
        return [*trained, cell.outcome("failed", f"its model did not train: {trained[0].message}")]
    trained_now = [o for o in trained if o.status == "finished"]  # reported once, by the job that trained it
    return [*trained_now, evaluate_corrupted(resolved, corruption, cell, model_run, dataset)]


@dataclass(frozen=True)
class DescribedRun:
    """A run's names and where it is written."""

    task: str
    label: str
    cell: str
    seed: int
    hash: str
    run_dir: Path

    @property
    def title(self) -> str:
        return escape(f"{self.task} / {self.label} / {self.cell} seed={self.seed}")

    def outcome(self, status: str, message: str = "") -> CellOutcome:
        return CellOutcome(status, self.task, self.label, self.cell, self.seed, str(self.run_dir), message)


def describe_run(
    resolved: dict[str, Any], choices: dict[str, str], references: NamingReferences, dataset: LoadedDataset
) -> DescribedRun:
    label, cell, hash8 = references.describe(resolved, choices, dataset.fingerprint)
    task_name, seed = resolved["task"]["name"], int(resolved["seed"])
    run_dir = run_directory(Path(resolved["paths"]["runs"]), task_name, label, cell, seed, hash8)
    return DescribedRun(task_name, label, cell, seed, hash8, run_dir)


def model_spec(resolved: dict[str, Any], dataset: LoadedDataset) -> ModelSpec:
    return ModelSpec(
        modalities=dataset.adapter.modalities,
        encoder=resolved["encoder"],
        fusion=resolved["fusion"],
        temporal=chosen_config(resolved, "temporal"),
        dim=resolved["model"]["dim"],
        hidden=resolved["model"]["hidden"],
        max_len=resolved["model"]["max_len"],
        shared_encoder=resolved["model"]["shared_encoder"],
    )


def train_cell(resolved: dict[str, Any], cell: DescribedRun, dataset: LoadedDataset) -> CellOutcome:
    """Train and evaluate a clean cell (or adopt the same data's finished run under another label)."""
    if is_finished(cell.run_dir):  # another job finished it while this one waited for the lock
        return cell.outcome("skipped")
    source = finished_elsewhere(cell.run_dir)
    if source is not None:
        adopt_run(source, cell.run_dir, cell.label, resolved)
        console.print(f"[dim]↷ {cell.title}: the same data finished before under another label; copied from "
                      f"{escape(str(source))}, not retrained[/dim]")
        return cell.outcome("skipped")
    def train() -> tuple[RunOutcome, Task]:
        task = create_task(cell.task, **task_options(resolved))
        device = resolve_device(resolved["device"])
        return train_and_evaluate(
            dataset=dataset.adapter,
            train_videos=dataset.train,
            test_videos=dataset.test,
            task=task,
            spec=model_spec(resolved, dataset),
            regularizer_cfg=resolved["regularizer"],
            budget=TrainBudget(**resolved["dataset"].get("train", {})).for_task(cell.task),
            seed=cell.seed,
            device=device,
            run_dir=cell.run_dir,
            description=f"{cell.cell} seed={cell.seed}",
        ), task

    return recorded(resolved, cell, dataset, train)


def evaluate_corrupted(
    resolved: dict[str, Any], corruption: Corruption, cell: DescribedRun, model_run: DescribedRun, dataset: LoadedDataset
) -> CellOutcome:
    """Evaluate the model of the clean run ``model_run`` on the test videos with ``corruption`` (never retrained)."""

    def reevaluate() -> tuple[RunOutcome, Task]:
        task = create_task(cell.task, **task_options(resolved))
        statistics = dataset.statistics(corruption.modality)
        budget = TrainBudget(**resolved["dataset"].get("train", {}))
        return evaluate_saved(
            model_run.run_dir / MODEL_FILE,
            dataset=dataset.adapter,
            train_videos=dataset.train,
            test_videos=corrupt_videos(dataset.test, corruption, statistics),
            task=task,
            spec=model_spec(resolved, dataset),
            eval_batch_size=budget.eval_batch_size,
            device=resolve_device(resolved["device"]),
        ), task

    return recorded(resolved, cell, dataset, reevaluate, model_run=model_run)


def recorded(
    resolved: dict[str, Any],
    cell: DescribedRun,
    dataset: LoadedDataset,
    produce: Callable[[], tuple[RunOutcome, Task]],
    model_run: DescribedRun | None = None,
) -> CellOutcome:
    """Run ``produce`` for ``cell`` and write its record; a failure is written to ``failure.txt``
    and reported, never marked finished."""
    cell.run_dir.mkdir(parents=True, exist_ok=True)
    (cell.run_dir / FAILURE_FILE).unlink(missing_ok=True)
    started = time.perf_counter()
    try:
        outcome, task = produce()
    except Exception as error:  # a failed run is recorded, never marked finished
        (cell.run_dir / FAILURE_FILE).write_text(traceback.format_exc())
        message = str(error) if isinstance(error, MmfuseError) else f"{type(error).__name__}: {error} (see {cell.run_dir / FAILURE_FILE})"
        console.print(f"[red]✗[/red] {cell.title}: {escape(message)}")
        return cell.outcome("failed", message)
    trained_cell = model_run.cell if model_run else cell.cell
    record = RunRecord(
        task=cell.task,
        dataset=cell.label,
        cell=cell.cell,
        method=resolved["fusion"]["name"],
        seed=cell.seed,
        hash=cell.hash,
        dataset_fingerprint=dataset.fingerprint,
        metrics=outcome.metrics,
        columns=[asdict(c) for c in task.columns],
        effective_rank=outcome.effective_rank,
        diagnostics=dict(task.diagnostics),
        parameters=outcome.parameters,
        peak_memory_mb=outcome.peak_memory_mb,
        train_seconds=outcome.train_seconds,
        eval_seconds=outcome.eval_seconds,
        wall_seconds=time.perf_counter() - started,
        final_loss=outcome.final_loss,
        train_logs=outcome.train_logs,
        device=str(resolve_device(resolved["device"])),
        config=resolved,
        corruption=resolved["corruption"],
        trained_cell=trained_cell,
        trained_in=str(model_run.run_dir) if model_run else "",
        train_curves=outcome.train_curves,
        representation=outcome.representation,
        per_video=outcome.per_video,
        videos=outcome.videos,
        threads=torch.get_num_threads(),
    )
    record.write(cell.run_dir)
    shown = escape("  ".join(f"{named_header(c.key, c.header)} {outcome.metrics[c.key]:.1f}" for c in task.columns[:4]))
    how = f", evaluated the model of {escape(trained_cell)}, not retrained" if model_run else ""
    console.print(f"[green]✓[/green] {cell.title}: {shown} … ({record.wall_seconds:.1f} s for this run{how})")
    return cell.outcome("finished")
