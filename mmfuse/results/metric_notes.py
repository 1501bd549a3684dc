"""What each reported metric is: the note every leaderboard and ``mmfuse evaluate`` table carries.

Keyed by fnmatch patterns over the metric keys the tasks report (``Task.columns``: ``moc_obs20_pred10``,
``accuracy``, ``edit``, ``f1@10`` …), so the renderers need nothing from the task code and a new
column of a known metric is described without a change here.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase

# (key pattern, label, what it is); label None: the matching column's own header (Acc, Edit).
METRICS: tuple[tuple[str, str | None, str], ...] = (
    ("moc_*", "MoC", "mean over classes of the per-class frame accuracy (%) over the predicted window; "
                     "α: observed, β: predicted fraction of the video"),
    ("accuracy", None, "frame accuracy (%)"),
    ("edit", None, "segmental edit score (%)"),
    ("f1@*", "F1@k", "segmental F1 score (%) at IoU ≥ k/100"),
)
SEGMENTAL = ("edit", "f1@*")  # the metrics that leave background classes out


def named_header(key: str, header: str) -> str:
    """``header`` with its metric's label in front where the header does not say it (``MoC α=0.2 β=0.1``;
    ``Acc`` and ``F1@10`` stay as they are)."""
    label = next((label for pattern, label, _ in METRICS if fnmatchcase(key, pattern)), None)
    return f"{label} {header}" if label and label.split("@")[0] not in header else header


def background_note(background: Sequence[str] | None) -> str:
    """The classes Edit and F1 leave out: the names in ``background``, or the dataset's where it
    is ``None`` (a leaderboard, over runs that each name their own)."""
    if background is None:
        return "Edit and F1 leave out the dataset's background classes (dataset.background)"
    if background:
        return f"Edit and F1 leave out background class(es): {', '.join(background)}"
    return "Edit and F1 count every class (no background class)"


def metric_notes(headers: Mapping[str, str], background: Sequence[str] | None = None) -> list[str]:
    """One line per metric among ``headers`` (metric key -> column header); with Edit or F1 among
    them, ``background_note`` last."""
    notes = []
    for pattern, label, text in METRICS:
        matched = [header for key, header in headers.items() if fnmatchcase(key, pattern)]
        if matched:
            notes.append(f"{label or ', '.join(matched)}: {text}")
    if any(fnmatchcase(key, pattern) for key in headers for pattern in SEGMENTAL):
        notes.append(background_note(background))
    return notes
