"""Normalised singular-value spectra σ_j / Σσ of each modality's representation before fusion and of
its stream after fusion (R3D Fig. 2, 9): a panel per modality, a colour per trained cell, clean runs."""
from __future__ import annotations

from typing import Iterator

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mmfuse.figures import style
from mmfuse.figures.board import Board, representation, spread, trained_cell

STAGES = {"before fusion": "-", "after fusion": "--"}
NOT_A_MODALITY = ("fused", "stacked")


def figures(board: Board) -> Iterator[tuple[str, Figure]]:
    rows = []
    for run in board.clean():
        spectra = representation(run).get("spectra") or {}
        for modality in spectra:
            if "/" in modality or modality in NOT_A_MODALITY:
                continue
            stages = {"before fusion": spectra[modality], "after fusion": spectra.get(f"{modality}/blended", [])}
            rows += [
                {"cell": trained_cell(run), "modality": modality, "stage": stage, "j": j, "seed": run["seed"],
                 "value": float(value)}
                for stage, values in stages.items()
                for j, value in enumerate(values, start=1)
            ]
    if rows:
        yield "spectra", spectra_figure(board, spread(rows, ["cell", "modality", "stage", "j"]))


def spectra_figure(board: Board, curves: pd.DataFrame) -> Figure:
    modalities = sorted(curves["modality"].unique())
    figure, panels = style.new_figure(len(modalities), "Singular-value spectra before and after fusion", board)
    for axes, modality in zip(panels, modalities):
        for (cell, stage), curve in curves[curves["modality"] == modality].groupby(["cell", "stage"]):
            style.mean_line(axes, curve, "j", band=True, color=style.colour(board, cell), linestyle=STAGES[stage])
        axes.set_yscale("log")
        axes.locator_params(axis="x", integer=True)
        axes.set(title=modality, xlabel="singular value index j", ylabel=r"$\sigma_j \,/\, \sum_k \sigma_k$")
    cells = sorted(curves["cell"].unique())
    style.legend(figure, [
        *(Line2D([], [], color=style.colour(board, cell), label=board.label(cell)) for cell in cells),
        *(Line2D([], [], color="grey", linestyle=dashes, label=stage) for stage, dashes in STAGES.items()),
    ])
    return figure
