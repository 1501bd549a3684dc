"""A grid's progress, one line per job: ``[k/N]``, the time since the grid started and an estimate
of the time left (from the mean time of the jobs before this one).

The launching process writes ``PROGRESS_FILE`` beside the jobs of each sweep (``commands.hydra_app.launch``):
the grid's job count, the number of its jobs launched by earlier sweeps, and when the grid started.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

PROGRESS_FILE = "progress.json"


def write_progress(directory: Path, first: int, total: int, started: float) -> None:
    (directory / PROGRESS_FILE).write_text(json.dumps({"first": first, "total": total, "started": started}))


def progress_line(directory: Path, job_num: int, now: float | None = None) -> str | None:
    """``[k/N] 1 min 12 s elapsed, about 15 min left`` for job ``job_num`` of the sweep in ``directory``;
    ``None`` outside a grid."""
    path = directory / PROGRESS_FILE
    if not path.is_file():
        return None
    grid = json.loads(path.read_text())
    done, elapsed = grid["first"] + job_num, (time.time() if now is None else now) - grid["started"]
    line = f"[{done + 1}/{grid['total']}] {duration(elapsed)} elapsed"
    if done:
        line += f", about {duration(elapsed / done * (grid['total'] - done))} left"
    return line


def duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"
