"""Time `mmfuse bench` on the real UTKinect skeletons and record its leaderboards.

Runs the README's main job with `dataset=utkinect dataset.root=../shared/data/utkinect` (the
default method grid: every fuser, each single skeleton stream, both tasks, three seeds) in a
fresh temporary folder, against the 15-minute target, and writes the wall time and the
Markdown leaderboards to bench/results/utkinect_bench.md.

    python bench/utkinect_bench.py [--root ../shared/data/utkinect]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "utkinect_bench.md"
DEFAULT_ROOT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "utkinect"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="UTKinect folder holding joints/")
    root = parser.parse_args().root.resolve()
    if not (root / "joints").is_dir():
        sys.exit(f"{root}: no joints/ folder; pass --root /path/to/utkinect")
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "mmfuse.cli", "bench", "dataset=utkinect", f"dataset.root={root}"],
            cwd=cwd, check=True, stdout=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - started
        runs = len(list((cwd / "runs").rglob("result.json")))
        boards = [path.read_text() for path in sorted((cwd / "leaderboards").glob("*.md"))]
    report = [
        "# `mmfuse bench` on the real UTKinect skeletons",
        "",
        f"Produced by `python bench/utkinect_bench.py` on {dt.date.today()} ({os.cpu_count()} CPUs, "
        f"{platform.machine()}, python {platform.python_version()}; 1-minute load average after: "
        f"{os.getloadavg()[0]:.2f}).",
        "",
        f"- `mmfuse bench dataset=utkinect dataset.root=…` (default grid, {runs} runs): **{seconds:.0f} s** wall "
        "(target: 900 s)",
        "",
        *boards,
    ]
    RESULTS.write_text("\n".join(report))
    print("\n".join(report))


if __name__ == "__main__":
    main()
