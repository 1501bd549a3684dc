"""Published reference results (``baselines/*.yaml``, shipped as ``mmfuse/baselines``).

Each file holds one paper: its source and, per table block, the task, the dataset setting as
the paper states it, the mmfuse dataset configuration that reproduces that setting
(``matches``) and the numbers. Every file is validated on load; an error names the file, the
block and the row. A leaderboard shows a block's rows only when its task is the block's task
and the board's resolved dataset config holds every value of ``matches``, or of one of its
alternatives (lists compared as sets, so ``[rgb, depth]`` equals ``[depth, rgb]``); α/β match
through the column keys, which
come from the task's own code, never from typed headers. Schema: ``baselines/README.md``.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml
from omegaconf import OmegaConf

from mmfuse.config import options
from mmfuse.errors import ConfigError
from mmfuse.registry import DATASETS, TASKS, create_task
from mmfuse.results.cells import NOT_PART_OF_A_DATASET_LABEL

PAPER_KEYS = {"paper", "short", "authors", "venue", "url", "tables"}
TABLE_KEYS = {"table", "source", "what", "task", "dataset", "modalities", "split", "protocol", "matches", "rows"}
ROW_KEYS = {"method", "values", "std", "note"}
REQUIRED_PAPER = ("paper", "short", "authors", "venue", "url")
REQUIRED_TABLE = ("table", "source", "what", "task", "dataset", "modalities", "split", "matches", "rows")


@dataclass(frozen=True)
class ReportedRow:
    """One published row: method name as the paper prints it, values keyed like the task's columns."""

    method: str
    source: str  # e.g. "R3D, Table 1"
    values: Mapping[str, float]
    std: Mapping[str, float]


@dataclass(frozen=True)
class ReportedTable:
    """One block of a paper's table: one task, one dataset setting, its rows."""

    source: str  # e.g. "R3D, Table 1"
    task: str
    matches: tuple[Mapping[str, Any], ...]  # alternatives: dataset configurations of this setting
    rows: tuple[ReportedRow, ...]


def shipped_directory() -> Path:
    """``baselines/`` inside the installed package (a symlink to the top-level folder in a checkout)."""
    return Path(str(files("mmfuse") / "baselines"))


@lru_cache(maxsize=None)
def task_columns(task: str) -> dict[str, str]:
    """``{column key: header}`` of a task built from its config ``configs/task/<task>.yaml``."""
    config = files("mmfuse.configs") / "task" / f"{task}.yaml"
    task_cfg = OmegaConf.to_container(OmegaConf.load(str(config))) if config.is_file() else {}
    return {c.key: c.header for c in create_task(task, **options(task_cfg, "defaults")).columns}  # type: ignore[arg-type]


def _check_keys(node: Any, allowed: set[str], required: Sequence[str], where: str) -> None:
    if not isinstance(node, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(node).__name__}")
    unknown = sorted(set(node) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    missing = [key for key in required if node.get(key) in (None, "", [])]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)} (see baselines/README.md)")


def _numbers(node: Any, columns: Mapping[str, str], task: str, where: str) -> dict[str, float]:
    """Percentages keyed by the task's column keys."""
    if not isinstance(node, dict) or not node:
        raise ConfigError(f"{where}: expected a non-empty mapping of column key -> number")
    out = {}
    for key, value in node.items():
        if key not in columns:
            known = ", ".join(f"{k} ({h})" for k, h in columns.items())
            raise ConfigError(f"{where}: unknown column {key!r} for task {task}; its columns are: {known}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{where}.{key}: expected a number in percent, got {value!r}")
        if not 0 <= value <= 100:
            raise ConfigError(f"{where}.{key}: {value} is outside [0, 100] (values are percentages)")
        out[str(key)] = float(value)
    return out


def _check_matches(matches: Any, where: str) -> dict[str, Any]:
    """``matches`` is a partial dataset config: a registered ``name``, ``modalities``, and options."""
    if not isinstance(matches, dict):
        raise ConfigError(f"{where}: expected a mapping (a partial dataset config), got {matches!r}")
    name = str(matches.get("name"))
    try:
        parameters = inspect.signature(DATASETS.get(name)).parameters
    except ConfigError as error:
        raise ConfigError(f"{where}.name: {error}") from None
    modalities = matches.get("modalities")
    if not isinstance(modalities, list) or not modalities or not all(isinstance(m, str) for m in modalities):
        raise ConfigError(f"{where}.modalities: list the modality names of the setting, e.g. [rgb, depth]")
    for key in matches:
        if key in NOT_PART_OF_A_DATASET_LABEL:
            raise ConfigError(f"{where}.{key}: not part of a protocol; remove it")
        if key != "name" and key not in parameters:
            known = ", ".join(p for p in parameters if p not in NOT_PART_OF_A_DATASET_LABEL)
            raise ConfigError(f"{where}.{key}: dataset {name!r} has no option {key!r}; its options: {known}")
    return dict(matches)


def _parse_table(node: Any, short: str, where: str) -> ReportedTable:
    _check_keys(node, TABLE_KEYS, REQUIRED_TABLE, where)
    source = f"{short}, Table {node['table']}"
    where = f"{where} (Table {node['table']})"
    task = str(node["task"])
    try:
        TASKS.get(task)
    except ConfigError as error:
        raise ConfigError(f"{where}.task: {error}") from None
    columns = task_columns(task)
    alternatives = node["matches"] if isinstance(node["matches"], list) else [node["matches"]]
    matches = tuple(_check_matches(m, f"{where}.matches[{i}]") for i, m in enumerate(alternatives))
    if not isinstance(node["rows"], list):
        raise ConfigError(f"{where}.rows: expected a list of rows")
    rows, seen = [], set()
    for index, row in enumerate(node["rows"]):
        at = f"{where}.rows[{index}]"
        _check_keys(row, ROW_KEYS, ("method", "values"), at)
        method = str(row["method"])
        if method in seen:
            raise ConfigError(f"{at}: method {method!r} appears twice in this block; name the rows apart")
        seen.add(method)
        at = f"{at} ({method})"
        values = _numbers(row["values"], columns, task, f"{at}.values")
        std = _numbers(row["std"], columns, task, f"{at}.std") if row.get("std") is not None else {}
        extra = sorted(set(std) - set(values))
        if extra:
            raise ConfigError(f"{at}.std: {', '.join(extra)} has a std but no value")
        rows.append(ReportedRow(method, source, values, std))
    return ReportedTable(source, task, matches, tuple(rows))


def read_baseline_file(path: Path) -> list[ReportedTable]:
    """Every table block of one paper's file, validated; ``ConfigError`` names what is wrong."""
    path = Path(path)
    try:
        paper = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot be read as YAML ({error})") from None
    _check_keys(paper, PAPER_KEYS, REQUIRED_PAPER, str(path))
    if not isinstance(paper.get("tables"), list):
        raise ConfigError(f"{path}: 'tables' must be a list (empty while no table has been read)")
    short = str(paper["short"])
    return [_parse_table(table, short, f"{path}: tables[{i}]") for i, table in enumerate(paper["tables"])]


def load_baselines(directory: Path | None = None) -> list[ReportedTable]:
    """Every table of every ``*.yaml`` in ``directory`` (default: the shipped ``baselines/``)."""
    directory = shipped_directory() if directory is None else Path(directory)
    return [table for path in sorted(directory.glob("*.yaml")) for table in read_baseline_file(path)]


def _same(have: Any, wanted: Any) -> bool:
    if isinstance(have, (list, tuple)) and isinstance(wanted, (list, tuple)):
        return sorted(map(repr, have)) == sorted(map(repr, wanted))
    return have == wanted


def matches(table: ReportedTable, task: str, dataset_cfg: Mapping[str, Any]) -> bool:
    """True when ``task`` is the table's and the resolved dataset config holds every value of one
    of the table's ``matches`` alternatives."""
    return task == table.task and any(
        all(key in dataset_cfg and _same(dataset_cfg[key], wanted) for key, wanted in alternative.items())
        for alternative in table.matches
    )


def reported_rows(
    records: Iterable[Mapping[str, Any]], tables: Sequence[ReportedTable] | None = None
) -> dict[tuple[str, str], list[ReportedRow]]:
    """Reported rows per (task, dataset label), matched against each board's newest record's config."""
    newest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for record in sorted(records, key=lambda r: r.get("created", "")):
        newest[(record["task"], record["dataset"])] = record
    tables = load_baselines() if tables is None else tables
    found: dict[tuple[str, str], list[ReportedRow]] = {}
    for key, record in newest.items():
        dataset_cfg = record.get("config", {}).get("dataset", {})
        rows = [row for table in tables if matches(table, key[0], dataset_cfg) for row in table.rows]
        if rows:
            found[key] = rows
    return found
