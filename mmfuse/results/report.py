"""The report page of a bench: one self-contained HTML file (``index.html``) holding every board with
its marks, metric notes and reported rows, each measured row's runs (hash, device, versions,
resolved config) and the figures drawn beside the boards, embedded; readable offline (no request
leaves the file), sortable by column, printable. Written from the boards, the long table of the run
records and the figures' PNG files alone, byte-identical for the same inputs."""
from __future__ import annotations

import base64
import datetime as dt
import glob
import struct
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
from jinja2 import Environment
from omegaconf import OmegaConf

from mmfuse import __version__
from mmfuse.results.render import Leaderboard

REPORT_FILE = "index.html"
TEMPLATE = "report.html.j2"
VERSIONS = ("mmfuse", "torch", "numpy", "python", "cuda", "platform")  # in the order a row's runs list them
FIGURE_SCALE = 96 / 150  # CSS pixels per PNG pixel: the figures at the size they print (mmfuse.figures.style.DPI)


@dataclass(frozen=True)
class Run:
    """One seed of a measured row, as its record holds it."""

    seed: int
    hash: str
    device: str
    created: str
    versions: str  # "mmfuse 0.1.0 · torch 2.5.1 · …", the empty ones left out
    corruption: str  # the test-time corruption's settings; empty for a clean run
    config: str  # the resolved config, as YAML


@dataclass(frozen=True)
class Value:
    text: str  # mean ± std as the board prints it
    value: float | None  # the mean, to sort by
    mark: str  # the board's mark: "best", "tied" or ""


@dataclass(frozen=True)
class ReportRow:
    anchor: str  # id of the row's runs on the page
    method: str
    source: str
    values: list[Value]
    n: str
    runs: list[Run]


@dataclass(frozen=True)
class Figure:
    kind: str  # e.g. ``robustness-noise``, ``spectra``
    file: str
    uri: str  # the PNG as a data URI
    width: int  # shown, in CSS pixels
    height: int


@dataclass(frozen=True)
class Section:
    """One board as the page shows it."""

    board: Leaderboard
    anchor: str
    measured: list[ReportRow]
    reported: list[ReportRow]
    figures: list[Figure]


def runs_of(board: Leaderboard, records: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The records behind each measured row of ``board``, by cell, one per seed in seed order: the
    runs its long table counts (``board.runs``: of several runs of one seed, the newest), found in
    ``records`` by their directory (``path``, as :func:`~mmfuse.results.records.load_records` reads them)."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for line in board.runs.drop_duplicates(["cell", "seed"]).itertuples():
        runs.setdefault(line.cell, []).append(records[line.run])
    return runs


def run_of(record: dict[str, Any]) -> Run:
    versions = record.get("versions") or {}
    corruption = record.get("corruption") or {}
    return Run(
        seed=int(record["seed"]),
        hash=str(record.get("hash", "")),
        device=str(record.get("device", "")),
        created=when(str(record.get("created", ""))),
        versions=" · ".join(f"{name} {versions[name]}" for name in VERSIONS if versions.get(name)),
        corruption=", ".join(f"{k}={v}" for k, v in corruption.items()) if corruption.get("name", "none") != "none" else "",
        config=OmegaConf.to_yaml(OmegaConf.create(record.get("config") or {})),
    )


def figures_of(board: Leaderboard, directory: Path) -> list[Figure]:
    """The PNG figures drawn for ``board`` in ``directory`` (``<kind>-<board slug>.png``), by name."""
    suffix = f"-{board.slug}.png"
    figures = []
    for path in sorted(Path(directory).glob(f"*{glob.escape(suffix)}")):
        data = path.read_bytes()
        width, height = struct.unpack(">II", data[16:24])  # the PNG's IHDR chunk
        figures.append(Figure(
            path.name[: -len(suffix)], path.name, "data:image/png;base64," + base64.b64encode(data).decode(),
            round(width * FIGURE_SCALE), round(height * FIGURE_SCALE),
        ))
    return figures


def when(created: str) -> str:
    """An ISO 8601 time as ``YYYY-MM-DD HH:MM:SS`` in UTC; unparsable text as it is."""
    try:
        return dt.datetime.fromisoformat(created).astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return created


def section(number: int, board: Leaderboard, records: dict[str, dict[str, Any]], directory: Path) -> Section:
    """Board ``number``: its measured rows with their runs, its reported rows apart, its figures."""
    runs = runs_of(board, records)
    rows: list[ReportRow] = []
    for index, line in board.table.iterrows():
        measured = bool(board.measured.iat[index])
        values = [
            Value(
                board.cell_text(index, c.key),
                None if pd.isna(line[f"{c.key}_mean"]) else float(line[f"{c.key}_mean"]),
                board.mark(index, c.key),
            )
            for c in board.columns
        ]
        found = runs.get(line.method, []) if measured else []
        rows.append(
            ReportRow(
                f"board{number}-row{index}", line.method, line.source, values,
                str(int(line.n)) if measured else "–", [run_of(record) for record in found],
            )
        )
    measured_rows = [row for row, measured in zip(rows, board.measured) if measured]
    reported_rows = [row for row, measured in zip(rows, board.measured) if not measured]
    return Section(board, f"board{number}", measured_rows, reported_rows, figures_of(board, directory))


def render_report(boards: Sequence[Leaderboard], records: Sequence[dict[str, Any]], directory: Path) -> str:
    """The page of ``boards`` (built from ``records``) with the figures found in ``directory``."""
    by_path = {str(record["path"]): record for record in records}
    created = sorted(str(r.get("created", "")) for r in records if r.get("created"))
    template = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string(
        files("mmfuse.results").joinpath(TEMPLATE).read_text(encoding="utf-8")
    )
    return template.render(
        sections=[section(number, board, by_path, directory) for number, board in enumerate(boards)],
        version=__version__,
        records=len(records),
        first=when(created[0]) if created else "",
        last=when(created[-1]) if created else "",
    )


def write_report(boards: Sequence[Leaderboard], records: Sequence[dict[str, Any]], directory: Path) -> Path:
    """Write the report page of ``boards`` as ``directory/index.html``; return its path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / REPORT_FILE
    path.write_text(render_report(boards, records, directory), encoding="utf-8")
    return path
