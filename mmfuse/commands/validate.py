"""Check a dataset without training: one line per problem, non-zero exit if any error."""
from __future__ import annotations

import argparse

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.markup import escape

from mmfuse.commands.hydra_app import compose_config
from mmfuse.engine.datasets import LoadedDataset, build_adapter, check_dataset, load_dataset
from mmfuse.corruptions.base import check_modality
from mmfuse.errors import DataError, MmfuseError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "example: mmfuse validate dataset=folder dataset.root=PATH"
    parser.add_argument("overrides", nargs="*", help="Hydra overrides selecting the dataset, e.g. dataset=folder dataset.root=PATH")


def report_dataset(cfg: DictConfig, console: Console, bench: bool = False) -> int:
    """Print every problem of the configured dataset; return the number of errors.

    For a bench, warnings are only counted and a dataset that cannot be read at all raises. The
    videos the check read stay in this process (``engine.datasets.check_dataset``) for the bench's
    jobs and validate's summary: validating costs no second read.
    """
    dataset_cfg = OmegaConf.to_container(cfg.dataset, resolve=True)
    try:
        issues = check_dataset(dataset_cfg)
    except MmfuseError as error:
        if bench:
            raise
        console.print(f"[red]error:[/red] {escape(str(error))}", highlight=False, soft_wrap=True)
        return 1
    warnings = [issue for issue in issues if issue.severity == "warning"]
    if warnings and bench:
        console.print(
            f"[yellow]{cfg.dataset.name}: {len(warnings)} warning(s)[/yellow] (known quirks of the data, each handled by "
            "a stated rule; `mmfuse validate` with the same dataset options lists them)",
            highlight=False,
            soft_wrap=True,
        )
        issues = [issue for issue in issues if issue.severity == "error"]
    for issue in issues:
        colour = "red" if issue.severity == "error" else "yellow"
        console.print(
            f"[{colour}]{issue.severity}:[/{colour}] {escape(issue.location)}: {escape(issue.message)}",
            highlight=False,
            soft_wrap=True,
        )
    return sum(issue.severity == "error" for issue in issues)


def check_launch_datasets(cfgs: list[DictConfig], console: Console) -> None:
    """Validate each dataset a launch (`run` or `bench`) trains on before anything runs; raise
    ``DataError`` when one cannot be used, so that a mistake is reported the same way by both."""
    for cfg in cfgs:
        if report_dataset(cfg, console, bench=True) > 0:
            raise DataError(f"{cfg.dataset.name}: the dataset has errors (above); nothing was run. Fix them, or check with `mmfuse validate`.")
        check_corrupted_modality(cfg)


def check_corrupted_modality(cfg: DictConfig) -> None:
    """A test-time corruption of a modality the dataset does not have fails before anything runs."""
    modality = cfg.corruption.get("modality") if cfg.corruption.name != "none" else None
    if modality is not None:
        modalities = build_adapter(OmegaConf.to_container(cfg.dataset, resolve=True)).modalities
        check_modality(modality, modalities, cfg.dataset.name)


def run(args: argparse.Namespace) -> int:
    console = Console()
    cfg = compose_config(list(args.overrides))
    errors = report_dataset(cfg, console)
    name = cfg.dataset.name
    if errors:
        console.print(f"[red]{name}: {errors} error(s).[/red]")
        return 2
    console.print(f"[green]{name}: no errors.[/green]")
    console.print(escape(summary(load_dataset(OmegaConf.to_container(cfg.dataset, resolve=True)))), highlight=False, soft_wrap=True)
    return 0


def summary(dataset: LoadedDataset) -> str:
    """What a valid dataset holds: classes, videos per split, modalities and their feature widths."""
    adapter = dataset.adapter
    background = f" ({len(adapter.background)} background: {', '.join(adapter.background)})" if adapter.background else ""
    widths = ", ".join(f"{m} ({adapter.feature_dims[m]})" for m in adapter.modalities)
    return (
        f"{adapter.num_classes} classes{background}; {len(dataset.train)} training and {len(dataset.test)} test videos;"
        f" modalities (feature width): {widths}."
    )
