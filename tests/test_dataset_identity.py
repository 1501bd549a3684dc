"""A leaderboard never mixes two datasets: labels name the data, hashes hold its fingerprint,
boards split where records of one label hold different data, and moved data keeps its runs."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from folder_fixtures import make_folder_dataset

from mmfuse.cli import main
from mmfuse.data.fingerprint import dataset_fingerprint
from mmfuse.registry import create_dataset

FAST = ["dataset=folder", "dataset.train.epochs=1", "task=segmentation", "seed=1"]


def bench(work: Path, root: Path, *overrides: str) -> int:
    paths = [f"paths.runs={work / 'runs'}", f"paths.leaderboards={work / 'leaderboards'}"]
    return main(["bench", *FAST, f"dataset.root={root}", *overrides, *paths])


def records(work: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((work / "runs").rglob("result.json"))]


def boards(work: Path) -> dict[str, str]:
    return {p.stem: p.read_text() for p in (work / "leaderboards").glob("segmentation-*.md")}


def fingerprint(root: Path) -> str:
    adapter = create_dataset("folder", root=root)
    return dataset_fingerprint(adapter, {split: adapter.videos(split) for split in ("train", "test")})


def test_the_fingerprint_is_the_data_not_its_path_nor_its_feature_values(tmp_path):
    original = make_folder_dataset(tmp_path / "a" / "data")
    copy = tmp_path / "b" / "renamed"
    shutil.copytree(original, copy)
    assert fingerprint(copy) == fingerprint(original)
    feature = next((copy / "features" / "accel").glob("*.npy"))
    np.save(feature, np.load(feature) + 1.0)
    assert fingerprint(copy) == fingerprint(original)  # feature values are not what defines the data
    split = copy / "splits" / "test.split1.bundle"
    split.write_text("".join(split.read_text().splitlines(keepends=True)[:-1]))
    assert fingerprint(copy) != fingerprint(original)
    assert fingerprint(make_folder_dataset(tmp_path / "c", classes=("x", "y", "z"))) != fingerprint(original)


def test_two_datasets_benchmarked_in_one_folder_get_two_boards(tmp_path, capsys):
    """The issue's scenario: A (concat, rtf) then B (concat), one working folder, never one board."""
    a = make_folder_dataset(tmp_path / "A", num_videos=6, seed=1)
    b = make_folder_dataset(tmp_path / "B", num_videos=9, modalities=("imu",), seed=2, classes=("idle", "cut", "mix"))
    assert bench(tmp_path, a, "fusion=concat,rtf") == 0
    assert bench(tmp_path, b, "fusion=concat") == 0
    runs = records(tmp_path)
    assert sorted((r["dataset"], r["cell"]) for r in runs) == [
        ("folder[label=A]", "concat"), ("folder[label=A]", "rtf"), ("folder[label=B]", "concat"),
    ]
    assert len({r["dataset_fingerprint"] for r in runs}) == 2
    tables = boards(tmp_path)
    assert set(tables) == {"segmentation-folder[label=A]", "segmentation-folder[label=B]"}
    assert "| rtf " in tables["segmentation-folder[label=A]"] and "| rtf " not in tables["segmentation-folder[label=B]"]


def test_different_data_under_one_folder_name_is_split_and_said(tmp_path, capsys):
    first = make_folder_dataset(tmp_path / "one" / "data", seed=1)
    second = make_folder_dataset(tmp_path / "two" / "data", num_videos=9, seed=2)
    assert bench(tmp_path, first, "fusion=concat") == 0
    assert bench(tmp_path, second, "fusion=concat") == 0
    runs = records(tmp_path)
    assert {r["dataset"] for r in runs} == {"folder[label=data]"} and len({r["hash"] for r in runs}) == 2
    capsys.readouterr()
    assert main(["leaderboard", str(tmp_path / "runs"), "--out", str(tmp_path / "again")]) == 0
    err = capsys.readouterr().err
    assert "2 different datasets" in err and str(first) in err and str(second) in err and "dataset.label" in err
    split = sorted(p.stem for p in (tmp_path / "again").glob("segmentation-*.md"))
    assert split == sorted(f"segmentation-folder[label=data]@{r['dataset_fingerprint'][:8]}" for r in runs)


def test_an_old_runs_folder_mixing_two_roots_is_split_by_root(tmp_path, capsys):
    """Records written before fingerprints (none in them): their roots tell the data apart."""
    first = make_folder_dataset(tmp_path / "one" / "data", seed=1)
    second = make_folder_dataset(tmp_path / "two" / "data", num_videos=9, seed=2)
    assert bench(tmp_path, first, "fusion=concat") == 0
    assert bench(tmp_path, second, "fusion=concat") == 0
    for path in (tmp_path / "runs").rglob("result.json"):
        record = json.loads(path.read_text())
        del record["dataset_fingerprint"]
        record["dataset"] = "folder"  # the label of the time: no data name
        path.write_text(json.dumps(record))
    capsys.readouterr()
    assert main(["leaderboard", str(tmp_path / "runs"), "--out", str(tmp_path / "old")]) == 0
    err = capsys.readouterr().err
    assert "'folder'" in err and str(first) in err and str(second) in err
    assert len(list((tmp_path / "old").glob("segmentation-*.md"))) == 2


def test_a_moved_or_renamed_dataset_reuses_its_runs(tmp_path, capsys):
    original = make_folder_dataset(tmp_path / "gtea")
    assert bench(tmp_path, original, "fusion=concat,single") == 0
    before = {r["hash"] for r in records(tmp_path)}
    moved = tmp_path / "elsewhere" / "gtea"
    moved.parent.mkdir()
    original.rename(moved)
    capsys.readouterr()
    assert bench(tmp_path, moved, "fusion=concat,single") == 0
    assert "0 run(s) finished, 3 skipped" in capsys.readouterr().out  # same name: same label, same runs

    renamed = tmp_path / "gtea_v2"
    moved.rename(renamed)
    assert bench(tmp_path, renamed, "fusion=concat,single") == 0
    assert "0 run(s) finished, 3 skipped" in capsys.readouterr().out  # copied under the new label
    copied = [r for r in records(tmp_path) if r["dataset"] == "folder[label=gtea_v2]"]
    assert len(copied) == 3 and {r["hash"] for r in copied} == before
    assert all(r["copied_from"] and r["config"]["dataset"]["root"] == str(renamed) for r in copied)
    assert "segmentation-folder[label=gtea_v2]" in boards(tmp_path)
