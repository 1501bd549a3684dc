"""Time the README's main job and summarise the effective ranks its run records hold.

Runs `mmfuse bench` (the `default` experiment on `synthetic`, R3D's official configuration
`rtf[preset=official]` among its cells) in a fresh temporary folder and reports its wall time
against the 5-minute target; then prints, per task and cell, the
mean effective rank of the fused tokens (the fuser's output), of the per-modality streams stacked
on the channel axis before the output projection (R3D's fused representation; `concat` and `rtf`
expose their streams), and of each modality before / after fusion.
Writes the figures to bench/results/default_bench.md and the leaderboards, which that command
writes, to the repository's leaderboards/ (the committed ones come from here).

    python bench/default_bench.py
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "default_bench.md"
LEADERBOARDS = Path(__file__).resolve().parents[1] / "leaderboards"
MMFUSE = [sys.executable, "-m", "mmfuse.cli"]


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def rank_table(runs: Path) -> list[str]:
    ranks: dict[tuple[str, str], list[dict[str, float]]] = defaultdict(list)
    for path in runs.rglob("result.json"):
        record = json.loads(path.read_text())
        ranks[(record["task"], record["cell"])].append(record["effective_rank"])
    lines = [
        "| task | cell | seeds | fused tokens | stacked streams | per modality before → after fusion |",
        "|---|---|---|---|---|---|",
    ]
    for (task, cell), rows in sorted(ranks.items()):
        mean = {key: sum(r[key] for r in rows) / len(rows) for key in rows[0]}
        modalities = sorted(k for k in mean if k not in ("fused", "stacked") and "/" not in k)
        streams = ", ".join(
            f"{m} {mean[m]:.1f}" + (f" → {mean[m + '/blended']:.1f}" if m + "/blended" in mean else "") for m in modalities
        )
        stacked = f"{mean['stacked']:.1f}" if "stacked" in mean else "–"
        lines.append(f"| {task} | {cell} | {len(rows)} | {mean['fused']:.1f} | {stacked} | {streams} |")
    return lines


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        seconds = timed([*MMFUSE, "bench", f"paths.leaderboards={LEADERBOARDS}"], cwd)
        runs = len(list((cwd / "runs").rglob("result.json")))
        table = rank_table(cwd / "runs")
    report = [
        "# The default benchmark: time and effective ranks",
        "",
        f"Produced by `python bench/default_bench.py` on {dt.date.today()} ({os.cpu_count()} CPUs, "
        f"{platform.machine()}, python {platform.python_version()}; 1-minute load average after: "
        f"{os.getloadavg()[0]:.2f}).",
        "",
        f"- `mmfuse bench` (default experiment, {runs} runs): **{seconds:.0f} s** wall (target: 300 s)",
        "",
        "Effective rank (R3D Eq. 1), mean over seeds, from the run records. *Fused tokens*: the fuser's",
        "output, what the temporal model reads. *Stacked streams*: the per-modality streams after fusion,",
        "stacked on the channel axis before the output projection — R3D's fused representation (for",
        "`concat` the stacked inputs). `–`: the fuser exposes no per-modality streams.",
        "",
        *table,
        "",
    ]
    RESULTS.write_text("\n".join(report))
    print("\n".join(report))


if __name__ == "__main__":
    main()
