"""Aggregate run records into leaderboard tables (terminal, Markdown, CSV, LaTeX, HTML)."""
from __future__ import annotations

import argparse
from pathlib import Path


from mmfuse.errors import MmfuseError
from mmfuse.results.leaderboard import make_leaderboards, publish


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs_dir", nargs="?", default="runs", help="directory of run records (default: runs)")
    parser.add_argument("--out", default="leaderboards", help="where to write the tables (default: leaderboards)")


def run(args: argparse.Namespace) -> int:
    runs = Path(args.runs_dir)
    if not runs.is_dir():
        raise MmfuseError(f"{runs}: no such directory of run records; run `mmfuse bench` first or give RUNS_DIR")
    boards = make_leaderboards(runs)
    if not boards:
        raise MmfuseError(f"{runs}: no finished run records (result.json) found")
    publish(boards, Path(args.out))
    return 0
