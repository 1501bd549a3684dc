"""Aggregate run records into leaderboard tables (terminal, Markdown, CSV, LaTeX, HTML)."""
from __future__ import annotations

import argparse
from pathlib import Path

from mmfuse.errors import MmfuseError
from mmfuse.results.leaderboard import board_records, leaderboards_of, publish
from mmfuse.results.report import write_report


def add_arguments(parser: argparse.ArgumentParser, written: str = "the tables") -> None:
    parser.add_argument("runs_dir", nargs="?", default="runs", help="directory of run records (default: runs)")
    parser.add_argument("--out", default="leaderboards", help=f"where to write {written} (default: leaderboards)")


def runs_directory(runs_dir: str) -> Path:
    """The directory of run records named on the command line; it must exist."""
    runs = Path(runs_dir)
    if not runs.is_dir():
        raise MmfuseError(f"{runs}: no such directory of run records; run `mmfuse bench` first or give RUNS_DIR")
    return runs


def run(args: argparse.Namespace) -> int:
    runs = runs_directory(args.runs_dir)
    records = board_records(runs)
    boards = leaderboards_of(records)
    if not boards:
        raise MmfuseError(f"{runs}: no finished run records (result.json) found")
    publish(boards, Path(args.out))
    print(f"Report written to {write_report(boards, records, Path(args.out))}")
    return 0
