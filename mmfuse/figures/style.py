"""The figures' shared look and their saving: matplotlib's defaults (whatever the user's matplotlibrc
says) with larger fonts, a colour per trained cell, panels in rows of three, one legend below them,
and files that are byte-identical for the same records (fixed DPI, no dates in their metadata)."""
from __future__ import annotations

import math
import textwrap
from contextlib import AbstractContextManager
from fnmatch import fnmatchcase
from pathlib import Path

import matplotlib
import matplotlib.style
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mmfuse.figures.board import Board
from mmfuse.metrics.columns import Column
from mmfuse.results.metric_notes import METRICS

DPI = 150
PANEL_SIZE = (4.6, 3.6)  # inches
PER_ROW = 3
FONTS = {
    "font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10,
    "ytick.labelsize": 10, "legend.fontsize": 10, "figure.titlesize": 13, "axes.grid": True, "grid.alpha": 0.3,
}
TITLE_CHARACTERS_PER_INCH = 8  # at the title's font size, about: a longer dataset label wraps
INCHES_PER_CHARACTER = 0.08  # a legend label's width per character at its font size, about
LEGEND_ROW = 0.25  # inches
DASHES = ("-", "--", "-.", ":")
METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None, "ModDate": None}}


def context() -> AbstractContextManager:
    """matplotlib's default style with the figures' fonts, for drawing and saving; restored afterwards."""
    return matplotlib.style.context(["default", FONTS])


def new_figure(panels: int, what: str, board: Board, width: float = 0.0) -> tuple[Figure, list[Axes]]:
    """A figure of ``panels`` axes, ``PER_ROW`` to a row, at least ``width`` inches wide, titled
    ``what`` over the board's task and dataset."""
    columns = min(panels, PER_ROW)
    rows = math.ceil(panels / PER_ROW)
    figure = Figure(figsize=(max(PANEL_SIZE[0] * columns, width), PANEL_SIZE[1] * rows + 0.8), layout="constrained")
    FigureCanvasAgg(figure)
    title = textwrap.fill(f"{board.task} on {board.dataset}", int(figure.get_figwidth() * TITLE_CHARACTERS_PER_INCH))
    figure.suptitle(f"{what}\n{title}")
    return figure, [figure.add_subplot(rows, columns, i + 1) for i in range(panels)]


def colour(board: Board, cell: str) -> tuple[float, ...]:
    """The trained cell's colour, the same in every figure of its board."""
    cells = board.cells
    return matplotlib.colormaps["tab10" if len(cells) <= 10 else "tab20"](cells.index(cell) % 20)


def metric_label(board: Board) -> str:
    """The axis label of a board's plotted metric: ``MoC (%), mean over 8 (α, β)`` on an averaged
    board, else its primary column's (:func:`column_label`)."""
    if board.averaged:
        return f"MoC (%), mean over {len(board.columns)} (α, β)"
    return column_label(board.column)


def column_label(column: Column) -> str:
    """An axis label for a metric column, e.g. ``MoC α=0.2 β=0.5 (%)``, ``F1@10 (%)``, ``Acc (%)``."""
    label = next((label for pattern, label, _ in METRICS if fnmatchcase(column.key, pattern)), None)
    named = label is None or column.header.startswith(label.split("@")[0])
    return f"{column.header if named else f'{label} {column.header}'} (%)"


def mean_line(axes: Axes, curve: pd.DataFrame, x: str, band: bool = False, dodge: float = 0.0, **style) -> None:
    """``curve``'s mean against ``x`` with its ± std over seeds where a point has more than one: error
    bars (shifted by ``dodge`` along x, so the bars of several lines stay apart), or a band for dense x."""
    spread = curve["std"].fillna(0) if (curve["n"] > 1).any() else None
    if band or spread is None:
        line, = axes.plot(curve[x], curve["mean"], **style)
        if spread is not None:
            axes.fill_between(curve[x], curve["mean"] - spread, curve["mean"] + spread,
                              color=line.get_color(), alpha=0.2, linewidth=0)
        return
    axes.errorbar(curve[x] + dodge, curve["mean"], yerr=spread, capsize=3, elinewidth=1, **style)


def dodge(order: int, lines: int, xs: pd.Series) -> float:
    """How far line ``order`` of ``lines`` is shifted along x: spread over 4 % of the x range."""
    width = 0.04 * (float(xs.max() - xs.min()) or 1.0)
    return 0.0 if lines < 2 else width * (order / (lines - 1) - 0.5)


def settings(curves: pd.DataFrame, board: Board) -> dict[tuple[str, str], tuple[str, str]]:
    """A label and line style per (trained cell, corruption options) of ``curves``: a cell evaluated
    under several settings of one corruption (e.g. two fills) names each, one dash pattern apiece."""
    found = {}
    for cell, options in curves.groupby("cell")["options"]:
        names = sorted(options.unique())
        for order, name in enumerate(names):
            label = board.label(cell)
            found[(cell, name)] = (label if len(names) == 1 else f"{label} ({name})", DASHES[order % len(DASHES)])
    return found


def no_gain(axes: Axes) -> None:
    """The line a rank gain of 1 (no gain) lies on."""
    axes.axhline(1.0, color="black", linestyle=":", linewidth=1.2, label="no gain (1)")


def legend(figure: Figure, handles: list | None = None) -> None:
    """One legend below the panels, in as many columns as its longest label lets the figure's width
    hold: ``handles``, or every labelled artist of the axes once. The figure grows to hold it."""
    if handles is None:
        labelled = {}
        for axes in figure.axes:
            for handle, label in zip(*axes.get_legend_handles_labels()):
                labelled.setdefault(label, handle)
        handles = list(labelled.values())
    longest = max(len(handle.get_label()) for handle in handles)
    columns = max(1, min(len(handles), int(figure.get_figwidth() / (INCHES_PER_CHARACTER * longest + 0.8))))
    figure.set_figheight(figure.get_figheight() + LEGEND_ROW * math.ceil(len(handles) / columns))
    figure.legend(handles=handles, loc="outside lower center", ncols=columns)


def save(figure: Figure, directory: Path, stem: str) -> list[Path]:
    """Write ``figure`` as ``stem.png`` and ``stem.pdf`` under ``directory``."""
    paths = []
    for suffix, metadata in METADATA.items():
        path = Path(directory) / f"{stem}.{suffix}"
        figure.savefig(path, dpi=DPI, metadata=metadata)
        paths.append(path)
    return paths
