"""Cell names, config hashes, run records, aggregation and every leaderboard rendering."""
from __future__ import annotations

import io
import json
import re
from typing import Callable

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from mmfuse.results.aggregate import long_table, summary
from mmfuse.results.baselines import ReportedRow
from mmfuse.results.cells import cell_name, cell_params, config_hash, dataset_label
from mmfuse.results.records import is_finished, load_records, write_json_atomic
from mmfuse.results.render import (
    Leaderboard, build_leaderboards, latex_escaped, to_csv, to_html, to_latex, to_markdown, to_rich, to_seeds_csv,
)

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
    assert dataset_label(variant(dataset__train={"epochs": 1}), REFERENCE) == "synthetic"  # a budget names no data
    # data read from a root is named by its folder, never by the path, or by dataset.label
    assert dataset_label(variant(dataset__root="/data/gtea/"), REFERENCE) == "synthetic[label=gtea]"
    assert dataset_label(variant(dataset__root="/data/x", dataset__label="mine"), REFERENCE) == "synthetic[label=mine]"

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
    (board,) = build_leaderboards(summary(long_table(records)))
    assert board.headers() == ["method", "Acc", "Edit", "n"]
    markdown = to_markdown(board)
    assert "85.0 ± 7.1" in markdown and "| single[modality=m0] | 50.0" in markdown
    latex = to_latex(board)
    assert r"\textbf{85.0 $\pm$ 7.1}" in latex and r"\toprule" in latex and r"\bottomrule" in latex
    assert "<b>85.0 ± 7.1</b>" in to_html(board)
    csv = pd.read_csv(__import__("io").StringIO(to_csv(board)))
    assert csv.loc[csv.method == "concat", "accuracy_mean"].item() == pytest.approx(85.0)
    assert csv.loc[csv.method == "concat", "n"].item() == 2


def terminal_body(board: Leaderboard) -> str:
    """The terminal table's body rows with their ANSI styles (the header row is bold throughout)."""
    console = Console(file=io.StringIO(), width=200, force_terminal=True, color_system="standard")
    console.print(to_rich(board))
    return "\n".join(line for line in console.file.getvalue().splitlines() if line.startswith("│"))


MARKED = {  # each format's renderer and how it marks a best cell (bold) and a tied one (underlined)
    "markdown": (to_markdown, r"\*\*(.+?)\*\*", r"<ins>(.+?)</ins>"),
    "latex": (to_latex, r"\\textbf\{(.+?)\}", r"\\underline\{(.+?)\}"),
    "html": (to_html, r"<b>(.+?)</b>", r"<u>(.+?)</u>"),
    "terminal": (terminal_body, "\x1b\\[1m(.+?)\x1b\\[0m", "\x1b\\[4m(.+?)\x1b\\[0m"),
}


def reported(method: str, **values: float) -> dict:
    return {("segmentation", "synthetic"): [ReportedRow(method, "Paper, Table 1", values, {})]}


@pytest.mark.parametrize("fmt", sorted(MARKED))
def test_every_format_bolds_the_best_measured_value_and_never_a_reported_one(fmt: str) -> None:
    """Acc lower-is-better, Edit higher-is-better; the reported row beats both and is never bold."""
    records = [record("a", 1, 12.0), record("b", 1, 30.0)]  # Acc 12.0 / 30.0, Edit 6.0 / 15.0
    for r in records:
        r["columns"][0]["higher_is_better"] = False
    (board,) = build_leaderboards(summary(long_table(records, reported("Paper", accuracy=1.0, edit=99.0))))
    assert (board.best("accuracy"), board.best("edit")) == (12.0, 15.0)
    render, bold, _ = MARKED[fmt]
    text = render(board)
    assert "99" in text and sorted(re.findall(bold, text)) == ["12.0", "15.0"]


def scored_board() -> Leaderboard:
    """Three cells over two seeds × 20 videos: ``a`` best, ``b`` 0.1 behind in per-video noise (tied),
    ``c`` 10 behind (not), and a reported row that beats them all."""
    rng = np.random.default_rng(5)
    base = rng.normal(80.0, 5.0, size=(2, 20))
    records = []
    for cell, offset, noise in (("a", 1.0, 0.0), ("b", 0.9, 2.0), ("c", -10.0, 0.0)):
        for k, seed in enumerate((1, 2)):
            scores = base[k] + offset + rng.normal(0.0, noise, size=20)
            runs = record(cell, seed, float(scores.mean()))
            runs.update(per_video={"accuracy": list(scores), "edit": list(scores / 2)}, videos=[f"v{j}" for j in range(20)])
            records.append(runs)
    long = long_table(records, reported("Paper", accuracy=99.0, edit=99.0))
    (board,) = build_leaderboards(summary(long), long)
    return board


@pytest.mark.parametrize("fmt", sorted(MARKED))
def test_every_format_marks_the_best_and_the_tied_and_says_by_which_test(fmt: str) -> None:
    board = scored_board()
    render, bold, underlined = MARKED[fmt]
    text = render(board).replace("$\\pm$", "±")
    shown = {method: [board.cell_text(i, key) for key in ("accuracy", "edit")] for i, method in board.table.method.items()}
    assert re.findall(bold, text) == shown["a"] and re.findall(underlined, text) == shown["b"]
    text = terminal(board) if fmt == "terminal" else text  # with its caption
    text = re.sub(r"\} \\\\\s*\\multicolumn\{\d+\}\{l\}\{\\footnotesize ", " ", text)  # LaTeX: note rows joined
    line = " ".join(text.replace("$\\alpha$", "α").replace("$\\times$", "×").split())
    assert "paired sign-flip permutation test over seeds × test videos, two-sided, α = 0.05" in line and "40 pairs" in line


def test_csv_marks_each_column_and_keeps_full_precision() -> None:
    board = scored_board()
    csv = pd.read_csv(io.StringIO(to_csv(board)), keep_default_na=False)
    assert csv.accuracy_mark.tolist() == ["best", "tied", "", ""] and csv.edit_mark.tolist() == ["best", "tied", "", ""]
    assert csv.accuracy_mean.tolist()[:3] == board.table.accuracy_mean.tolist()[:3]  # every digit


def test_the_long_csv_has_every_run_and_metric_at_full_precision() -> None:
    records = [record("a", 1, 80.123456789012345), record("a", 2, 70.0), record("b", 1, 1 / 3)]
    long = long_table(records, reported("Paper", accuracy=99.0))
    (board,) = build_leaderboards(summary(long), long)
    seeds = pd.read_csv(io.StringIO(to_seeds_csv(board)))
    assert list(seeds.columns) == ["task", "dataset", "method", "seed", "metric", "header", "value", "created", "run"]
    assert len(seeds) == 6 and set(seeds.method) == {"a", "b"}  # runs × metrics; reported rows are not runs
    values = seeds.set_index(["method", "seed", "metric"]).value
    assert values[("a", 1, "accuracy")] == 80.123456789012345 and values[("b", 1, "edit")] == 1 / 6


def test_latex_escapes_every_special_character_of_names_and_headers():
    name = "a_b&c%d#e$f{g}~^\\"
    escaped = r"a\_b\&c\%d\#e\$f\{g\}\textasciitilde \textasciicircum \textbackslash "
    records = [record(name, 1, 50.0)]
    records[0]["columns"][0]["header"] = "Acc_%"
    (board,) = build_leaderboards(summary(long_table(records, reported(name + "!", accuracy=60.0))))
    lines = to_latex(board).splitlines()
    assert lines[2] == r"method & source & Acc\_\% & Edit & n \\"
    assert lines[4].startswith(escaped + " & measured & ")
    assert lines[6].startswith(escaped + "! & reported (Paper, Table 1) & 60 & ")
    assert lines[6].endswith(r"& -- \\")  # a reported row has no seeds: an en dash, as LaTeX writes it
    assert latex_escaped(f"segmentation on synthetic[label={name}]") == rf"segmentation on synthetic[label={escaped}]"


def test_reported_rows_are_rows_of_the_long_table_never_mixed_with_measured_ones():
    records = [record("a", 1, 40.0), record("a", 2, 50.0)]
    long = long_table(records, reported("a", accuracy=90.0, edit=1.0))  # a paper's method named like the cell
    published = long[long.source != "measured"]
    assert published.source.unique().tolist() == ["reported (Paper, Table 1)"] and published.seed.isna().all()
    assert long.loc[long.source == "measured", "seed"].tolist() == [1, 1, 2, 2]
    table = summary(long).set_index(["source", "cell", "metric"])
    assert table.loc[("measured", "a", "accuracy"), "mean"] == 45.0
    assert table.loc[("reported (Paper, Table 1)", "a", "accuracy"), "mean"] == 90.0
    (board,) = build_leaderboards(summary(long))
    assert board.rows() == [
        ["a", "measured", "45.0 ± 7.1", "22.5 ± 3.5", "2"],
        ["a", "reported (Paper, Table 1)", "90", "1", "–"],
    ]


def test_records_are_atomic_and_only_finished_ones_count(tmp_path):
    run = tmp_path / "segmentation" / "synthetic" / "concat" / "seed1-abcdef12"
    assert not is_finished(run)
    write_json_atomic(run / "result.json", record("concat", 1, 80.0))
    assert is_finished(run) and not list(run.glob("*.tmp"))
    (run / "result.json").write_text("{ truncated")
    assert not is_finished(run)
    write_json_atomic(run / "result.json", {**record("concat", 1, 80.0), "status": "running"})
    assert not is_finished(run) and load_records(tmp_path) == []


# The columns the tasks declare (headers as in configs/task/*.yaml), and what each format must say.
TASK_COLUMNS = {
    "anticipation": [
        {"key": f"moc_obs{a}_pred{b}", "header": f"α=0.{a // 10} β=0.{b // 10}", "higher_is_better": True}
        for a in (20, 30) for b in (10, 20, 30, 50)
    ],
    "segmentation": [
        {"key": "accuracy", "header": "Acc", "higher_is_better": True},
        {"key": "edit", "header": "Edit", "higher_is_better": True},
        *({"key": f"f1@{k}", "header": f"F1@{k}", "higher_is_better": True} for k in (10, 25, 50)),
    ],
}
NAMED = {
    "anticipation": ["MoC: mean over classes of the per-class frame accuracy (%) over the predicted window",
                     "α: observed, β: predicted fraction of the video"],
    "segmentation": ["Acc: frame accuracy (%)", "Edit: segmental edit score (%)",
                     "F1@k: segmental F1 score (%) at IoU ≥ k/100",
                     "Edit and F1 leave out the dataset's background classes (dataset.background)"],
}


def task_board(task: str) -> Leaderboard:
    columns = TASK_COLUMNS[task]
    records = [
        {**record(cell, seed, 0.0, task=task), "columns": columns,
         "metrics": {c["key"]: 50.0 + seed + i for i, c in enumerate(columns)}}
        for cell in ("concat", "rtf") for seed in (1, 10)
    ]
    (board,) = build_leaderboards(summary(long_table(records)))
    return board


def terminal(board: Leaderboard) -> str:
    console = Console(file=io.StringIO(), width=400)
    console.print(to_rich(board))
    return " ".join(console.file.getvalue().split())  # the caption wraps at the table's width


def latex_text(board: Leaderboard) -> str:
    """The LaTeX as a reader sees it: the table body must stay a bare tabular (no \\caption, which
    only a float may hold), with every note row spanning all its columns after the bottom rule."""
    latex = to_latex(board)
    lines = latex.strip().splitlines()
    spec = re.fullmatch(r"\\begin\{tabular\}\{([lc]+)\}", lines[0]).group(1)
    assert lines[-1] == r"\end{tabular}" and r"\caption" not in latex
    notes = lines[lines.index(r"\bottomrule") + 1 : -1]
    assert notes and all(n.startswith(rf"\multicolumn{{{len(spec)}}}{{l}}{{\footnotesize ") for n in notes)
    assert latex.count("{") == latex.count("}")
    return latex.replace(r"\%", "%").replace(r"$\alpha$", "α").replace(r"$\beta$", "β").replace(r"$\geq$", "≥")


@pytest.mark.parametrize(
    "render", [to_markdown, latex_text, to_html, terminal], ids=["markdown", "latex", "html", "terminal"]
)
@pytest.mark.parametrize("task", ["anticipation", "segmentation"])
def test_every_format_names_its_metric(task: str, render: Callable[[Leaderboard], str]) -> None:
    text = render(task_board(task)).replace("&#39;", "'")
    for note in NAMED[task]:
        assert note in text


@pytest.mark.parametrize("task", ["anticipation", "segmentation"])
def test_csv_headers_are_the_metric_keys_at_full_precision(task: str) -> None:
    """CSV has no caption: each value column is headed by its metric key (moc_*, accuracy, edit, f1@k)."""
    csv = pd.read_csv(io.StringIO(to_csv(task_board(task))), keep_default_na=False)
    keys = [c["key"] for c in TASK_COLUMNS[task]]
    assert list(csv.columns) == [
        "task", "dataset", "method", *(f"{k}_mean" for k in keys), *(f"{k}_std" for k in keys), "n",
        *(f"{k}_mark" for k in keys),
    ]
    assert task != "anticipation" or all(k.startswith("moc_") for k in keys)
    key = "edit" if task == "segmentation" else "moc_obs20_pred10"
    assert csv.loc[csv.method == "concat", f"{key}_std"].item() == np.std([51.0, 60.0], ddof=1)  # never rounded
    assert csv[f"{key}_mark"].tolist() == ["best", "best"]  # the two cells score alike


def test_terminal_board_folds_long_cell_names_and_keeps_every_number_whole():
    columns = TASK_COLUMNS["anticipation"]
    long_name = "rtf[model.max_len=2000,preset=official,ratio=0,temporal=transformer,temporal.heads=8,temporal.norm=paper]"
    records = [
        {**record(long_name, seed, 0.0, task="anticipation"), "columns": columns,
         "metrics": {c["key"]: 37.25 + seed for c in columns}}
        for seed in (1, 10)
    ]
    (board,) = build_leaderboards(summary(long_table(records)))
    console = Console(file=io.StringIO(), width=160)
    console.print(to_rich(board))
    text = console.file.getvalue()
    assert text.count("42.8 ± 6.4") == len(columns) and "…" not in text
    assert "temporal.norm=paper]" in "".join(line.strip("│ ") for line in text.splitlines())
