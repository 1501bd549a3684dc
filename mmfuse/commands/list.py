"""List registered plugins (fusions, regularizers, encoders, temporal models, tasks, datasets, corruptions).

With kind `experiment`: the experiments `mmfuse bench experiment=NAME` runs, each with its first comment line."""
from __future__ import annotations

import argparse
import difflib
import fnmatch
from importlib.resources import files

from rich.console import Console
from rich.markup import escape

from mmfuse.errors import ConfigError
from mmfuse.registry import REGISTRIES

EXPERIMENT = "experiment"
KINDS = (*REGISTRIES, EXPERIMENT)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", nargs="?", help=f"one of: {', '.join(KINDS)} (default: all)")
    parser.add_argument("--filter", default="*", help="fnmatch pattern on names, e.g. 'afft*'")


def experiments(pattern: str = "*") -> dict[str, str]:
    """Each experiment config's name and its first comment line (after ``# @package``), read without
    Hydra (``mmfuse list`` starts fast)."""
    described = {}
    for path in sorted(files("mmfuse.configs").joinpath(EXPERIMENT).iterdir(), key=lambda p: p.name):
        name = path.name[: -len(".yaml")]
        if path.name.endswith(".yaml") and fnmatch.fnmatchcase(name, pattern):
            text = path.read_text()
            comments = [line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("#")]
            described[name] = next((c for c in comments if not c.startswith("@package")), "")
    return described


def run(args: argparse.Namespace) -> int:
    console = Console(highlight=False, soft_wrap=True)
    if args.kind is not None and args.kind not in KINDS:
        close = difflib.get_close_matches(args.kind, KINDS, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"Unknown kind {args.kind!r}.{hint} Kinds: {', '.join(KINDS)}.")
    for kind in [args.kind] if args.kind else KINDS:
        if kind == EXPERIMENT:
            described = experiments(args.filter)
        else:
            described = REGISTRIES[kind].catalogue(args.filter)
        console.print(f"[bold]{kind}[/bold]")
        for name, description in described.items():
            console.print(escape(f"  {name:<24} {description}"))
    return 0
