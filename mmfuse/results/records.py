"""Run records: one ``result.json`` per finished run, written atomically."""
from __future__ import annotations

import datetime as dt
import glob
import json
import platform
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmfuse.files import write_atomically

RESULT_FILE = "result.json"
FAILURE_FILE = "failure.txt"


def run_directory(runs_root: Path, task: str, dataset: str, cell: str, seed: int, hash8: str) -> Path:
    from mmfuse.results.cells import safe_path_part

    return Path(runs_root) / task / safe_path_part(dataset) / safe_path_part(cell) / f"seed{seed}-{hash8}"


def is_finished(run_dir: Path) -> bool:
    """A run counts as finished only once its ``result.json`` exists (written last, atomically)."""
    path = run_dir / RESULT_FILE
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text()).get("status") == "finished"
    except (OSError, json.JSONDecodeError):
        return False


def finished_elsewhere(run_dir: Path) -> Path | None:
    """A finished run of the same task, cell, seed and hash under another dataset label, if any: the
    same data (the hash holds its fingerprint) met under another name, e.g. its folder was renamed."""
    cell_dir, label_dir, task_dir = run_dir.parents[0], run_dir.parents[1], run_dir.parents[2]
    if not task_dir.is_dir():
        return None
    for other in sorted(task_dir.glob(f"*/{glob.escape(cell_dir.name)}/{glob.escape(run_dir.name)}")):
        if other.parent.parent != label_dir and is_finished(other):
            return other
    return None


def adopt_run(source: Path, run_dir: Path, dataset: str, config: dict[str, Any]) -> None:
    """Copy a finished run of the same data into ``run_dir``, its record relabelled ``dataset`` with this
    run's ``config`` (the data's new root) and ``copied_from`` naming the source; nothing retrains."""
    shutil.copytree(source, run_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(RESULT_FILE))
    record = json.loads((source / RESULT_FILE).read_text())
    record.update(dataset=dataset, config=config, copied_from=str(source))
    write_json_atomic(run_dir / RESULT_FILE, record)


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write ``payload`` as JSON to a temporary file in the same directory, then rename over ``path``."""
    write_atomically(path, lambda stream: json.dump(payload, stream, indent=2, sort_keys=True, default=str))


def environment() -> dict[str, str]:
    """Versions that a result depends on."""
    import numpy
    import torch

    from mmfuse import __version__

    return {
        "mmfuse": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "cuda": torch.version.cuda or "",
    }


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


@dataclass(frozen=True)
class RunRecord:
    """One finished run, as its ``result.json`` holds it (``load_records`` adds ``path``)."""

    task: str  # task name
    dataset: str  # dataset label: ``name[option=value,...]``
    cell: str  # cell name: ``method[k=v,...]``
    method: str  # the fusion plugin's name
    seed: int
    hash: str  # 8 hex digits of the resolved config, the data by its fingerprint (``cells.config_hash``)
    dataset_fingerprint: str  # what defines the data, not where it lies (``mmfuse.data.fingerprint``)
    metrics: dict[str, float]  # column key -> value, in percent
    columns: list[dict[str, Any]]  # the task's columns (key, header, ...), in the order boards show them
    effective_rank: dict[str, float]  # representation -> effective rank over the test videos (analysis.representations)
    diagnostics: dict[str, Any]  # the task's own counts from its evaluation (e.g. constant anticipation windows)
    parameters: int  # every parameter of the model
    # MiB during this run only: on CUDA the peak its tensors held; on CPU the process's peak resident
    # set size (Linux; null elsewhere), memory held before the run included (engine.memory.PeakMemory)
    peak_memory_mb: float | None
    train_seconds: float  # the training loop
    eval_seconds: float  # evaluation and the effective-rank analysis
    wall_seconds: float  # the whole cell, from its start to its record
    final_loss: float  # the last training step's loss
    train_logs: dict[str, float]  # each loss term, mean over the last epoch
    device: str  # e.g. ``cpu``, ``cuda:0``
    config: dict[str, Any]  # the resolved config of the run
    status: str = "finished"  # only finished runs are recorded; a failed one leaves ``failure.txt``
    versions: dict[str, str] = field(default_factory=environment)  # see ``environment``
    created: str = field(default_factory=_now)  # ISO 8601, UTC
    copied_from: str = ""  # set on a run adopted from another label of the same data (``adopt_run``)
    corruption: dict[str, Any] = field(default_factory=lambda: {"name": "none"})  # test-time corruption's settings
    trained_cell: str = ""  # the cell whose trained model was evaluated: ``cell`` without its corruption
    trained_in: str = ""  # a corrupted run: the run directory whose model.pt it evaluated (nothing retrained)
    representation: dict[str, Any] = field(default_factory=dict)  # spectra, rank gains, angles, drift
    train_curves: dict[str, list[float]] = field(default_factory=dict)  # loss and each term, mean per epoch
    # metric key -> each test video's score alone, in percent, in the order of ``videos`` (the test
    # split's names); the paired tests behind the leaderboards' marks use them. Edit's board value
    # is their mean; accuracy, F1 and MoC pool counts over videos instead (tasks.base.Evaluation)
    per_video: dict[str, list[float]] = field(default_factory=dict)
    videos: list[str] = field(default_factory=list)

    def write(self, run_dir: Path) -> None:
        """Write ``result.json`` into ``run_dir`` atomically: from then on the run counts as finished."""
        write_json_atomic(Path(run_dir) / RESULT_FILE, asdict(self))


def load_records(runs_root: Path) -> list[dict[str, Any]]:
    """Every finished run record under ``runs_root`` (unreadable or unfinished ones are skipped)."""
    records = []
    for path in sorted(Path(runs_root).rglob(RESULT_FILE)):
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if record.get("status") == "finished":
            record["path"] = str(path.parent)
            records.append(record)
    return records
