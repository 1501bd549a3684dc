"""Draw the figures of run records: robustness under corruption, spectra, rank gains, training curves (PNG and PDF)."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from mmfuse.errors import MmfuseError
from mmfuse.figures import draw_figures
from mmfuse.results.leaderboard import separate_datasets
from mmfuse.results.records import load_records


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs_dir", nargs="?", default="runs", help="directory of run records (default: runs)")
    parser.add_argument("--out", default="leaderboards", help="where to write the figures (default: leaderboards)")


def run(args: argparse.Namespace) -> int:
    runs = Path(args.runs_dir)
    if not runs.is_dir():
        raise MmfuseError(f"{runs}: no such directory of run records; run `mmfuse bench` first or give RUNS_DIR")
    records = load_records(runs)
    if not records:
        raise MmfuseError(f"{runs}: no finished run records (result.json) found")
    console = Console(highlight=False, soft_wrap=True)
    for warning in separate_datasets(records):
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    written = draw_figures(records, Path(args.out))
    if not written:
        console.print(f"No figures: the records under {escape(str(runs))} hold no corrupted runs, spectra, rank gains or training curves")
    for path in written:
        console.print(escape(str(path)))
    return 0
