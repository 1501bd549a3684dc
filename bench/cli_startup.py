"""Time the command line's start-up: `mmfuse --help`, `mmfuse list` and `mmfuse run --help`, each
in a fresh process, a few times; report the median against the 1 s target (issue 16) and whether
torch was imported. Writes bench/results/cli_startup.md.

    python bench/cli_startup.py
"""
from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "cli_startup.md"
REPEATS = 7
TARGET_S = 1.0
COMMANDS = (["--help"], ["list"], ["run", "--help"])
TORCH_CHECK = (
    "import runpy, sys; sys.argv = ['mmfuse', *{argv!r}]\n"
    "try: runpy.run_module('mmfuse.cli', run_name='__main__')\n"
    "except SystemExit: print('torch' in sys.modules, file=sys.stderr)"
)


def median_seconds(argv: list[str]) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mmfuse.cli", *argv], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def imports_torch(argv: list[str]) -> bool:
    code = TORCH_CHECK.format(argv=argv)
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    return done.stderr.strip().splitlines()[-1] == "True"


def main() -> None:
    rows = []
    for argv in COMMANDS:
        seconds = median_seconds(argv)
        torch = "yes" if imports_torch(argv) else "no"
        rows.append(f"| `mmfuse {' '.join(argv)}` | {seconds:.2f} | {'yes' if seconds < TARGET_S else 'no'} | {torch} |")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# CLI start-up",
        "",
        f"`python bench/cli_startup.py`, {dt.date.today()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, 1-minute load {load:.1f} at the end; median of {REPEATS} fresh processes.",
        "",
        f"| command | median s | under {TARGET_S:.0f} s | imports torch |",
        "|---|---|---|---|",
        *rows,
        "",
        "`mmfuse --help` reads each command's summary from its module's source and imports only the",
        "command it runs; `mmfuse list` reads the built-in plugins' names and docstrings from their source",
        "(`Registry.catalogue`). `run --help` imports the `run` command and what it needs to add its arguments.",
    ]
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
