"""The board's primary metric against the level of each test-time corruption (R3D Fig. 7, DAGR
Fig. 10-13): a panel per corrupted modality, a line per trained cell, level 0 its clean runs."""
from __future__ import annotations

from typing import Iterator

import pandas as pd
from matplotlib.figure import Figure

from mmfuse.figures import style
from mmfuse.figures.board import LINE, Board, Record, corruption, level_rows, spread

LEVELS = {  # what a corruption's level is
    "noise": "noise σ (× the modality's feature spread)",
    "missing": "test videos missing the modality (fraction)",
    "frame_drop": "frames dropped (probability)",
    "feature_dropout": "features dropped (probability)",
    "cutout": "each video's length cut out (fraction)",
}


def level_label(name: str) -> str:
    return LEVELS.get(name, f"{name} level")


def figures(board: Board) -> Iterator[tuple[str, Figure]]:
    """One figure per corruption the board's runs were evaluated under."""
    for name in sorted({corruption(r)["name"] for r in board.records} - {"none"}):
        rows = level_rows(board, name, lambda run: primary(board, run))
        if rows:
            yield f"robustness-{name}", robustness_figure(board, name, spread(rows, [*LINE, "level"]))


def primary(board: Board, run: Record) -> dict[str, float]:
    value = board.value(run)
    return {} if value is None else {board.column.header: value}


def robustness_figure(board: Board, name: str, curves: pd.DataFrame) -> Figure:
    modalities = sorted(curves["modality"].unique())
    figure, panels = style.new_figure(len(modalities), f"Robustness to {name}", board)
    lines = style.settings(curves, board)
    for axes, modality in zip(panels, modalities):
        shown = curves[curves["modality"] == modality].groupby(["cell", "options"])
        for order, ((cell, options), curve) in enumerate(shown):
            label, dashes = lines[(cell, options)]
            style.mean_line(axes, curve, "level", color=style.colour(board, cell), linestyle=dashes, marker="o",
                            label=label, dodge=style.dodge(order, len(shown), curves["level"]))
        axes.set(title=f"{modality} corrupted", xlabel=level_label(name), ylabel=style.metric_label(board))
    style.legend(figure)
    return figure
