"""The `mmfuse` command line."""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import sys
from pathlib import Path

from mmfuse import __version__
from mmfuse.errors import MmfuseError

COMMANDS = ("bench", "run", "config", "list", "leaderboard", "plot", "evaluate", "validate", "extract")


def command_doc(name: str) -> str:
    """A command module's docstring, read from its source: importing the module can import torch."""
    origin = importlib.util.find_spec(f"mmfuse.commands.{name}").origin  # type: ignore[union-attr]
    return (ast.get_docstring(ast.parse(Path(origin).read_text())) or "").strip()  # type: ignore[arg-type]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command; only ``command``'s module is imported for its arguments (``None``:
    none), so `mmfuse --help` starts without torch."""
    parser = argparse.ArgumentParser(
        prog="mmfuse",
        description="Benchmark multimodal fusion methods on action anticipation and segmentation.",
    )
    parser.add_argument("--version", action="version", version=f"mmfuse {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        doc = command_doc(name)
        sub = subparsers.add_parser(name, help=doc.splitlines()[0] if doc else "", description=doc)
        if name == command:
            module = importlib.import_module(f"mmfuse.commands.{name}")
            module.add_arguments(sub)
            sub.set_defaults(handler=module.run)
    return parser


def chosen_command(argv: list[str]) -> str | None:
    """The command ``argv`` names: its first word that is not an option."""
    first = next((word for word in argv if not word.startswith("-")), None)
    return first if first in COMMANDS else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(chosen_command(argv)).parse_args(argv)
    try:
        return int(args.handler(args))
    except MmfuseError as error:
        from rich.console import Console
        from rich.markup import escape

        Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]error:[/red] {escape(str(error))}")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
