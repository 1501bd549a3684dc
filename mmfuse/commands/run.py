"""Train and evaluate one configuration (one run; `fusion=single` runs each modality)."""
from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mmfuse.commands.hydra_app import compose_config, launch, parse_overrides
from mmfuse.commands.validate import check_launch_datasets
from mmfuse.errors import ConfigError
from mmfuse.results.records import RESULT_FILE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "example: mmfuse run fusion=concat task=anticipation seed=10"
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. fusion=concat task=segmentation")


def metrics_table(record: dict) -> Table:
    """Every metric of one run record, under the task's column headers."""
    table = Table(title=escape(f"{record['task']} / {record['dataset']} / {record['cell']} seed={record['seed']}"))
    for column in record["columns"]:
        table.add_column(escape(column["header"]), justify="right")
    table.add_row(*(f"{record['metrics'][c['key']]:.2f}" for c in record["columns"]))
    return table


def run(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    if any(o.is_sweep_override() for o in parse_overrides(overrides)):
        raise ConfigError("`mmfuse run` runs one configuration; use `mmfuse bench` for a grid (a=x,y).")
    cfg = compose_config(overrides)
    console = Console(soft_wrap=True)
    check_launch_datasets([cfg], console)
    directory = Path(cfg.paths.runs) / ".hydra" / f"run-{dt.datetime.now():%Y%m%d-%H%M%S-%f}"
    outcomes = launch(overrides, multirun=False, directory=directory)
    for outcome in outcomes:
        if outcome.status != "failed":
            console.print(metrics_table(json.loads((Path(outcome.run_dir) / RESULT_FILE).read_text())))
            console.print(escape(f"run record: {outcome.run_dir}"))
    return 1 if any(o.status == "failed" for o in outcomes) else 0
