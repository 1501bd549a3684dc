"""Run the robustness experiments (issue 14, DESIGN §9) on the default dataset and on the real
UTKinect skeletons, and record what they cost and what they show.

For each of `r3d_robustness` and `dagr_robustness`, on `synthetic_noisy` (the experiments' default)
and on UTKinect (`dataset=utkinect dataset.root=…`), this runs `mmfuse bench experiment=NAME` in a
fresh folder and reads its run records: how many models were trained and how many corrupted
evaluations re-used them (a corrupted record names the run whose model.pt it evaluated and has
train_seconds 0), the wall time, and per trained cell the primary metric under every condition.
The figures `mmfuse bench` drew for the synthetic runs are copied to docs/figures/ for the README.

    python bench/robustness_bench.py [--root ../shared/data/utkinect] [--keep DIR [--resume | --summarise]] [--note TEXT]

With `--resume` a kept folder's finished runs are skipped (mmfuse never reruns a finished run) and
the wall time is the sum over the invocations that ran it, kept in the folder's `wall_seconds`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from statistics import mean, stdev

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "robustness.md"
FIGURES = REPO / "docs" / "figures"
DEFAULT_ROOT = REPO / ".." / "shared" / "data" / "utkinect"
EXPERIMENTS = ("r3d_robustness", "dagr_robustness")
SHOWN = {  # the figures the README shows, one of each kind: experiment -> kinds
    "r3d_robustness": ("robustness-noise", "spectra", "rank-gains", "rank-gain-under-noise"),
    "dagr_robustness": ("robustness-frame_drop", "training-curves"),
}


def run_experiment(experiment: str, dataset: list[str], folder: Path) -> float:
    """Run the experiment in ``folder``; the wall seconds of every invocation there, summed."""
    folder.mkdir(parents=True, exist_ok=True)
    spent = folder / "wall_seconds"
    before = float(spent.read_text()) if spent.is_file() else 0.0
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mmfuse.cli", "bench", f"experiment={experiment}", *dataset],
                   cwd=folder, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    total = before + time.perf_counter() - started
    spent.write_text(f"{total:.1f}")
    return total


def condition(record: dict) -> str:
    corruption = record.get("corruption") or {"name": "none"}
    if corruption["name"] == "none":
        return "clean"
    return f"{corruption['name']} {corruption['modality']} {corruption['level']:g}"


def summarise(folder: Path, experiment: str, label: str, seconds: float) -> list[str]:
    records = [json.loads(p.read_text()) for p in sorted((folder / "runs").rglob("result.json"))]
    trained = [r for r in records if not r.get("trained_in")]
    reevaluated = [r for r in records if r.get("trained_in")]
    assert all((folder / r["trained_in"] / "model.pt").is_file() for r in reevaluated)
    assert all(r["train_seconds"] == 0 for r in reevaluated)
    keys = [c["key"] for c in records[0]["columns"]]
    averaged = records[0]["task"] == "anticipation"  # as the figures: MoC averaged over every (α, β)
    header = f"MoC averaged over {len(keys)} (α, β)" if averaged else records[0]["columns"][0]["header"]
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for record in records:
        value = mean(record["metrics"][k] for k in keys) if averaged else record["metrics"][keys[0]]
        values[(record.get("trained_cell") or record["cell"], condition(record))].append(value)
    cells = sorted({cell for cell, _ in values})
    conditions = ["clean", *sorted({c for _, c in values} - {"clean"})]
    short = {cell: cell if len(cell) < 40 else cell.split("[")[0] + "[…" + ",".join(
        p for p in cell.split("[", 1)[1].rstrip("]").split(",") if p.startswith(("preset", "ratio", "regularizer"))) + "]"
        for cell in cells}
    figures = sorted(p.name for p in (folder / "leaderboards").glob("*.png"))
    lines = [
        f"## `mmfuse bench experiment={experiment}` on {label}",
        "",
        f"- wall time **{seconds:.0f} s**; **{len(trained)} models trained** "
        f"({mean(r['train_seconds'] for r in trained):.1f} s of training each, {min(r['train_seconds'] for r in trained):.0f}-{max(r['train_seconds'] for r in trained):.0f} s), **{len(reevaluated)} corrupted "
        f"evaluations** of those models, none retrained ({mean(r['wall_seconds'] for r in reevaluated):.1f} s each, "
        "train_seconds 0, each record naming the run whose model.pt it evaluated)",
        f"- figures drawn by the bench: {', '.join(figures) or 'none'}",
        "",
        f"{header} (%), mean ± std over seeds:",
        "",
        "| cell | " + " | ".join(conditions) + " |",
        "|---|" + "---|" * len(conditions),
    ]
    for cell in cells:
        shown = [values.get((cell, c), []) for c in conditions]
        lines.append(f"| {short[cell]} | " + " | ".join(
            f"{mean(v):.1f} ± {stdev(v):.1f}" if len(v) > 1 else (f"{v[0]:.1f}" if v else "") for v in shown) + " |")
    return [*lines, "", *rank_gains(records, short), ""]


def rank_gains(records: list[dict], short: dict[str, str]) -> list[str]:
    """Each clean cell's effective-rank gains (ERank after / before fusion), mean over seeds."""
    gains: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        shown = (record.get("representation") or {})
        if condition(record) == "clean" and shown.get("rank_gain"):
            for name, value in {**shown["rank_gain"], "harmonic mean": shown.get("rank_gain_harmonic_mean")}.items():
                if value is not None:
                    gains[record["trained_cell"]][name].append(value)
    if not gains:
        return []
    return ["Effective-rank gain of the clean runs (ERank after / before fusion), mean over seeds:", "",
            *(f"- {short[cell]}: " + ", ".join(f"{name} {mean(v):.3f}" for name, v in sorted(by.items()))
              for cell, by in sorted(gains.items()))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="UTKinect folder holding joints/")
    parser.add_argument("--keep", type=Path, help="keep the runs here (default: a temporary folder)")
    parser.add_argument("--resume", action="store_true", help="with --keep: go on with the kept runs")
    parser.add_argument("--summarise", action="store_true", help="with --keep: only summarise the kept runs again")
    parser.add_argument("--note", default="", help="a line on how the machine was used, kept in the report")
    args = parser.parse_args()
    root = args.root.resolve()
    datasets = [("synthetic_noisy (the experiments' default)", "synthetic", [])]
    if (root / "joints").is_dir():
        datasets.append(("the real UTKinect skeletons", "utkinect", ["dataset=utkinect", f"dataset.root={root}"]))
    else:
        print(f"{root}: no joints/ folder; UTKinect skipped", file=sys.stderr)
    report = [
        "# Robustness experiments: train once, evaluate under every corruption",
        "",
        f"Produced by `python bench/robustness_bench.py` on {dt.date.today()} ({os.cpu_count()} CPUs, "
        f"{platform.machine()}, python {platform.python_version()}).",
        "",
        *([args.note, ""] if args.note else []),
    ]
    with tempfile.TemporaryDirectory() as temporary:
        base = args.keep or Path(temporary)
        for label, name, overrides in datasets:
            for experiment in EXPERIMENTS:
                folder = base / f"{experiment}-{name}"
                if args.keep and args.summarise:
                    seconds = float((folder / "wall_seconds").read_text())
                else:
                    if not (args.keep and args.resume):
                        shutil.rmtree(folder, ignore_errors=True)
                    seconds = run_experiment(experiment, overrides, folder)
                report += summarise(folder, experiment, label, seconds)
                print("\n".join(report[-12:]), flush=True)
                if name == "synthetic":
                    FIGURES.mkdir(parents=True, exist_ok=True)
                    for figure in (folder / "leaderboards").glob("*.png"):
                        kind = figure.stem.split("-anticipation-")[0].split("-segmentation-")[0]
                        if kind in SHOWN[experiment]:
                            shutil.copy2(figure, FIGURES / f"{experiment}-{kind}.png")
    RESULTS.write_text("\n".join(report))
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
