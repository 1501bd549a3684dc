"""The `mmfuse` command line."""
from __future__ import annotations

import argparse
import importlib
import sys

from rich.console import Console
from rich.markup import escape

from mmfuse import __version__
from mmfuse.errors import MmfuseError

COMMANDS = ("bench", "run", "config", "list", "leaderboard", "plot", "evaluate", "validate", "extract")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmfuse",
        description="Benchmark multimodal fusion methods on action anticipation and segmentation.",
    )
    parser.add_argument("--version", action="version", version=f"mmfuse {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"mmfuse.commands.{name}")
        summary = (module.__doc__ or "").strip().splitlines()[0]
        sub = subparsers.add_parser(name, help=summary, description=(module.__doc__ or "").strip())
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except MmfuseError as error:
        Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]error:[/red] {escape(str(error))}")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
