"""What the figures read from run records: the runs of one (task, dataset), their corruption and
trained cell (with defaults for records written before either existed), and mean ± std over seeds."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import pandas as pd

from mmfuse.metrics.columns import Column
from mmfuse.results.aggregate import columns_of

Record = dict[str, Any]
CLEAN = {"name": "none"}
LINE = ["cell", "options", "modality", "series"]  # what sets a line of ``level_rows`` apart


def corruption(record: Record) -> dict[str, Any]:
    """The test-time corruption of a run; a record without one, or at level 0, is clean."""
    found = record.get("corruption") or CLEAN
    return CLEAN if found.get("name", "none") == "none" or found.get("level") == 0 else found


def is_clean(record: Record) -> bool:
    return corruption(record) is CLEAN


def trained_cell(record: Record) -> str:
    """The cell whose model the run evaluates: the cell without its corruption."""
    return record.get("trained_cell") or record["cell"]


def representation(record: Record) -> dict[str, Any]:
    return record.get("representation") or {}


@dataclass(frozen=True)
class Board:
    """The runs of one (task, dataset), the newest of each cell and seed, and its primary metric."""

    task: str
    dataset: str
    records: list[Record]
    columns: list[Column]

    @property
    def column(self) -> Column:
        return self.columns[0]

    @property
    def averaged(self) -> bool:
        """Anticipation boards plot MoC averaged over every (α, β) column: one column is a few
        windows' worth of noise, the mean is what a reader compares."""
        return self.task == "anticipation" and len(self.columns) > 1

    def value(self, run: Record) -> float | None:
        """The run's plotted metric: the primary column's, or on an averaged board the mean of its columns."""
        keys = [c.key for c in self.columns] if self.averaged else [self.column.key]
        values = [run["metrics"][k] for k in keys if k in run["metrics"]]
        return float(sum(values) / len(values)) if len(values) == len(keys) else None

    def label(self, cell: str) -> str:
        """``cell`` without the options every cell of the board shares (e.g. the R3D setup's
        ``model.dim=128,…`` on each): what tells the board's cells apart."""
        return short_names(self.cells)[cell]

    @property
    def cells(self) -> list[str]:
        """Every trained cell, sorted: a cell keeps its colour across the board's figures."""
        return sorted({trained_cell(r) for r in self.records})

    def clean(self) -> list[Record]:
        return [r for r in self.records if is_clean(r)]


def boards(records: Iterable[Record]) -> list[Board]:
    """One board per (task, dataset), sorted; of several runs of one cell and seed, the newest counts."""
    newest: dict[tuple[str, str, str, int], Record] = {}
    for record in sorted(records, key=lambda r: r.get("created", "")):
        newest[(record["task"], record["dataset"], record["cell"], int(record["seed"]))] = record
    grouped: dict[tuple[str, str], list[Record]] = {}
    for key in sorted(newest):
        grouped.setdefault(key[:2], []).append(newest[key])
    columns = columns_of(newest.values())
    return [Board(task, dataset, runs, columns[(task, dataset)]) for (task, dataset), runs in grouped.items()]


def cell_options(cell: str) -> tuple[str, list[str]]:
    """``rtf[a=1,b=[2,3]]`` -> ``("rtf", ["a=1", "b=[2,3]"])``: options split at top-level commas only."""
    name, _, rest = cell.partition("[")
    options, depth, current = [], 0, ""
    for char in rest[:-1] if rest.endswith("]") else rest:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            options.append(current)
            current = ""
        else:
            current += char
    return name, [*options, current] if current else options


def short_names(cells: list[str]) -> dict[str, str]:
    """Each cell named by its method and the options not every cell has (all of them for one cell)."""
    parsed = {cell: cell_options(cell) for cell in cells}
    shared = set.intersection(*(set(options) for _, options in parsed.values())) if len(cells) > 1 else set()
    return {
        cell: name + (f"[{','.join(kept)}]" if (kept := [o for o in options if o not in shared]) else "")
        for cell, (name, options) in parsed.items()
    }


def spread(rows: list[dict[str, Any]], by: list[str]) -> pd.DataFrame:
    """Mean, sample std (ddof=1; NaN for one seed) and n of each group's ``value``, sorted by ``by``."""
    grouped = pd.DataFrame(rows, columns=[*by, "seed", "value"]).groupby(by, sort=True)["value"]
    return grouped.agg(mean="mean", std="std", n="count").reset_index()


def options(found: dict[str, Any]) -> str:
    """A corruption's settings besides its name, modality and level, e.g. ``fill=mean,seed=0``."""
    return ",".join(f"{k}={found[k]}" for k in sorted(found) if k not in ("name", "modality", "level"))


def level_rows(board: Board, name: str, values: Callable[[Record], dict[str, float]]) -> list[dict[str, Any]]:
    """One row per run under corruption ``name`` and entry of ``values(run)``: its trained ``cell``,
    corruption ``options``, corrupted ``modality``, ``level``, ``seed``, the entry's ``series`` and
    ``value``; the clean run of the same trained cell and seed gives the same entries at level 0."""
    clean = {(trained_cell(r), r["seed"]): r for r in board.clean()}
    rows = {}
    for run in board.records:
        found = corruption(run)
        if found.get("name") != name:
            continue
        line = {"cell": trained_cell(run), "options": options(found), "modality": found["modality"]}
        for level, source in ((float(found["level"]), run), (0.0, clean.get((line["cell"], run["seed"])))):
            for series, value in (values(source) if source else {}).items():
                rows[(*line.values(), series, level, run["seed"])] = {
                    **line, "series": series, "level": level, "seed": run["seed"], "value": value
                }
    return list(rows.values())
