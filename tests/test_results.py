"""Cell names, config hashes, run records, aggregation and every leaderboard rendering."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mmfuse.results.aggregate import columns_of, long_table, summary
from mmfuse.results.cells import cell_name, cell_params, config_hash, dataset_label
from mmfuse.results.records import is_finished, load_records, write_json_atomic
from mmfuse.results.render import build_leaderboards, to_csv, to_html, to_latex, to_markdown

REFERENCE = {
    "seed": 1,
    "device": "auto",
    "model": {"dim": 64},
    "dataset": {"name": "synthetic", "noise": 0.5, "root": None, "train": {"epochs": 20}},
    "fusion": {"name": "single", "modality": None},
    "regularizer": {"name": "none"},
    "temporal": {"name": "tcn", "layers": 10},
    "task": {"name": "segmentation"},
    "paths": {"runs": "runs"},
}
DEFAULT_CHOICES = {"fusion": "concat", "regularizer": "none", "temporal": "tcn", "encoder": "projection"}


def variant(**changes):
    cfg = json.loads(json.dumps(REFERENCE))
    for path, value in changes.items():
        node = cfg
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return cfg


def test_cell_names_list_what_differs_sorted():
    choices = {**DEFAULT_CHOICES, "fusion": "single"}
    cfg = variant(fusion__modality="m0", model__dim=128, seed=10, device="cpu", dataset__noise=1.0)
    params = cell_params(cfg, choices, REFERENCE, DEFAULT_CHOICES)
    assert cell_name(cfg, params) == "single[modality=m0,model.dim=128]"
    assert dataset_label(cfg, REFERENCE) == "synthetic[noise=1.0]"
    assert dataset_label(variant(dataset__root="/x", dataset__train={"epochs": 1}), REFERENCE) == "synthetic"

    other = {**choices, "temporal": "transformer"}
    assert cell_name(cfg, cell_params(REFERENCE, other, REFERENCE, DEFAULT_CHOICES)) == "single[temporal=transformer]"


def test_config_hash_ignores_device_and_paths_only():
    base = config_hash(REFERENCE)
    assert config_hash(variant(device="cuda", paths__runs="/elsewhere")) == base
    assert config_hash(variant(seed=2)) != base
    assert config_hash(variant(temporal__layers=3)) != base
    assert len(base) == 8


def record(cell, seed, value, created="2026-01-01", task="segmentation"):
    return {
        "status": "finished",
        "task": task,
        "dataset": "synthetic",
        "cell": cell,
        "seed": seed,
        "metrics": {"accuracy": value, "edit": value / 2},
        "columns": [{"key": "accuracy", "header": "Acc", "higher_is_better": True}, {"key": "edit", "header": "Edit", "higher_is_better": True}],
        "created": created,
    }


def test_aggregation_mean_sample_std_and_newest_run_per_seed():
    records = [
        record("concat", 1, 80.0),
        record("concat", 10, 90.0),
        record("concat", 13452, 70.0, created="2026-01-01"),
        record("concat", 13452, 100.0, created="2026-02-01"),  # rerun of the same seed: newest counts
        record("single", 1, 50.0),
    ]
    long = long_table(records)
    assert len(long) == 8  # 4 distinct runs x 2 metrics
    table = summary(long).set_index(["cell", "metric"])
    assert table.loc[("concat", "accuracy"), "mean"] == pytest.approx(90.0)
    assert table.loc[("concat", "accuracy"), "std"] == pytest.approx(np.std([80, 90, 100], ddof=1))
    assert table.loc[("concat", "accuracy"), "n"] == 3
    assert np.isnan(table.loc[("single", "accuracy"), "std"])


def test_renderings_come_from_one_table():
    records = [record("concat", 1, 80.0), record("concat", 10, 90.0), record("single[modality=m0]", 1, 50.0)]
    (board,) = build_leaderboards(summary(long_table(records)), columns_of(records))
    assert board.headers() == ["method", "Acc", "Edit", "n"]
    markdown = to_markdown(board)
    assert "85.0 ± 7.1" in markdown and "| single[modality=m0] | 50.0" in markdown
    latex = to_latex(board)
    assert r"\textbf{85.0 $\pm$ 7.1}" in latex and r"\toprule" in latex and r"\bottomrule" in latex
    assert "<b>85.0 ± 7.1</b>" in to_html(board)
    csv = pd.read_csv(__import__("io").StringIO(to_csv(board)))
    assert csv.loc[csv.method == "concat", "accuracy_mean"].item() == pytest.approx(85.0)
    assert csv.loc[csv.method == "concat", "n"].item() == 2


def test_lower_is_better_columns_bold_the_minimum():
    records = [record("a", 1, 10.0), record("b", 1, 20.0)]
    for r in records:
        r["columns"][0]["higher_is_better"] = False
    (board,) = build_leaderboards(summary(long_table(records)), columns_of(records))
    assert board.best("accuracy") == 10.0


def test_records_are_atomic_and_only_finished_ones_count(tmp_path):
    run = tmp_path / "segmentation" / "synthetic" / "concat" / "seed1-abcdef12"
    assert not is_finished(run)
    write_json_atomic(run / "result.json", record("concat", 1, 80.0))
    assert is_finished(run) and not list(run.glob("*.tmp"))
    (run / "result.json").write_text("{ truncated")
    assert not is_finished(run)
    write_json_atomic(run / "result.json", {**record("concat", 1, 80.0), "status": "running"})
    assert not is_finished(run) and load_records(tmp_path) == []
