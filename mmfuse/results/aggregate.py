"""Run records -> one long-form table -> mean ± std over seeds. Idempotent, reads records only."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd

LONG_COLUMNS = ["task", "dataset", "cell", "seed", "metric", "value", "created", "run"]


def long_table(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per run × metric. Of several runs of one cell and seed, the newest counts."""
    rows = [
        {
            "task": r["task"],
            "dataset": r["dataset"],
            "cell": r["cell"],
            "seed": int(r["seed"]),
            "metric": metric,
            "value": float(value),
            "created": r.get("created", ""),
            "run": r.get("path", ""),
        }
        for r in records
        for metric, value in r["metrics"].items()
    ]
    table = pd.DataFrame(rows, columns=LONG_COLUMNS)
    if table.empty:
        return table
    table = table.sort_values("created").drop_duplicates(["task", "dataset", "cell", "seed", "metric"], keep="last")
    return table.sort_values(["task", "dataset", "cell", "seed", "metric"]).reset_index(drop=True)


def summary(long: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample std (ddof=1; NaN for one seed) and n per task × dataset × cell × metric."""
    grouped = long.groupby(["task", "dataset", "cell", "metric"], sort=True)["value"]
    return grouped.agg(mean="mean", std=lambda v: v.std(ddof=1), n="count").reset_index()


@dataclass(frozen=True)
class ColumnSpec:
    key: str
    header: str
    higher_is_better: bool = True


def columns_of(records: Iterable[dict[str, Any]]) -> dict[tuple[str, str], list[ColumnSpec]]:
    """Leaderboard columns per (task, dataset), as the task config declared them in its newest record."""
    newest: dict[tuple[str, str], tuple[str, list[ColumnSpec]]] = {}
    for r in records:
        key = (r["task"], r["dataset"])
        specs = [ColumnSpec(**c) for c in r.get("columns", [])] or [ColumnSpec(m, m) for m in r["metrics"]]
        if key not in newest or r.get("created", "") >= newest[key][0]:
            newest[key] = (r.get("created", ""), specs)
    return {key: specs for key, (_, specs) in newest.items()}
