"""Shared fixtures: offline, CPU-only, quiet, and a tiny config for end-to-end runs."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="mmfuse-test-cache-")  # never the user's cache
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# Tests use tiny tensors: one thread is faster and steadier than two competing for the cores.
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
UTKINECT = REPO.parent / "shared" / "data" / "utkinect"



@pytest.fixture
def tiny_paths(tmp_path: Path) -> list[str]:
    """Overrides sending run records and leaderboards into the test's temporary folder."""
    return [f"paths.runs={tmp_path / 'runs'}", f"paths.leaderboards={tmp_path / 'leaderboards'}"]
