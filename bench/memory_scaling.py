"""Peak memory and seconds per epoch of `mmfuse run` as the feature set grows, streamed and in RAM.

Writes generated `folder` datasets (MS-TCN layout, two modalities of `--width` channels each stored
(D, T) as float32, `--frames` frames per video, 48 classes in segments of 20–200 frames, a third of
the videos for testing) of each size in `--sizes-gb`, then runs, per size, `mmfuse run dataset=folder
fusion=concat task=segmentation temporal=tcn dataset.train.epochs=1` under `/usr/bin/time` on the
streamed path (features read per batch from memory-mapped files) and, where the set fits in this
machine's memory with room to spare (`--in-ram-up-to-gb`), on the in-RAM path
(`features_in_memory=true`). Each run is a fresh process; the page cache is left as it is (the
streamed run comes second, after the in-RAM run of the same size, so both read from the same cache).
Records peak resident memory (the process's maximum RSS), seconds of the training epoch and of the
evaluation (from the run record) and wall time, in bench/results/memory_scaling.md.

    python bench/memory_scaling.py                      # 0.5, 2 and 8 GB
    python bench/memory_scaling.py --sizes-gb 0.5 2 8 30  # with a Breakfast-sized set (needs ~31 GB of disk)
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "memory_scaling.md"
MODALITIES = ("rgb", "flow")
CLASSES = 48
GB = 1e9


def write_dataset(root: Path, size_gb: float, width: int, frames: int, seed: int = 0) -> dict:
    """A folder dataset of about ``size_gb`` of float32 features; returns its facts."""
    per_video = frames * width * 4 * len(MODALITIES)
    count = max(3, round(size_gb * GB / per_video))
    if (root / "done.json").is_file():
        return json.loads((root / "done.json").read_text())
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(seed)
    for modality in MODALITIES:
        (root / "features" / modality).mkdir(parents=True)
    (root / "groundTruth").mkdir()
    (root / "splits").mkdir()
    (root / "mapping.txt").write_text("".join(f"{i} action{i}\n" for i in range(CLASSES)))
    means = rng.standard_normal((CLASSES, width), dtype=np.float32)
    names = [f"video{i:05d}" for i in range(count)]
    for name in names:
        durations = rng.integers(20, 201, size=frames // 20 + 1)
        labels = np.repeat(rng.integers(0, CLASSES, size=durations.size), durations)[:frames]
        (root / "groundTruth" / f"{name}.txt").write_text("".join(f"action{c}\n" for c in labels))
        for modality in MODALITIES:
            out = np.lib.format.open_memmap(root / "features" / modality / f"{name}.npy", "w+", np.float32, (width, frames))
            for start in range(0, frames, 512):
                stop = min(frames, start + 512)
                out[:, start:stop] = (means[labels[start:stop]] + rng.standard_normal((stop - start, width), np.float32)).T
            out.flush()
            del out
    test = max(1, count // 3)
    (root / "splits" / "train.split1.bundle").write_text("".join(f"{n}.txt\n" for n in names[:-test]))
    (root / "splits" / "test.split1.bundle").write_text("".join(f"{n}.txt\n" for n in names[-test:]))
    facts = {"videos": count, "train": count - test, "test": test, "gb": count * per_video / GB}
    (root / "done.json").write_text(json.dumps(facts))
    return facts


def run(root: Path, work: Path, in_ram: bool) -> dict:
    """One `mmfuse run` under /usr/bin/time: peak RSS (GB), wall seconds and the record's timings."""
    runs = work / f"runs-{root.name}-{'ram' if in_ram else 'stream'}"
    shutil.rmtree(runs, ignore_errors=True)
    command = [
        "/usr/bin/time", "-f", "%M %e", sys.executable, "-m", "mmfuse.cli", "run", "dataset=folder",
        f"dataset.root={root}", "fusion=concat", "task=segmentation", "temporal=tcn", "dataset.train.epochs=1",
        f"features_in_memory={str(in_ram).lower()}", f"paths.runs={runs}", f"paths.leaderboards={work / 'lb'}",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return {"failed": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    max_rss_kib, wall = done.stderr.strip().splitlines()[-1].split()
    [record] = [json.loads(p.read_text()) for p in runs.rglob("result.json")]
    return {"peak_gb": int(max_rss_kib) * 1024 / GB, "wall": float(wall), "train": record["train_seconds"],
            "eval": record["eval_seconds"], "accuracy": record["metrics"]["accuracy"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes-gb", type=float, nargs="+", default=[0.5, 2.0, 8.0])
    parser.add_argument("--width", type=int, default=1024, help="channels per modality (Breakfast's I3D: 1024 + 1024)")
    parser.add_argument("--frames", type=int, default=2100, help="frames per video (Breakfast: ~2,100)")
    parser.add_argument("--in-ram-up-to-gb", type=float, default=8.0)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "mmfuse_memory_scaling")
    parser.add_argument("--keep", action="store_true", help="keep the generated datasets")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in args.sizes_gb:
        root = args.work / f"set_{size:g}gb"
        facts = write_dataset(root, size, args.width, args.frames)
        print(f"{root.name}: {facts['videos']} videos, {facts['gb']:.1f} GB", flush=True)
        for in_ram in (True, False):
            if in_ram and facts["gb"] > args.in_ram_up_to_gb:
                continue
            result = run(root, args.work, in_ram)
            rows.append({"size": facts["gb"], "videos": facts["videos"], "path": "in RAM" if in_ram else "streamed", **result})
            print(f"  {rows[-1]}", flush=True)
        if not args.keep:
            shutil.rmtree(root)
    write_report(args, rows)
    print(RESULTS.read_text())


def memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def write_report(args: argparse.Namespace, rows: list[dict]) -> None:
    streamed = [r for r in rows if r["path"] == "streamed" and "peak_gb" in r]
    lines = [
        "# Memory and time of `mmfuse run` as the feature set grows",
        "",
        f"Written by `bench/memory_scaling.py` ({dt.datetime.now():%Y-%m-%d %H:%M}) on {os.cpu_count()} CPUs, "
        f"{memory_gib():.0f} GiB of memory, {platform.machine()}, Python {platform.python_version()}; generated `folder` sets of two modalities × "
        f"{args.width} channels, {args.frames} frames per video, float32 (D, T); `mmfuse run dataset=folder "
        "fusion=concat task=segmentation temporal=tcn dataset.train.epochs=1` (batch 1, whole videos), one process "
        "per row. Peak RSS: `/usr/bin/time`'s maximum resident set size of the whole process.",
        "",
        "| features (GB) | videos | path | peak RSS (GB) | train s/epoch | eval s | wall s | accuracy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "failed" in r:
            lines.append(f"| {r['size']:.1f} | {r['videos']} | {r['path']} | failed: {r['failed']} | | | | |")
        else:
            lines.append(f"| {r['size']:.3g} | {r['videos']} | {r['path']} | {r['peak_gb']:.2f} | {r['train']:.1f} | "
                         f"{r['eval']:.1f} | {r['wall']:.0f} | {r['accuracy']:.1f} |")
    lines.append("")
    big = [r for r in streamed if r["size"] >= 1.0]
    if len(big) >= 2:
        peaks = [r["peak_gb"] for r in big]
        lines.append(f"- Streamed peak RSS from {big[0]['size']:.1f} to {big[-1]['size']:.1f} GB of features: "
                     f"{min(peaks):.2f}–{max(peaks):.2f} GB, max/min {max(peaks) / min(peaks):.2f} (goal: within 1.2, "
                     "under 4 GB).")
    for r in streamed:
        twin = next((x for x in rows if x["path"] == "in RAM" and x["size"] == r["size"] and "train" in x), None)
        if twin:
            lines.append(f"- {r['size']:.1f} GB: streamed / in-RAM seconds per epoch {r['train'] / twin['train']:.2f} "
                         f"(goal ≤ 1.3); peak RSS {r['peak_gb']:.2f} vs {twin['peak_gb']:.2f} GB.")
    RESULTS.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
