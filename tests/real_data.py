"""Where the real UTKinect files are: ``$MMFUSE_UTKINECT_ROOT``, else ``../shared/data/utkinect`` beside the repository."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

UTKINECT = Path(
    os.environ.get("MMFUSE_UTKINECT_ROOT") or Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "utkinect"
)
needs_utkinect = pytest.mark.skipif(
    not (UTKINECT / "joints").is_dir(), reason=f"real UTKinect files not present at {UTKINECT}"
)
