"""A feature folder prepared by hand from the real UTKinect files trains with ``dataset=folder``."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from real_data import UTKINECT, needs_utkinect

from mmfuse.cli import main

BENCH = Path(__file__).resolve().parents[1] / "bench" / "utkinect_as_folder.py"


@needs_utkinect
def test_hand_made_folder_from_real_data_beats_the_majority_rate(tmp_path: Path, tiny_paths: list[str]) -> None:
    spec = importlib.util.spec_from_file_location("utkinect_as_folder", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    total, majority = module.write_folder(UTKINECT, tmp_path / "data")
    dataset = ["dataset=folder", f"dataset.root={tmp_path / 'data'}"]
    assert main(["validate", *dataset]) == 0
    overrides = ["dataset.sample_rate=2", "dataset.train.epochs=30", "dataset.train.batch_size=2",
                 "dataset.train.lr=0.002", "fusion=concat", "task=segmentation", "seed=1"]
    assert main(["bench", *dataset, *overrides, *tiny_paths]) == 0
    [record] = [json.loads(p.read_text()) for p in (tmp_path / "runs").rglob("result.json")]
    assert record["metrics"]["accuracy"] > 100 * majority / total
