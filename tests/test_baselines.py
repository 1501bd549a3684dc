"""Published baselines: the shipped files validate, match only their setting, and render marked."""
from __future__ import annotations

import io
import json
import math
from importlib.resources import files

import pandas as pd
import pytest
import yaml
from rich.console import Console

from mmfuse.errors import ConfigError
from mmfuse.results.aggregate import long_table, summary
from mmfuse.results.baselines import load_baselines, matches, read_baseline_file, reported_rows, task_columns
from mmfuse.results.leaderboard import make_leaderboards, publish
from mmfuse.results.records import write_json_atomic
from mmfuse.results.render import build_leaderboards, to_csv, to_html, to_latex, to_markdown, to_rich

# A made-up paper for these tests only: its numbers are fixtures, not anyone's results.
RGBD = {"name": "folder", "modalities": ["rgb", "depth"], "split": 1}
PAPER = {
    "paper": "A fixture paper",
    "short": "Fixture",
    "authors": ["A. Author"],
    "venue": "Nowhere 2030",
    "url": "https://example.org/fixture",
    "tables": [
        {
            "table": 2,
            "source": "https://example.org/fixture#table2",
            "what": "anticipation MoC",
            "task": "anticipation",
            "dataset": "Folder",
            "modalities": "RGB + depth",
            "split": "split 1",
            "matches": RGBD,
            "rows": [
                {"method": "Prior", "values": {"moc_obs20_pred10": 12.5, "moc_obs30_pred50": 7.25}},
                {"method": "Ours", "values": {"moc_obs20_pred10": 99.0}, "std": {"moc_obs20_pred10": 0.5}},
                {"method": "Beyond the board", "values": {"moc_obs30_pred30": 50}},
            ],
        },
        {
            "table": 5,
            "source": "https://example.org/fixture#table5",
            "what": "segmentation",
            "task": "segmentation",
            "dataset": "Folder",
            "modalities": "RGB + depth",
            "split": "split 1",
            "protocol": "frame-wise labels of whole videos",
            "matches": RGBD,
            "rows": [{"method": "Ours", "values": {"accuracy": 70, "f1@50": 40.0}}],
        },
    ],
}


def write_paper(directory, paper=PAPER, name="fixture.yaml"):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(yaml.safe_dump(paper, allow_unicode=True))
    return path


def test_shipped_files_are_inside_the_package_and_validate():
    shipped = files("mmfuse") / "baselines"
    assert (shipped / "r3d_wacv2026.yaml").is_file()
    for table in load_baselines():
        assert table.rows
        for row in table.rows:
            for value in (*row.values.values(), *row.std.values()):
                assert isinstance(value, float) and math.isfinite(value) and 0 <= value <= 100
            assert set(row.values) <= set(task_columns(table.task))


def test_shipped_files_name_their_source():
    for path in sorted((files("mmfuse") / "baselines").iterdir()):
        if path.name.endswith(".yaml"):
            paper = yaml.safe_load(path.read_text())
            assert paper["url"].startswith("https://")
            assert all(t["source"].startswith("https://") for t in paper["tables"])


def test_columns_come_from_the_task_config():
    assert task_columns("anticipation")["moc_obs20_pred10"] == "α=0.2 β=0.1"
    assert list(task_columns("segmentation")) == ["accuracy", "edit", "f1@10", "f1@25", "f1@50"]


def test_a_valid_file_loads(tmp_path):
    anticipation, segmentation = read_baseline_file(write_paper(tmp_path))
    assert anticipation.source == "Fixture, Table 2" and anticipation.task == "anticipation"
    assert anticipation.rows[1].values == {"moc_obs20_pred10": 99.0} and anticipation.rows[1].std == {"moc_obs20_pred10": 0.5}
    assert segmentation.rows[0].values == {"accuracy": 70.0, "f1@50": 40.0}


def broken(change):
    paper = json.loads(json.dumps(PAPER))
    change(paper)
    return paper


def first_row(paper):
    return paper["tables"][0]["rows"][0]


BROKEN = {
    "unknown task": (lambda p: p["tables"][0].update(task="forecasting"), "Unknown task 'forecasting'"),
    "unknown column": (lambda p: first_row(p)["values"].update({"moc_obs20_pred15": 1.0}), "unknown column 'moc_obs20_pred15'"),
    "header instead of key": (lambda p: first_row(p)["values"].update({"α=0.2 β=0.1": 1.0}), "its columns are: moc_obs20_pred10 (α=0.2 β=0.1)"),
    "missing source": (lambda p: p["tables"][0].pop("source"), "missing source"),
    "missing paper url": (lambda p: p.pop("url"), "missing url"),
    "out of range": (lambda p: first_row(p)["values"].update(moc_obs20_pred10=120.0), "outside [0, 100]"),
    "a fraction is not a number": (lambda p: first_row(p)["values"].update(moc_obs20_pred10="12.5%"), "expected a number"),
    "a boolean is not a number": (lambda p: first_row(p)["values"].update(moc_obs20_pred10=True), "expected a number"),
    "unknown key": (lambda p: p["tables"][0].update(alpha=0.2), "unknown key(s) alpha"),
    "unknown dataset": (lambda p: p["tables"][0]["matches"].update(name="utkinet"), "Unknown dataset 'utkinet'"),
    "unknown dataset option": (lambda p: p["tables"][0]["matches"].update(fold=1), "has no option 'fold'"),
    "root is no protocol": (lambda p: p["tables"][0]["matches"].update(root="/data"), "not part of a protocol"),
    "modalities required": (lambda p: p["tables"][0]["matches"].pop("modalities"), "matches[0].modalities"),
    "a bad alternative": (lambda p: p["tables"][0].update(matches=[RGBD, {**RGBD, "split": None, "fold": 2}]), "matches[1].fold"),
    "duplicate method": (lambda p: p["tables"][0]["rows"].append(first_row(p)), "appears twice"),
    "std without value": (lambda p: first_row(p).update(std={"moc_obs20_pred20": 1.0}), "has a std but no value"),
    "tables not a list": (lambda p: p.update(tables={"1": {}}), "'tables' must be a list"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_file_fails_naming_file_and_problem(tmp_path, case):
    change, message = BROKEN[case]
    path = write_paper(tmp_path, broken(change))
    with pytest.raises(ConfigError) as raised:
        read_baseline_file(path)
    assert str(path) in str(raised.value) and message in str(raised.value)


def test_unreadable_yaml_is_a_config_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("paper: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot be read as YAML"):
        load_baselines(tmp_path)


def test_matching_needs_task_dataset_modalities_and_split(tmp_path):
    table, _ = read_baseline_file(write_paper(tmp_path))
    resolved = {"name": "folder", "root": "/anywhere", "modalities": ["depth", "rgb"], "split": 1, "sample_rate": 1}
    assert matches(table, "anticipation", resolved)  # modality order does not matter; root is ignored
    assert not matches(table, "segmentation", resolved)
    assert not matches(table, "anticipation", {**resolved, "modalities": ["joint", "bone"]})  # skeleton streams
    assert not matches(table, "anticipation", {**resolved, "modalities": ["rgb"]})
    assert not matches(table, "anticipation", {**resolved, "split": 2})
    assert not matches(table, "anticipation", {**resolved, "name": "utkinect"})
    assert not matches(table, "anticipation", {k: v for k, v in resolved.items() if k != "modalities"})


def test_a_setting_may_have_several_dataset_configurations(tmp_path):
    paper = broken(lambda p: p["tables"][0].update(matches=[RGBD, {"name": "folder", "modalities": ["rgb", "depth"], "split": 2}]))
    table, _ = read_baseline_file(write_paper(tmp_path, paper))
    resolved = {"name": "folder", "modalities": ["rgb", "depth"], "split": 2}
    assert matches(table, "anticipation", resolved) and matches(table, "anticipation", {**resolved, "split": 1})
    assert not matches(table, "anticipation", {**resolved, "split": 3})


def record(task, label, dataset_cfg, cell="concat", seed=1, value=50.0, created="2026-01-01"):
    keys = list(task_columns(task))
    return {
        "status": "finished",
        "task": task,
        "dataset": label,
        "cell": cell,
        "seed": seed,
        "metrics": {key: value for key in keys[:4]},  # a board with the first four columns only
        "columns": [{"key": key, "header": task_columns(task)[key], "higher_is_better": True} for key in keys[:4]],
        "created": created,
        "config": {"dataset": {**dataset_cfg, "root": "/data", "train": {"epochs": 1}}},
    }


RGBD_RUN = {"name": "folder", "modalities": ["rgb", "depth"], "split": 1}
SKELETON_RUN = {"name": "folder", "modalities": ["joint", "bone"], "split": 1}


def test_reported_rows_go_to_matching_boards_only(tmp_path):
    tables = load_baselines(write_paper(tmp_path).parent)
    records = [
        record("anticipation", "folder", RGBD_RUN),
        record("anticipation", "folder[modalities=[joint,bone]]", SKELETON_RUN),
        record("segmentation", "folder", RGBD_RUN),
        {**record("segmentation", "other", RGBD_RUN), "config": {}},
    ]
    found = reported_rows(records, tables)
    assert [r.method for r in found[("anticipation", "folder")]] == ["Prior", "Ours", "Beyond the board"]
    assert [r.method for r in found[("segmentation", "folder")]] == ["Ours"]
    assert ("anticipation", "folder[modalities=[joint,bone]]") not in found
    assert ("segmentation", "other") not in found


def test_the_newest_record_decides_the_setting(tmp_path):
    tables = load_baselines(write_paper(tmp_path).parent)
    old = record("anticipation", "folder", SKELETON_RUN, created="2026-01-01")
    new = record("anticipation", "folder", RGBD_RUN, created="2026-02-01")
    assert ("anticipation", "folder") in reported_rows([new, old], tables)


def reported_methods(board):
    return board.table.loc[~board.measured, "method"].tolist()


def anticipation_board(tmp_path):
    tables = load_baselines(write_paper(tmp_path).parent)
    records = [
        record("anticipation", "folder", RGBD_RUN, cell="concat", seed=1, value=40.0),
        record("anticipation", "folder", RGBD_RUN, cell="concat", seed=10, value=42.0),
        record("anticipation", "folder", RGBD_RUN, cell="rtf", seed=1, value=30.0),
    ]
    (board,) = build_leaderboards(summary(long_table(records, reported_rows(records, tables))))
    return board


def test_reported_rows_render_marked_in_every_format(tmp_path):
    board = anticipation_board(tmp_path)
    # "Beyond the board" reports only β=0.3 at α=0.3, a column this board does not have: left out.
    assert reported_methods(board) == ["Prior", "Ours"]
    assert board.headers()[:2] == ["method", "source"] and board.headers()[2] == "α=0.2 β=0.1"
    rows = board.rows()
    assert rows[0][:2] == ["concat", "measured"] and rows[0][-1] == "2"
    assert rows[2] == ["Prior", "reported (Fixture, Table 2)", "12.5", "–", "–", "–", "–"]
    assert rows[3][:3] == ["Ours", "reported (Fixture, Table 2)", "99 ± 0.5"]

    markdown = to_markdown(board)
    assert "| Prior    | reported (Fixture, Table 2) |" in markdown and "never marked" in markdown

    latex = to_latex(board)
    assert r"\textbf{41.0 $\pm$ 1.4}" in latex  # the best measured mean stays bold
    assert r"\textbf{99" not in latex and "Ours & reported (Fixture, Table 2) & 99 $\\pm$ 0.5" in latex
    assert latex.count(r"\midrule") == 2 and r"\begin{tabular}{llccccc}" in latex

    html = to_html(board)
    assert '<tr class="reported"><td>Prior</td><td>reported (Fixture, Table 2)</td><td>12.5</td>' in html
    assert "<b>99" not in html and "<b>41.0 ± 1.4</b>" in html

    console = Console(file=io.StringIO(), width=200)
    console.print(to_rich(board))
    terminal = console.file.getvalue()
    assert "reported (Fixture, Table 2)" in terminal and "measured" in terminal

    csv = pd.read_csv(io.StringIO(to_csv(board)))
    assert list(csv.columns[:4]) == ["task", "dataset", "method", "source"]
    ours = csv[csv.method == "Ours"].iloc[0]
    assert ours.source == "reported (Fixture, Table 2)" and ours.moc_obs20_pred10_mean == 99.0
    assert ours.moc_obs20_pred10_std == 0.5 and pd.isna(ours.n) and pd.isna(ours.moc_obs20_pred20_mean)
    assert csv[csv.method == "concat"].iloc[0].n == 2


def test_a_leaderboard_from_run_records_shows_reported_beside_measured(tmp_path):
    baselines = tmp_path / "baselines"
    write_paper(baselines)
    runs = tmp_path / "runs"
    for rec in (
        record("segmentation", "folder", RGBD_RUN, cell="concat", seed=1, value=60.0),
        record("segmentation", "folder", RGBD_RUN, cell="concat", seed=10, value=62.0),
        record("segmentation", "folder[modalities=[joint,bone]]", SKELETON_RUN, cell="concat", seed=1, value=55.0),
    ):
        where = runs / rec["task"] / rec["dataset"] / rec["cell"] / f"seed{rec['seed']}-00000000"
        write_json_atomic(where / "result.json", rec)
    boards = {b.dataset: b for b in make_leaderboards(runs, baselines=load_baselines(baselines))}
    assert [row.method for row in boards["folder"].table_rows()] == ["concat", "Ours"]
    assert boards["folder"].rows()[1][:3] == ["Ours", "reported (Fixture, Table 5)", "70"]
    assert reported_methods(boards["folder[modalities=[joint,bone]]"]) == []
    assert "source" not in boards["folder[modalities=[joint,bone]]"].headers()

    console = Console(file=io.StringIO(), width=200)
    written = publish(list(boards.values()), tmp_path / "out", console)
    for path in written:  # the per-seed CSV holds runs only
        published = "reported (Fixture, Table 5)" in path.read_text()
        assert published == ("joint" not in path.name and not path.name.endswith(".seeds.csv"))
    assert "reported (Fixture, Table 5)" in console.file.getvalue()


def test_the_shipped_baselines_are_the_default(tmp_path):
    runs = tmp_path / "runs"
    rec = record("segmentation", "folder", RGBD_RUN)
    write_json_atomic(runs / "segmentation" / "folder" / "concat" / "seed1-00000000" / "result.json", rec)
    (board,) = make_leaderboards(runs)
    shipped = [row for table in load_baselines() for row in table.rows if matches(table, "segmentation", rec["config"]["dataset"])]
    assert reported_methods(board) == [r.method for r in shipped]
