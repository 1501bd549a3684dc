"""The body of one Hydra job: one grid cell (or one per modality for ``fusion=single``)."""
from __future__ import annotations

import json
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.markup import escape

from mmfuse.config import chosen_config, task_options
from mmfuse.engine.datasets import LoadedDataset, load_dataset
from mmfuse.engine.device import resolve_device
from mmfuse.engine.gpus import claimed_gpu
from mmfuse.engine.trainer import TrainBudget, train_and_evaluate
from mmfuse.errors import ConfigError, MmfuseError
from mmfuse.registry import create_task
from mmfuse.results.cells import NAMING_GROUPS, REFERENCES_FILE, NamingReferences
from mmfuse.results.records import (
    FAILURE_FILE,
    RunRecord,
    adopt_run,
    finished_elsewhere,
    is_finished,
    run_directory,
    write_json_atomic,
)

OUTCOME_FILE = "outcome.json"

console = Console(stderr=True, highlight=False)


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
    outcomes = []
    try:
        dataset = load_dataset(resolved["dataset"], in_memory=bool(resolved.get("features_in_memory")))
        variants = expand_single(resolved, dataset.adapter.modalities)
    except MmfuseError as error:
        outcomes.append(_failure(resolved, choices, references, error))
        variants = []
    with claimed_gpu(launch_dir, shared_gpus(resolved["device"])) as gpu:
        for variant in variants:
            outcomes.append(run_cell(on_gpu(variant, gpu), choices, references, dataset))
    output_dir = Path(hydra_cfg.runtime.output_dir)
    write_json_atomic(output_dir / OUTCOME_FILE, [asdict(o) for o in outcomes])
    return outcomes


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
) -> CellOutcome:
    label, cell, hash8 = references.describe(resolved, choices, dataset.fingerprint)
    task_name, seed = resolved["task"]["name"], int(resolved["seed"])
    run_dir = run_directory(Path(resolved["paths"]["runs"]), task_name, label, cell, seed, hash8)
    title = escape(f"{task_name} / {label} / {cell} seed={seed}")
    if is_finished(run_dir):
        console.print(f"[dim]↷ {title}: finished before, skipped ({escape(str(run_dir))})[/dim]")
        return CellOutcome("skipped", task_name, label, cell, seed, str(run_dir))
    source = finished_elsewhere(run_dir)
    if source is not None:
        adopt_run(source, run_dir, label, resolved)
        console.print(f"[dim]↷ {title}: the same data finished before under another label; copied from "
                      f"{escape(str(source))}, not retrained[/dim]")
        return CellOutcome("skipped", task_name, label, cell, seed, str(run_dir))
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / FAILURE_FILE).unlink(missing_ok=True)
    started = time.perf_counter()
    try:
        task = create_task(task_name, **task_options(resolved))
        device = resolve_device(resolved["device"])
        outcome = train_and_evaluate(
            dataset=dataset.adapter,
            train_videos=dataset.train,
            test_videos=dataset.test,
            task=task,
            modalities=dataset.adapter.modalities,
            encoder_cfg=resolved["encoder"],
            fusion_cfg=resolved["fusion"],
            temporal_cfg=chosen_config(resolved, "temporal"),
            regularizer_cfg=resolved["regularizer"],
            dim=resolved["model"]["dim"],
            hidden=resolved["model"]["hidden"],
            max_len=resolved["model"]["max_len"],
            shared_encoder=resolved["model"]["shared_encoder"],
            budget=TrainBudget(**resolved["dataset"].get("train", {})).for_task(task_name),
            seed=seed,
            device=device,
            run_dir=run_dir,
            description=f"{cell} seed={seed}",
        )
    except Exception as error:  # a failed run is recorded, never marked finished
        detail = traceback.format_exc()
        (run_dir / FAILURE_FILE).write_text(detail)
        message = str(error) if isinstance(error, MmfuseError) else f"{type(error).__name__}: {error} (see {run_dir / FAILURE_FILE})"
        console.print(f"[red]✗[/red] {title}: {escape(message)}")
        return CellOutcome("failed", task_name, label, cell, seed, str(run_dir), message)
    record = RunRecord(
        task=task_name,
        dataset=label,
        cell=cell,
        method=resolved["fusion"]["name"],
        seed=seed,
        hash=hash8,
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
        device=str(device),
        config=resolved,
    )
    record.write(run_dir)
    shown = escape("  ".join(f"{c.header} {outcome.metrics[c.key]:.1f}" for c in task.columns[:4]))
    console.print(f"[green]✓[/green] {title}: {shown} … ({record.wall_seconds:.1f} s)")
    return CellOutcome("finished", task_name, label, cell, seed, str(run_dir))
