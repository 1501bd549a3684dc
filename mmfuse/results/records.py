"""Run records: one ``result.json`` per finished run, written atomically."""
from __future__ import annotations

import json
import platform
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
