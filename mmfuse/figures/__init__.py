"""Figures of the run records (DESIGN §9): robustness under test-time corruption, singular-value
spectra, effective-rank gains, training curves; PNG and PDF per (task, dataset), drawn from the
records alone, byte-identical for the same records. matplotlib loads on the first draw, so
importing this package (as the CLI does) costs nothing."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable


def draw_figures(records: Iterable[dict[str, Any]], directory: Path) -> list[Path]:
    """Write every figure the records allow as ``<kind>-<task>-<dataset>.{png,pdf}`` under
    ``directory``; a figure whose data no record holds (e.g. records older than it) is skipped."""
    from mmfuse.figures import curves, ranks, robustness, spectra, style
    from mmfuse.figures.board import boards

    directory = Path(directory)
    written = []
    with style.context():
        for board in boards(records):
            for module in (robustness, spectra, ranks, curves):
                for kind, figure in module.figures(board):
                    directory.mkdir(parents=True, exist_ok=True)
                    stem = f"{kind}-{board.task}-{board.dataset}".replace("/", "_").replace(" ", "")  # as the boards'
                    written += style.save(figure, directory, stem)
    return written
