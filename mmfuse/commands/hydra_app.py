"""Composing configs and launching Hydra jobs from the CLI."""
from __future__ import annotations

import difflib
import sys
from contextlib import contextmanager
from importlib.resources import files
from typing import Iterator

import hydra
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mmfuse.config import task_options
from mmfuse.errors import ConfigError
from mmfuse.registry import create_task

CONFIG_MODULE = "mmfuse.configs"
GROUPS = ("dataset", "encoder", "experiment", "fusion", "regularizer", "task", "temporal")


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
    """The root config with ``overrides`` (none of them a sweep); config errors become ``ConfigError``."""
    check_group_choices(overrides)
    try:
        with hydra_context():
            cfg = compose(config_name="config", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(f"Invalid configuration: {error}") from None
    check_task(cfg)
    return cfg


def check_task(cfg: DictConfig) -> None:
    """Build the task once so impossible options (e.g. α + β > 1) fail before any training."""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    create_task(cfg.task.name, **task_options(resolved))


def launch(overrides: list[str], multirun: bool) -> list:
    """Run ``mmfuse.engine.job.run_job`` through Hydra (a sweep when ``multirun``).

    Returns the outcomes of the jobs that ran in this process (all of them with the default
    launcher; none with launchers that start other processes, whose outcomes are on disk).
    """
    from mmfuse.engine.job import run_job

    outcomes: list = []

    @hydra.main(version_base=None, config_path=f"pkg://{CONFIG_MODULE}", config_name="config")
    def app(cfg: DictConfig) -> None:
        outcomes.extend(run_job(cfg))

    GlobalHydra.instance().clear()
    saved = sys.argv
    sys.argv = ["mmfuse", *(["--multirun"] if multirun else []), *overrides]
    try:
        app()
    finally:
        sys.argv = saved
        GlobalHydra.instance().clear()
    return outcomes


def to_yaml(cfg: DictConfig) -> str:
    return OmegaConf.to_yaml(cfg)
