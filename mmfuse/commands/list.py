"""List registered plugins (fusions, regularizers, encoders, temporal models, tasks, datasets)."""
from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape

from mmfuse.errors import ConfigError
from mmfuse.registry import REGISTRIES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", nargs="?", help=f"one of: {', '.join(REGISTRIES)} (default: all)")
    parser.add_argument("--filter", default="*", help="fnmatch pattern on names, e.g. 'afft*'")


def run(args: argparse.Namespace) -> int:
    console = Console(highlight=False, soft_wrap=True)
    if args.kind is not None and args.kind not in REGISTRIES:
        raise ConfigError(f"Unknown plugin kind {args.kind!r}. Kinds: {', '.join(REGISTRIES)}.")
    kinds = [args.kind] if args.kind else list(REGISTRIES)
    for kind in kinds:
        registry = REGISTRIES[kind]
        console.print(f"[bold]{kind}[/bold]")
        for name in registry.list(args.filter):
            console.print(escape(f"  {name:<20} {registry.describe(name)}"))
    return 0
