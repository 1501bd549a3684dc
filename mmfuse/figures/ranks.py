"""Effective-rank gains ERank(after fusion) / ERank(before) of each modality: per trained cell on
clean runs with their harmonic mean (R3D Fig. 3), and against the noise on one modality (R3D Fig. 6)."""
from __future__ import annotations

from typing import Iterator

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmfuse.figures import style
from mmfuse.figures.board import LINE, Board, Record, level_rows, representation, spread, trained_cell
from mmfuse.figures.robustness import level_label

HARMONIC_MEAN = "harmonic mean"
GAIN_LABEL = "rank gain (ERank after / before fusion)"
MARKERS = ("o", "s", "^", "D", "v", "P")


def gains(run: Record) -> dict[str, float]:
    """Each modality's rank gain of a run, from a fuser with per-modality streams; else none."""
    return {m: float(v) for m, v in (representation(run).get("rank_gain") or {}).items()}


def figures(board: Board) -> Iterator[tuple[str, Figure]]:
    rows = [
        {"cell": trained_cell(run), "series": series, "seed": run["seed"], "value": value}
        for run in board.clean() if gains(run)
        for series, value in (gains(run) | with_harmonic_mean(run)).items()
    ]
    if rows:
        yield "rank-gains", gains_figure(board, spread(rows, ["cell", "series"]))
    noisy = level_rows(board, "noise", gains)
    if noisy:
        yield "rank-gain-under-noise", noise_figure(board, spread(noisy, [*LINE, "level"]))


def with_harmonic_mean(run: Record) -> dict[str, float]:
    value = representation(run).get("rank_gain_harmonic_mean")
    return {} if value is None else {HARMONIC_MEAN: float(value)}


def gains_figure(board: Board, bars: pd.DataFrame) -> Figure:
    """Grouped bars: a group per trained cell, a bar per modality and the harmonic mean last."""
    cells = sorted(bars["cell"].unique())
    series = sorted(bars["series"].unique(), key=lambda name: (name == HARMONIC_MEAN, name))
    inches = 0.3 * len(cells) * len(series) + 2  # bars stay wide enough to tell apart
    figure, [axes] = style.new_figure(1, "Effective-rank gain of each modality", board, inches)
    width = 0.8 / len(series)
    for index, name in enumerate(series):
        shown = bars[bars["series"] == name].set_index("cell").reindex(cells)
        x = np.arange(len(cells)) + (index - (len(series) - 1) / 2) * width
        error = shown["std"].where(shown["n"] > 1)
        axes.bar(x, shown["mean"], width, yerr=error, capsize=3, label=name, color=f"C{index}",
                 hatch="//" if name == HARMONIC_MEAN else None, edgecolor="white")
    style.no_gain(axes)
    axes.set_xticks(np.arange(len(cells)), [board.label(cell) for cell in cells], rotation=20, ha="right")
    axes.set(xlabel="trained cell", ylabel=GAIN_LABEL)
    style.legend(figure)
    return figure


def noise_figure(board: Board, curves: pd.DataFrame) -> Figure:
    """A panel per noisy modality; a line per (trained cell, modality whose gain it is)."""
    noisy = sorted(curves["modality"].unique())
    figure, panels = style.new_figure(len(noisy), "Rank gain under noise", board)
    lines = style.settings(curves, board)
    streams = sorted(curves["series"].unique())
    for axes, modality in zip(panels, noisy):
        shown = curves[curves["modality"] == modality]
        for (cell, options, series), curve in shown.groupby(["cell", "options", "series"]):
            label, dashes = lines[(cell, options)]
            style.mean_line(axes, curve, "level", color=style.colour(board, cell), linestyle=dashes,
                            marker=MARKERS[streams.index(series) % len(MARKERS)], label=f"{label}: {series}")
        style.no_gain(axes)
        axes.set(title=f"noise on {modality}", xlabel=level_label("noise"), ylabel=GAIN_LABEL)
    style.legend(figure)
    return figure
