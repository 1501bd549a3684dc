"""Composing configs and launching Hydra jobs from the CLI."""
from __future__ import annotations

import difflib
import itertools
import math
import sys
from contextlib import contextmanager
from dataclasses import asdict
from importlib.resources import files
from pathlib import Path
from typing import Iterator

import hydra
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mmfuse.commands.config_checks import check_key, check_value, check_values
from mmfuse.config import options, task_options
from mmfuse.engine.progress import write_progress
from mmfuse.errors import ConfigError
from mmfuse.registry import create_corruption, create_task
from mmfuse.results.cells import NAMING_GROUPS, REFERENCES_FILE, NamingReferences, choice_key
from mmfuse.results.records import write_json_atomic

CONFIG_MODULE = "mmfuse.configs"
GROUPS = ("corruption", "dataset", "encoder", "experiment", "fusion", "regularizer", "task", "temporal")


def group_options(group: str) -> list[str]:
    """Config names available in one group (``configs/<group>/*.yaml``)."""
    folder = files(CONFIG_MODULE) / group
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def check_group_choices(overrides: list[str]) -> None:
    """An unknown ``group=name`` fails with the closest names and the list of what exists.

    With ``hydra.searchpath`` (configs of out-of-tree plugins) Hydra itself reports unknowns.
    """
    parsed = parse_overrides(overrides)
    if any(o.key_or_group == "hydra.searchpath" for o in parsed):
        return
    for override in parsed:
        group = override.key_or_group
        if group not in GROUPS or override.is_delete():
            continue
        values = list(override.sweep_string_iterator()) if override.is_sweep_override() else [override.value()]
        available = group_options(group)
        for value in values:
            if value is not None and str(value) not in available:
                close = difflib.get_close_matches(str(value), available, n=3, cutoff=0.5)
                hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                kind = "temporal" if group == "temporal" else group
                raise ConfigError(
                    f"Unknown {group} {value!r}.{hint} Available: {', '.join(available)}."
                    f" Run `mmfuse list {kind}` to see them all."
                )


def parse_overrides(overrides: list[str]):
    try:
        return OverridesParser.create().parse_overrides(overrides)
    except HydraException as error:
        raise ConfigError(f"Cannot parse the overrides {overrides}: {error}") from None


@contextmanager
def hydra_context() -> Iterator[None]:
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module=CONFIG_MODULE, version_base=None):
        yield


def compose_config(overrides: list[str]) -> DictConfig:
    """The root config with ``overrides`` (none of them a sweep), every key and value checked;
    config errors become ``ConfigError``."""
    check_sweeps([overrides])
    with hydra_context():
        cfg = _compose(overrides)
    check_values(OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]
    check_task(cfg)
    check_corruption(cfg)
    return cfg


def check_sweeps(sweeps: list[list[str]]) -> None:
    """Refuse an unknown group choice, key or value in any of ``sweeps`` (each value of a sweep axis),
    checked against the config each choice of config groups composes (``config_checks``)."""
    references: dict[tuple[str, ...], dict] = {}
    for overrides in sweeps:
        check_group_choices(overrides)
        parsed = parse_overrides(overrides)
        settings = [(text, o) for text, o in zip(overrides, parsed) if not chooses(o) and not o.is_delete()]
        for job in choosing_overrides(overrides):
            chosen = tuple(text for text, o in zip(job, parse_overrides(job)) if chooses(o))
            if chosen not in references:
                with hydra_context():
                    references[chosen] = OmegaConf.to_container(_compose(list(chosen)), resolve=True)  # type: ignore[assignment]
            for text, override in settings:
                check_key(override.key_or_group, text, references[chosen])
                values = list(override.sweep_iterator()) if override.is_sweep_override() else [override.value()]
                for value in values:
                    check_value(override.key_or_group, value, references[chosen], text)


def chooses(override) -> bool:
    """Whether ``override`` chooses a config (a group, an experiment) or sets Hydra, not a value."""
    key = override.key_or_group
    return key in GROUPS or "/" in key or key == "hydra" or key.startswith("hydra.")


def _compose(overrides: list[str], return_hydra_config: bool = False) -> DictConfig:
    try:
        return compose(config_name="config", overrides=overrides, return_hydra_config=return_hydra_config)
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(f"Invalid configuration: {error}") from None


def check_corruption(cfg: DictConfig) -> None:
    """Build the test-time corruption once so an impossible level or fill fails before any training."""
    resolved = OmegaConf.to_container(cfg.corruption, resolve=True)
    create_corruption(str(resolved["name"]), **options(resolved))  # type: ignore[arg-type]


def check_task(cfg: DictConfig) -> None:
    """Build the task once so impossible options (e.g. α + β > 1) fail before any training."""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    try:
        create_task(cfg.task.name, **task_options(resolved))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"task {cfg.task.name!r} cannot take the options {task_options(resolved)}: {error}") from None


def launch(overrides: list[str], multirun: bool, directory: Path, progress: tuple[int, int, float] | None = None) -> list:
    """Run ``mmfuse.engine.job.run_job`` through Hydra (a sweep when ``multirun``) in ``directory``
    (Hydra's run or sweep directory), beside the ``NamingReferences`` of its jobs, composed here,
    and, for a sweep in a grid, ``progress``: its grid's jobs launched before, their total, and when
    the grid started (``engine.progress``).

    Returns the outcomes of the jobs that ran in this process (all of them with the default
    launcher; none with launchers that start other processes, whose outcomes are on disk).
    """
    from mmfuse.engine.job import run_job

    Path(directory).mkdir(parents=True, exist_ok=True)
    write_json_atomic(Path(directory) / REFERENCES_FILE, asdict(naming_references(overrides)))
    if progress is not None:
        write_progress(Path(directory), *progress)
    outcomes: list = []

    @hydra.main(version_base=None, config_path=f"pkg://{CONFIG_MODULE}", config_name="config")
    def app(cfg: DictConfig) -> None:
        outcomes.extend(run_job(cfg))

    GlobalHydra.instance().clear()
    saved = sys.argv
    where = f"hydra.{'sweep' if multirun else 'run'}.dir={directory}"
    sys.argv = ["mmfuse", *(["--multirun"] if multirun else []), *overrides, where]
    try:
        app()
    finally:
        sys.argv = saved
        GlobalHydra.instance().clear()
    return outcomes


def naming_references(overrides: list[str]) -> NamingReferences:
    """What the jobs of ``overrides`` (a sweep or one run) name their cells against (see
    ``NamingReferences``), composed once per distinct choice of config groups among them."""
    references = NamingReferences()
    with hydra_context():
        for job in choosing_overrides(overrides):
            composed = _compose(job, return_hydra_config=True)
            choices = {group: str(composed.hydra.runtime.choices.get(group)) for group in NAMING_GROUPS}
            searchpath = list(composed.hydra.searchpath)
            keep = [f"hydra.searchpath=[{','.join(searchpath)}]"] if searchpath else []
            key, task, adapter = choice_key(choices), choices["task"], str(composed.dataset.name)
            if key not in references.roots:
                references.roots[key] = _reference([*keep, *(f"{g}={choices[g]}" for g in NAMING_GROUPS)])[0]
            if task not in references.task_choices:
                references.task_choices[task] = _reference([*keep, f"task={task}"])[1]
            if adapter not in references.adapters:
                references.adapters[adapter] = _reference([*keep, f"dataset={adapter}"])[0]["dataset"]
    return references


def _reference(overrides: list[str]) -> tuple[dict, dict]:
    """The resolved root config with ``overrides`` (and nothing else), and its ``NAMING_GROUPS`` choices."""
    composed = _compose(overrides, return_hydra_config=True)
    choices = {group: composed.hydra.runtime.choices.get(group) for group in NAMING_GROUPS}
    del composed.hydra
    return OmegaConf.to_container(composed, resolve=True), choices  # type: ignore[return-value]


def count_jobs(overrides: list[str]) -> int:
    """The jobs a sweep over ``overrides`` launches: the product of its axes' lengths (a later
    override of a key replaces an earlier one, as in Hydra's basic sweeper)."""
    lengths: dict[str, int] = {}
    for override in parse_overrides(overrides):
        lengths[override.get_key_element()] = len(list(override.sweep_string_iterator())) if override.is_sweep_override() else 1
    return math.prod(lengths.values())


def choosing_overrides(overrides: list[str]) -> list[list[str]]:
    """The distinct override lists that decide what the jobs of ``overrides`` choose: every plain
    override with each combination of the sweeps over config groups (other sweeps set values only).
    As Hydra's basic sweeper, a later override of a key replaces an earlier one."""
    axes: dict[str, list[str]] = {}
    for text, override in zip(overrides, parse_overrides(overrides)):
        key = override.get_key_element()
        if not override.is_sweep_override():
            axes[key] = [text]
        elif override.key_or_group in GROUPS or "/" in override.key_or_group:
            axes[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
        else:
            axes.pop(key, None)
    return [list(job) for job in itertools.product(*axes.values())]


def to_yaml(cfg: DictConfig) -> str:
    return OmegaConf.to_yaml(cfg)
