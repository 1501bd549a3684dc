"""Run records -> leaderboards on disk and on the terminal."""
from __future__ import annotations

from pathlib import Path
from typing import Collection, Sequence

from rich.console import Console
from rich.markup import escape

from mmfuse.results.aggregate import long_table, summary
from mmfuse.results.baselines import ReportedTable, reported_rows
from mmfuse.results.records import load_records
from mmfuse.results.render import Leaderboard, build_leaderboards, print_leaderboards, wide_console, write_leaderboards


def make_leaderboards(
    runs_root: Path,
    only: Collection[tuple[str, str]] | None = None,
    baselines: Sequence[ReportedTable] | None = None,
) -> list[Leaderboard]:
    """Leaderboards of every (task, dataset) with finished runs, or only of those in ``only``,
    with the matching reported rows of ``baselines`` (default: the shipped ``baselines/``), all
    rendered from one long table of both."""
    records = load_records(runs_root)
    if only is not None:
        records = [r for r in records if (r["task"], r["dataset"]) in only]
    if not records:
        return []
    return build_leaderboards(summary(long_table(records, reported_rows(records, baselines))))


def publish(boards: list[Leaderboard], directory: Path, console: Console | None = None) -> list[Path]:
    """Print every board and write it in every format under ``directory``."""
    console = console or wide_console()
    print_leaderboards(boards, console)
    written = write_leaderboards(boards, directory)
    if written:
        console.print(escape(f"Leaderboards written to {directory}/ ({', '.join(sorted({p.stem for p in written}))})"))
    return written
