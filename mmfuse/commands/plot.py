"""Draw the figures of run records: robustness under corruption, spectra, rank gains, training curves (PNG and PDF)."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from mmfuse.commands import leaderboard
from mmfuse.errors import MmfuseError
from mmfuse.figures import draw_figures
from mmfuse.results.leaderboard import board_records


def add_arguments(parser: argparse.ArgumentParser) -> None:
    leaderboard.add_arguments(parser, written="the figures, beside the leaderboards")


def run(args: argparse.Namespace) -> int:
    runs = leaderboard.runs_directory(args.runs_dir)
    records = board_records(runs)  # one figure per data, as one board
    if not records:
        raise MmfuseError(f"{runs}: no finished run records (result.json) found")
    console = Console(highlight=False, soft_wrap=True)
    written = draw_figures(records, Path(args.out))
    if not written:
        console.print(f"No figures: the records under {escape(str(runs))} hold no corrupted runs, "
                      "spectra, rank gains or training curves")
    for path in written:
        console.print(escape(str(path)))
    return 0
