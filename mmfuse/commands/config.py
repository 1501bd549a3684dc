"""Print the config a run composes (checked as `mmfuse run` checks it), without running anything.

With `experiment=NAME` it is the experiment's config, its `grid` and `extra_cells` included: what
`mmfuse bench experiment=NAME` sweeps.
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "examples: mmfuse config fusion=rtf task=anticipation | mmfuse config experiment=r3d"
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as for `mmfuse run`")
    parser.add_argument("--resolve", action="store_true", help="resolve interpolations such as ${model.dim}")


def run(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from mmfuse.commands.hydra_app import compose_config

    print(OmegaConf.to_yaml(compose_config(list(args.overrides)), resolve=args.resolve), end="")
    return 0
