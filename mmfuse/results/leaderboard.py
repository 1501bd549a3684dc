"""Run records -> leaderboards on disk and on the terminal."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Collection, Sequence

from rich.console import Console
from rich.markup import escape

from mmfuse.results.aggregate import long_table, summary
from mmfuse.results.baselines import ReportedTable, reported_rows
from mmfuse.results.cells import condition_name, is_corrupted
from mmfuse.results.records import load_records
from mmfuse.results.render import Leaderboard, build_leaderboards, print_leaderboards, wide_console, write_leaderboards

STDERR = Console(stderr=True, highlight=False)


def make_leaderboards(
    runs_root: Path,
    only: Collection[tuple[str, str]] | None = None,
    baselines: Sequence[ReportedTable] | None = None,
) -> list[Leaderboard]:
    """Leaderboards of every (task, dataset) with finished runs, or only of those in ``only``,
    with the matching reported rows of ``baselines`` (default: the shipped ``baselines/``), all
    rendered from one long table of both; a board per test-time corruption."""
    return leaderboards_of(board_records(runs_root, only), baselines)


def board_records(runs_root: Path, only: Collection[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    """The finished records under ``runs_root`` (of the (task, dataset) pairs in ``only``), each
    dataset's runs under a label of their own (:func:`separate_datasets`, warnings printed)."""
    records = load_records(runs_root)
    if only is not None:
        records = [r for r in records if (r["task"], r["dataset"]) in only]
    for warning in separate_datasets(records):
        STDERR.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    return records


def leaderboards_of(records: Sequence[dict[str, Any]], baselines: Sequence[ReportedTable] | None = None) -> list[Leaderboard]:
    """The boards of ``records`` (:func:`board_records`; left unchanged) and their reported rows."""
    if not records:
        return []
    shown = as_shown(records)
    long = long_table(shown, reported_rows(shown, baselines))
    return build_leaderboards(summary(long), long)


def as_shown(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``records`` labelled as the boards show them (:func:`separate_conditions`)."""
    shown = [dict(record) for record in records]
    separate_conditions(shown)
    return shown


def data_key(record: dict[str, Any]) -> str:
    """What a record's data is: its fingerprint, or for a record written before fingerprints, its
    root folder (``root:<path>``); empty for a dataset read from no root."""
    if record.get("dataset_fingerprint"):
        return str(record["dataset_fingerprint"])
    root = (record.get("config") or {}).get("dataset", {}).get("root")
    return f"root:{root}" if root else ""


def separate_datasets(records: list[dict[str, Any]]) -> list[str]:
    """Never one board for two datasets: where records of one (task, dataset label) hold different
    data (:func:`data_key`), each data gets its own label, ``<label> @<fingerprint or root folder>``,
    so its own board. Relabels ``records`` in place; returns one warning per label split."""
    groups: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}
    for record in records:
        groups.setdefault((record["task"], record["dataset"]), {}).setdefault(data_key(record), []).append(record)
    warnings = []
    for (task, label), by_data in sorted(groups.items()):
        if len(by_data) < 2:
            continue
        shown = []
        suffixes = _suffixes(sorted(by_data))
        for key, members in sorted(by_data.items()):
            suffix = suffixes[key]
            for record in members:
                record["dataset"] = f"{label} @{suffix}"
            roots = sorted({str(m.get("config", {}).get("dataset", {}).get("root")) for m in members})
            shown.append(f"{label} @{suffix} (root {', '.join(roots)})")
        warnings.append(
            f"{task}: runs of {len(by_data)} different datasets carry the label {label!r}; they are shown as "
            f"separate boards, never mixed: {'; '.join(shown)}. Give each dataset its own name "
            "(dataset.label=NAME, or distinct folder names) or its own paths.runs folder."
        )
    return warnings


def separate_conditions(records: list[dict[str, Any]]) -> None:
    """One board per test-time corruption: a corrupted run's record is shown on the board
    ``<dataset>, <condition>`` (e.g. ``synthetic, noise[level=0.5,modality=m1]``) under the name of
    the cell whose model it evaluated. Relabels ``records`` in place."""
    for record in records:
        corruption = record.get("corruption")
        if is_corrupted(corruption):
            record["dataset"] = f"{record['dataset']}, {condition_name(corruption)}"
            record["cell"] = record.get("trained_cell") or record["cell"]


def _suffixes(keys: list[str]) -> dict[str, str]:
    """A short, distinct name per data key: a fingerprint's first 8 digits; a root's last folder,
    or as many trailing folders as it takes to tell the roots apart (``one/data``, ``two/data``)."""
    names = {key: key[:8] for key in keys if not key.startswith("root:")}
    roots = {key: Path(key.split(":", 1)[1]).parts for key in keys if key.startswith("root:")}
    for depth in range(1, max((len(parts) for parts in roots.values()), default=0) + 1):
        trailing = {key: "/".join(parts[-depth:]) for key, parts in roots.items()}
        if len(set(trailing.values())) == len(trailing) or depth == max(len(p) for p in roots.values()):
            names.update(trailing)
            break
    return names


def publish(boards: list[Leaderboard], directory: Path, console: Console | None = None) -> list[Path]:
    """Print every board and write it in every format under ``directory``."""
    console = console or wide_console()
    print_leaderboards(boards, console)
    written = write_leaderboards(boards, directory)
    if written:
        console.print(escape(f"Leaderboards written to {directory}/ ({', '.join(sorted({b.slug for b in boards}))})"))
    return written
