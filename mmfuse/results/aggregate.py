"""Run records and the published rows matched to their boards -> one long-form table -> mean ± std
over seeds. Idempotent, reads records (and the reported rows given) only.

The long table has one row per run × metric and one per reported row × metric:

- ``source``: ``"measured"`` for a run, ``"reported (<paper>, Table <n>)"`` for a published row;
- ``cell``: the run's cell name, or the method as the paper prints it;
- ``seed``: the run's seed; missing (``<NA>``) for a reported row;
- ``value``: the run's metric, or the published number;
- ``std``: the published std where the paper gives one; NaN for a run (its spread comes from seeds);
- ``header``, ``higher_is_better``, ``column``: how the board of (task, dataset) shows the metric, as
  its newest record declares it; ``column`` is the position, NaN for a metric the board leaves out;
- ``order``: a reported row's place among the published rows (their order in ``baselines/``); NaN for runs;
- ``created``, ``run``: a run's creation time and directory; empty for a reported row;
- ``videos``, ``per_video``: a run's test videos (names, in split order) and the metric's score on
  each alone (tuples; ``records.RunRecord.per_video``), which the leaderboards' paired tests use;
  empty for a reported row and for a record written before mmfuse kept them.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import pandas as pd

from mmfuse.metrics.columns import Column

if TYPE_CHECKING:
    from mmfuse.results.baselines import ReportedRow

MEASURED = "measured"
LONG_COLUMNS = [
    "task", "dataset", "source", "cell", "seed", "metric", "value", "std",
    "header", "higher_is_better", "column", "order", "created", "run", "videos", "per_video",
]
SPEC_COLUMNS = ["header", "higher_is_better", "column"]
SUMMARY_COLUMNS = ["task", "dataset", "source", "cell", "metric", "mean", "std", "n", *SPEC_COLUMNS, "order"]


def columns_of(records: Iterable[dict[str, Any]]) -> dict[tuple[str, str], list[Column]]:
    """Leaderboard columns per (task, dataset), as the task config declared them in its newest record."""
    newest: dict[tuple[str, str], tuple[str, list[Column]]] = {}
    for r in records:
        key = (r["task"], r["dataset"])
        specs = [Column(**c) for c in r.get("columns", [])] or [Column(m, m) for m in r["metrics"]]
        if key not in newest or r.get("created", "") >= newest[key][0]:
            newest[key] = (r.get("created", ""), specs)
    return {key: specs for key, (_, specs) in newest.items()}


def _measured_rows(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per run × metric; of several runs of one cell and seed, the newest counts."""
    rows = [
        {
            "task": r["task"],
            "dataset": r["dataset"],
            "source": MEASURED,
            "cell": r["cell"],
            "seed": int(r["seed"]),
            "metric": metric,
            "value": float(value),
            "std": math.nan,
            "order": math.nan,
            "created": r.get("created", ""),
            "run": r.get("path", ""),
            "videos": tuple(r.get("videos", ())),
            "per_video": tuple(float(v) for v in r.get("per_video", {}).get(metric, ())),
        }
        for r in records
        for metric, value in r["metrics"].items()
    ]
    table = pd.DataFrame(rows, columns=[c for c in LONG_COLUMNS if c not in SPEC_COLUMNS])
    if table.empty:
        return table
    table = table.sort_values("created").drop_duplicates(["task", "dataset", "cell", "seed", "metric"], keep="last")
    return table.sort_values(["task", "dataset", "cell", "seed", "metric"])


def _reported_rows(reported: Mapping[tuple[str, str], Sequence[ReportedRow]]) -> pd.DataFrame:
    """One row per published row × metric, numbered in the order given."""
    listed = [(board, row) for board, rows in reported.items() for row in rows]
    rows = [
        {
            "task": task,
            "dataset": dataset,
            "source": f"reported ({row.source})",
            "cell": row.method,
            "seed": pd.NA,
            "metric": metric,
            "value": float(value),
            "std": float(row.std.get(metric, math.nan)),
            "order": float(order),
            "created": "",
            "run": "",
            "videos": (),
            "per_video": (),
        }
        for order, ((task, dataset), row) in enumerate(listed)
        for metric, value in row.values.items()
    ]
    return pd.DataFrame(rows, columns=[c for c in LONG_COLUMNS if c not in SPEC_COLUMNS])


def _column_specs(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """``header``, ``higher_is_better`` and position (``column``) of each board's metrics."""
    rows = [
        {"task": task, "dataset": dataset, "metric": c.key, "header": c.header,
         "higher_is_better": c.higher_is_better, "column": float(position)}
        for (task, dataset), columns in columns_of(records).items()
        for position, c in enumerate(columns)
    ]
    return pd.DataFrame(rows, columns=["task", "dataset", "metric", *SPEC_COLUMNS])


def long_table(
    records: Iterable[dict[str, Any]], reported: Mapping[tuple[str, str], Sequence[ReportedRow]] | None = None
) -> pd.DataFrame:
    """Every run × metric (sorted by task, dataset, cell, seed, metric), then every reported row ×
    metric of ``reported`` (published rows per (task, dataset) board, in their order)."""
    records = list(records)
    parts = [part for part in (_measured_rows(records), _reported_rows(reported or {})) if not part.empty]
    if not parts:
        return pd.DataFrame(columns=LONG_COLUMNS)
    table = pd.concat(parts, ignore_index=True).astype({"seed": "Int64"})
    table = table.merge(_column_specs(records), on=["task", "dataset", "metric"], how="left")
    return table[LONG_COLUMNS]


def summary(long: pd.DataFrame) -> pd.DataFrame:
    """Per task × dataset × cell × metric of the measured rows: mean, sample std (ddof=1; NaN for
    one seed) and n; each reported row as published (its std where given, no n). The two never mix."""
    is_measured = long["source"] == MEASURED
    grouped = long[is_measured].groupby(["task", "dataset", "cell", "metric"], sort=True)
    measured = grouped["value"].agg(mean="mean", std=lambda v: v.std(ddof=1), n="count")
    measured = measured.join(grouped[["source", *SPEC_COLUMNS, "order"]].first()).reset_index()
    reported = long[~is_measured].rename(columns={"value": "mean"}).assign(n=pd.NA)
    parts = [part[SUMMARY_COLUMNS] for part in (measured, reported) if not part.empty]
    if not parts:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    return pd.concat(parts, ignore_index=True).astype({"n": "Int64"})
