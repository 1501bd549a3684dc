"""Training curves: each loss term's mean per epoch (the task's terms, DAGR's), a panel per term,
a line per trained cell, clean runs."""
from __future__ import annotations

from typing import Iterator

import pandas as pd
from matplotlib.figure import Figure

from mmfuse.figures import style
from mmfuse.figures.board import Board, spread, trained_cell

TOTAL = "loss"


def figures(board: Board) -> Iterator[tuple[str, Figure]]:
    rows = [
        {"cell": trained_cell(run), "term": term, "epoch": epoch, "seed": run["seed"], "value": float(value)}
        for run in board.clean()
        for term, values in (run.get("train_curves") or {}).items()
        for epoch, value in enumerate(values, start=1)
    ]
    if rows:
        yield "training-curves", curves_figure(board, spread(rows, ["cell", "term", "epoch"]))


def curves_figure(board: Board, curves: pd.DataFrame) -> Figure:
    terms = sorted(curves["term"].unique(), key=lambda term: (term != TOTAL, term))
    figure, panels = style.new_figure(len(terms), "Training curves", board)
    for axes, term in zip(panels, terms):
        for cell, curve in curves[curves["term"] == term].groupby("cell"):
            style.mean_line(axes, curve, "epoch", band=True, color=style.colour(board, cell), label=board.label(cell))
        axes.locator_params(axis="x", integer=True)
        axes.set(title="training loss" if term == TOTAL else term, xlabel="epoch", ylabel="loss (mean over the epoch)")
    style.legend(figure)
    return figure
