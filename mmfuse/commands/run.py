"""Train and evaluate one configuration (one run; `fusion=single` runs each modality)."""
from __future__ import annotations

import argparse

from mmfuse.commands.hydra_app import compose_config, launch, parse_overrides
from mmfuse.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "example: mmfuse run fusion=concat task=anticipation seed=10"
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. fusion=concat task=segmentation")


def run(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    if any(o.is_sweep_override() for o in parse_overrides(overrides)):
        raise ConfigError("`mmfuse run` runs one configuration; use `mmfuse bench` for a grid (a=x,y).")
    compose_config(overrides)
    outcomes = launch(overrides, multirun=False)
    return 1 if any(o.status == "failed" for o in outcomes) else 0
