"""Run a grid of methods × tasks × seeds (an experiment), then print and write the leaderboard.

Overrides are Hydra's: `key=value`, and `key=a,b,c` for a grid axis. With none, the `default`
experiment runs. An axis given on the command line replaces the experiment's. Finished runs
are skipped; `hydra/launcher=joblib` runs cells in parallel processes. Each dataset is read
once: with the default launcher the jobs train on the videos its validation read
(`engine.datasets`); with launchers that start other processes each of them reads it once more.

Run records go to `paths.runs` (default: runs/ in the current folder, one folder per run:
<runs>/<task>/<dataset>/<cell>/seed<s>-<hash8>/); leaderboards (md, csv, tex, html) and figures
to `paths.leaderboards` (default: leaderboards/). Set either on the command line, e.g.
`paths.runs=/data/mmfuse/runs`. `mmfuse config experiment=NAME` prints what a grid composes.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

from omegaconf import DictConfig
from rich.console import Console
from rich.markup import escape

from mmfuse.commands.hydra_app import check_sweeps, compose_config, count_jobs, launch, parse_overrides
from mmfuse.commands.validate import check_launch_datasets
from mmfuse.engine.job import OUTCOME_FILE
from mmfuse.figures import draw_figures
from mmfuse.results.leaderboard import board_records, leaderboards_of, publish
from mmfuse.results.report import write_report

EXAMPLES = """examples:
  mmfuse bench
  mmfuse bench fusion=concat,single task=segmentation seed=1
  mmfuse bench dataset=folder dataset.root=PATH fusion=concat task=segmentation seed=1
  mmfuse bench experiment=default hydra/launcher=joblib
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXAMPLES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. fusion=concat,single seed=1,10")


def plan_sweeps(overrides: list[str]) -> tuple[list[list[str]], list[str], DictConfig]:
    """Hydra sweeps to launch, the plain (non-sweep) overrides, and the config they compose.

    The first sweep is the experiment's ``grid`` with command-line axes replacing its own;
    each of the experiment's ``extra_cells`` (e.g. ``fusion=rtf regularizer=dagr``) adds a
    sweep over the remaining axes, unless the command line sets one of the keys it sets.
    """
    parsed = parse_overrides(overrides)
    experiment = next((o.value() for o in parsed if o.key_or_group == "experiment"), None)
    plain = [text for text, o in zip(overrides, parsed) if not o.is_sweep_override()]
    if experiment is None:
        plain.insert(0, "experiment=default")
        overrides = ["experiment=default", *overrides]
    cfg = compose_config(plain)
    given = {o.key_or_group for o in parsed}
    axes = {str(key): str(value) for key, value in cfg.grid.items() if key not in given}
    sweeps = [[*(f"{k}={v}" for k, v in axes.items()), *overrides]]
    for cell in cfg.extra_cells:
        settings = [part for part in str(cell).split() if part]
        keys = {part.split("=", 1)[0] for part in settings}
        if not keys & given:
            sweeps.append([*(f"{k}={v}" for k, v in axes.items() if k not in keys), *overrides, *settings])
    check_sweeps(sweeps)
    return sweeps, plain, cfg


def datasets_to_check(sweeps: list[list[str]], plain: list[str], cfg: DictConfig) -> list[DictConfig]:
    """The config of every dataset the grid touches, to validate each before training."""
    names = {
        name
        for sweep in sweeps
        for o in parse_overrides(sweep)
        if o.key_or_group == "dataset" and o.is_sweep_override()
        for name in o.sweep_string_iterator()
    }
    if not names:
        return [cfg]
    base = [p for p in plain if not p.startswith("dataset=")]
    return [compose_config([*base, f"dataset={name}"]) for name in sorted(names)]


def once_per_run(outcomes: list[dict]) -> list[dict]:
    """One outcome per run directory: a grid can name one run twice (``corruption=none`` crossed with
    ``corruption.level=a,b`` is the same clean run), and a run that finished in this bench counts as
    finished, not also as skipped. Outcomes without a run directory (a dataset that failed) all count."""
    rank = {"finished": 0, "failed": 1, "skipped": 2}
    best: dict[str, dict] = {}
    kept = []
    for outcome in outcomes:
        where = outcome.get("run_dir")
        if not where:
            kept.append(outcome)
        elif where not in best or rank[outcome["status"]] < rank[best[where]["status"]]:
            best[where] = outcome
    return [*kept, *best.values()]


def run(args: argparse.Namespace) -> int:
    console = Console(soft_wrap=True)
    sweeps, plain, cfg = plan_sweeps(list(args.overrides))
    check_launch_datasets(datasets_to_check(sweeps, plain, cfg), console)
    runs_root = Path(cfg.paths.runs)
    started = f"{dt.datetime.now():%Y%m%d-%H%M%S-%f}"
    outcomes = []
    jobs, grid_started = [count_jobs(sweep) for sweep in sweeps], time.time()
    for number, sweep in enumerate(sweeps):
        sweep_dir = runs_root / ".hydra" / f"sweep-{started}-{number}"
        launch(sweep, multirun=True, directory=sweep_dir, progress=(sum(jobs[:number]), sum(jobs), grid_started))
        outcomes += [o for path in sorted(sweep_dir.glob(f"*/{OUTCOME_FILE}")) for o in json.loads(path.read_text())]

    outcomes = once_per_run(outcomes)
    counts = {status: sum(o["status"] == status for o in outcomes) for status in ("finished", "skipped", "failed")}
    touched = {(o["task"], o["dataset"]) for o in outcomes if o["status"] != "failed"}
    records = board_records(runs_root, only=touched)
    boards = leaderboards_of(records)
    publish(boards, Path(cfg.paths.leaderboards))
    figures = draw_figures(records, Path(cfg.paths.leaderboards))
    if figures:
        console.print(escape(f"Figures written to {cfg.paths.leaderboards}/ ({', '.join(sorted({p.stem for p in figures}))})"))
    if boards:
        console.print(escape(f"Report written to {write_report(boards, records, Path(cfg.paths.leaderboards))}"))
    console.print(
        f"{counts['finished']} run(s) finished, {counts['skipped']} skipped (finished before), {counts['failed']} failed."
    )
    for outcome in outcomes:
        if outcome["status"] == "failed":
            where = f"{outcome['task']} / {outcome['dataset']} / {outcome['cell']} seed={outcome['seed']}"
            console.print(f"[red]failed:[/red] {escape(where)}: {escape(outcome['message'])}")
    return 1 if counts["failed"] else 0
