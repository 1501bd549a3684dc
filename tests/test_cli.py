"""End to end through the `mmfuse` command line, in-process, on tiny configs."""
from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from mmfuse.cli import main
from mmfuse.registry import REGISTRIES
from mmfuse.results.records import RunRecord
from tiny_config import TINY


def records(runs: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(runs.rglob("result.json"))]


def test_list_shows_every_registered_plugin(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for kind, registry in REGISTRIES.items():
        assert kind in out
        for name in registry.list():
            assert name in out


def test_list_unknown_kind_fails_cleanly(capsys):
    assert main(["list", "fusoin"]) == 2
    err = capsys.readouterr().err
    assert "fusion" in err and "Traceback" not in err


def test_unknown_plugin_name_suggests_the_closest(capsys, tiny_paths):
    assert main(["run", "fusion=conact", *tiny_paths]) == 2
    err = capsys.readouterr().err
    assert "'concat'" in err and "mmfuse list fusion" in err


def test_impossible_anticipation_fractions_are_refused(capsys, tiny_paths):
    assert main(["run", "task=anticipation", "task.predict=[0.7]", *tiny_paths]) == 2
    assert "β=0.7" in capsys.readouterr().err


def test_bench_grid_runs_skips_and_writes_leaderboards(tmp_path, tiny_paths, capsys):
    grid = ["fusion=concat,single", "task=segmentation,anticipation", "seed=1,2", *TINY, *tiny_paths]
    assert main(["bench", *grid]) == 0
    runs = records(tmp_path / "runs")
    # concat + single per modality (2) = 3 cells, x 2 tasks x 2 seeds
    assert len(runs) == 12
    cells = {r["cell"] for r in runs}
    assert cells == {"concat", "single[modality=m0]", "single[modality=m1]"}
    for record in runs:
        assert record["status"] == "finished" and set(record) == {f.name for f in fields(RunRecord)}
        assert all(0.0 <= v <= 100.0 for v in record["metrics"].values())
        assert {"fused"} <= set(record["effective_rank"])
        assert (Path(record["config"]["paths"]["runs"]).is_dir())
    seg = next(r for r in runs if r["task"] == "segmentation")
    assert set(seg["metrics"]) == {"accuracy", "edit", "f1@10", "f1@25", "f1@50"}
    ant = next(r for r in runs if r["task"] == "anticipation")
    assert len(ant["metrics"]) == 8 and "moc_obs30_pred50" in ant["metrics"]

    boards = tmp_path / "leaderboards"
    label = runs[0]["dataset"]
    assert label.startswith("synthetic[") and "num_train=6" in label
    markdown = (boards / f"anticipation-{label}.md").read_text()
    assert "α=0.2 β=0.1" in markdown and "± " in markdown and "single[modality=m0]" in markdown
    for suffix in ("md", "csv", "tex", "html"):
        assert (boards / f"segmentation-{label}.{suffix}").is_file()
    assert "\\toprule" in (boards / f"segmentation-{label}.tex").read_text()
    assert "single[modality=m1]" in capsys.readouterr().out

    capsys.readouterr()
    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "runs").rglob("result.json")}
    assert main(["bench", *grid]) == 0
    assert "0 run(s) finished, 12 skipped" in capsys.readouterr().out
    assert mtimes == {p: p.stat().st_mtime_ns for p in (tmp_path / "runs").rglob("result.json")}


def test_bench_crosses_fusers_with_regularizers_on_the_default_dataset(tmp_path, tiny_paths, capsys):
    grid = ["fusion=rtf,afft_sa,concat", "regularizer=none,dagr", "task=segmentation", "seed=1", *TINY, *tiny_paths]
    assert main(["bench", *grid]) == 0
    cells = {r["cell"] for r in records(tmp_path / "runs")}
    expected = {"rtf", "afft_sa", "concat", "rtf[regularizer=dagr]", "afft_sa[regularizer=dagr]", "concat[regularizer=dagr]"}
    assert cells == expected
    [board] = (tmp_path / "leaderboards").glob("segmentation-*.md")
    assert all(f"| {cell} " in board.read_text() for cell in expected)


def test_a_failing_run_keeps_the_finished_ones(tmp_path, tiny_paths, monkeypatch, capsys):
    import mmfuse.engine.job as job

    real = job.train_and_evaluate

    def fails_for_seed_2(**kwargs):
        if kwargs["seed"] == 2:
            raise RuntimeError("boom")
        return real(**kwargs)

    monkeypatch.setattr(job, "train_and_evaluate", fails_for_seed_2)
    grid = ["fusion=concat", "task=segmentation", "seed=1,2,3", *TINY, *tiny_paths]
    assert main(["bench", *grid]) == 1
    out = capsys.readouterr()
    assert "boom" in out.out + out.err
    assert sorted(r["seed"] for r in records(tmp_path / "runs")) == [1, 3]
    assert len(list((tmp_path / "runs").rglob("failure.txt"))) == 1

    monkeypatch.setattr(job, "train_and_evaluate", real)
    assert main(["bench", *grid]) == 0
    assert "1 run(s) finished, 2 skipped" in capsys.readouterr().out
    assert sorted(r["seed"] for r in records(tmp_path / "runs")) == [1, 2, 3]
    assert not list((tmp_path / "runs").rglob("failure.txt"))


def test_run_and_leaderboard_commands(tmp_path, tiny_paths, capsys):
    assert main(["run", "fusion=concat", "task=segmentation", *TINY, *tiny_paths]) == 0
    out_dir = tmp_path / "tables"
    assert main(["leaderboard", str(tmp_path / "runs"), "--out", str(out_dir)]) == 0
    csv_path, seeds_path = sorted(out_dir.glob("segmentation-*.csv"))
    assert csv_path.read_text().splitlines()[0].startswith("task,dataset,method,accuracy_mean")
    assert seeds_path.name.endswith(".seeds.csv")
    assert seeds_path.read_text().splitlines()[0] == "task,dataset,method,seed,metric,header,value,created,run"
    assert main(["leaderboard", str(tmp_path / "nothing")]) == 2


def test_run_refuses_a_grid(capsys, tiny_paths):
    assert main(["run", "seed=1,2", *tiny_paths]) == 2
    assert "mmfuse bench" in capsys.readouterr().err


def test_bench_plans_the_experiment_grid_and_its_extra_cells():
    from mmfuse.commands.bench import plan_sweeps

    sweeps, _, _ = plan_sweeps([])
    assert sweeps[0] == [
        "fusion=concat,single,rtf,afft_sa",
        "task=anticipation,segmentation",
        "seed=1,10,13452",
        "experiment=default",
    ]
    assert sweeps[1] == ["task=anticipation,segmentation", "seed=1,10,13452", "experiment=default", "fusion=rtf", "regularizer=dagr"]
    # an axis on the command line replaces the experiment's, and drops extra cells that set it
    sweeps, _, _ = plan_sweeps(["fusion=concat", "seed=1"])
    assert sweeps == [["task=anticipation,segmentation", "experiment=default", "fusion=concat", "seed=1"]]


def test_a_launch_composes_naming_references_once_per_choice_of_groups():
    from mmfuse.commands.hydra_app import choosing_overrides, naming_references

    jobs = choosing_overrides(["fusion=concat,rtf", "seed=1,2,3", "dataset.noise=0.5,1.0", "model.dim=32"])
    assert jobs == [["fusion=concat", "model.dim=32"], ["fusion=rtf", "model.dim=32"]]
    references = naming_references(["fusion=concat,rtf", "seed=1,2", "dataset=utkinect_r3d"])
    root = "dataset=utkinect_r3d,encoder=projection,fusion={},regularizer=none,temporal=mstcn,task=segmentation"
    assert sorted(references.roots) == [root.format("concat"), root.format("rtf")]
    assert references.task_choices["segmentation"]["temporal"] == "mstcn"  # the task chooses its temporal model
    assert list(references.adapters) == ["darai"] and references.adapters["darai"]["layout"] == "darai"


def test_a_bench_reads_each_split_once_to_validate_and_train(tmp_path, tiny_paths, monkeypatch):
    from folder_fixtures import make_folder_dataset

    from mmfuse.data.folder import FolderDataset

    reads = []
    real = FolderDataset._load

    def counted(self, split, keep=True):
        reads.append(split)
        return real(self, split, keep)

    monkeypatch.setattr(FolderDataset, "_load", counted)
    root = make_folder_dataset(tmp_path / "data")
    grid = ["dataset=folder", f"dataset.root={root}", "dataset.train.epochs=1", "fusion=concat,single", "seed=1,2"]
    assert main(["bench", *grid, "task=segmentation", *tiny_paths]) == 0
    assert len(records(tmp_path / "runs")) == 2 * 3
    assert sorted(reads) == ["test", "train"]
