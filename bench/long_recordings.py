"""Long recordings at default settings: a HAR-like `folder` dataset, and 10,000-frame videos.

Part 1 writes a body-worn-sensor recording set in the `folder` layout (datasets/folder.md) that
owes nothing to mmfuse's synthetic generator, then runs, as a subprocess and at default settings
(no training option overridden),

    mmfuse bench dataset=folder dataset.root=ROOT fusion=concat task=segmentation seed=1

and reports wall time, peak RSS of that process, frame accuracy / Edit / F1 from its run record,
and the majority-class rate of the test frames.

The recording set: 12 subjects x 5 recordings = 60 recordings of 2,000-6,500 frames (25 Hz,
80-260 s), 26-34 segments each, 10 classes (a frequent ``null`` class between activities, six
periodic activities, three static postures). Two modalities of different widths, in physical
units and unnormalised, as a converter would leave them: ``accel`` (6 channels, m/s^2: wrist and
ankle x/y/z, gravity included) and ``gyro`` (3 channels, rad/s: wrist x/y/z). Each activity
has its own step frequency, harmonic content, per-channel amplitudes and sensor orientation
(gravity direction); each subject its own cadence, vigour, sensor mounting (a rotation), bias
and noise level; transitions are smoothed over ~0.8 s, the phase stays continuous. Irregular
but valid: log-normal segment lengths, a few 3-20-frame segments, ``null`` stretches of random
fidgeting in a random posture, impact spikes, slow gyro drift, and sensor flat-lines (a held
last value for 1-3 s). Split 1 is by subject: 9 subjects (45 recordings) train, 3 (15) test.

Part 2 writes 4 train + 2 test videos of exactly 10,000 frames with two 64-channel modalities
and runs ``task=segmentation`` and ``task=anticipation`` with ``dataset.train.epochs=2`` (the
only override), each in its own process.

Peak RSS is ``ru_maxrss`` of the bench process from ``os.wait4`` (that process alone). Writes
``bench/results/long_recordings.md`` after a full run (parts 1 and 2, no ``--set``).

    python bench/long_recordings.py [--root DIR] [--keep] [--part har|long|all]
                                    [--set KEY=VALUE ...]   # experiments: printed, not recorded
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "long_recordings.md"
MMFUSE = [sys.executable, "-m", "mmfuse.cli"]

FS = 25.0  # Hz
G = 9.81
SUBJECTS = 12
PER_SUBJECT = 5
TEST_SUBJECTS = 3

# name: (kind, step frequency Hz, vigour, wrist "up" vector, ankle "up" vector)
ACTIVITIES = {
    "null": ("null", 0.0, 0.0, None, None),
    "walking": ("periodic", 1.8, 1.0, (0.2, -0.95, 0.1), (0.0, -1.0, 0.1)),
    "running": ("periodic", 2.7, 2.6, (0.5, -0.7, 0.3), (0.1, -0.95, 0.2)),
    "stairs_up": ("periodic", 1.5, 1.2, (0.25, -0.9, 0.2), (0.3, -0.9, 0.2)),
    "stairs_down": ("periodic", 1.9, 1.3, (0.2, -0.95, 0.05), (-0.2, -0.95, 0.1)),
    "cycling": ("periodic", 1.2, 0.8, (0.7, -0.2, 0.65), (0.5, -0.8, 0.2)),
    "brushing_teeth": ("periodic", 4.0, 0.5, (0.6, 0.75, 0.2), (0.0, -1.0, 0.05)),
    "sitting": ("static", 0.0, 0.05, (0.9, -0.3, 0.2), (0.9, -0.3, 0.1)),
    "standing": ("static", 0.0, 0.05, (0.1, -1.0, 0.05), (0.0, -1.0, 0.0)),
    "lying": ("static", 0.0, 0.04, (0.1, 0.2, 0.95), (0.05, 0.1, 1.0)),
}
CLASSES = list(ACTIVITIES)
ACTIVITY_WEIGHTS = np.array([0, 1.6, 0.8, 0.9, 0.9, 0.8, 0.6, 1.0, 1.0, 0.6])


@dataclass
class Subject:
    cadence: float  # frequency scale
    vigour: np.ndarray  # per-channel amplitude scale, 9 channels
    rotation: tuple[np.ndarray, np.ndarray]  # sensor mounting of wrist and ankle
    accel_bias: np.ndarray  # 6
    gyro_bias: np.ndarray  # 3
    noise: float


def random_rotation(rng: np.random.Generator, degrees: float) -> np.ndarray:
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = np.deg2rad(rng.normal(0, degrees))
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def class_signatures(rng: np.random.Generator) -> dict[str, dict[str, np.ndarray]]:
    """Per-class harmonic amplitudes and phases of the 9 channels (6 accel, 3 gyro)."""
    signatures = {}
    for name, (kind, _, vigour, _, _) in ACTIVITIES.items():
        amp1 = vigour * rng.uniform(0.3, 1.0, 9) * np.r_[np.full(6, 3.0), np.full(3, 1.2)]
        amp2 = amp1 * rng.uniform(0.1, 0.6, 9)
        signatures[name] = {"amp1": amp1, "amp2": amp2, "phase1": rng.uniform(0, 2 * np.pi, 9), "phase2": rng.uniform(0, 2 * np.pi, 9)}
    return signatures


def transcript(rng: np.random.Generator, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Segment classes and lengths (frames) summing to ``num_frames``; neighbours differ."""
    count = int(rng.integers(26, 35))
    classes = [0 if rng.random() < 0.6 else int(rng.choice(len(CLASSES), p=ACTIVITY_WEIGHTS / ACTIVITY_WEIGHTS.sum()))]
    while len(classes) < count:
        if classes[-1] != 0 and rng.random() < 0.42:
            classes.append(0)
            continue
        weights = ACTIVITY_WEIGHTS.copy()
        weights[classes[-1]] = 0
        classes.append(int(rng.choice(len(CLASSES), p=weights / weights.sum())))
    classes = np.array(classes)
    raw = rng.lognormal(0.0, 0.55, count) * np.where(classes == 0, 0.9, 1.0)
    short = rng.random(count) < 0.06  # a few very short segments, fixed at 3-20 frames
    fixed = np.where(short, rng.integers(3, 21, count), 0)
    budget = num_frames - fixed.sum()
    lengths = np.where(short, fixed, np.maximum(3, np.floor(raw / raw[~short].sum() * budget))).astype(np.int64)
    lengths[np.flatnonzero(~short)[-1]] += num_frames - lengths.sum()
    return classes, lengths


def smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Moving average along axis 0 (edge-padded): the smooth transitions between segments."""
    kernel = np.ones(width) / width
    padded = np.pad(x, ((width // 2, width - 1 - width // 2), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, c], kernel, mode="valid") for c in range(x.shape[1])], axis=1)


def recording(rng: np.random.Generator, subject: Subject, signatures, num_frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame labels, accel ``(T, 6)`` and gyro ``(T, 3)`` of one recording."""
    classes, lengths = transcript(rng, num_frames)
    labels = np.repeat(classes, lengths)
    freq = np.zeros(num_frames)
    amp1, amp2 = np.zeros((num_frames, 9)), np.zeros((num_frames, 9))
    up = np.zeros((num_frames, 6))
    fidget = np.zeros((num_frames, 9))
    start = 0
    for cls, length in zip(classes, lengths):
        name = CLASSES[cls]
        kind, base_freq, _, wrist, ankle = ACTIVITIES[name]
        span = slice(start, start + length)
        intensity = rng.normal(1.0, 0.15)
        if kind == "null":  # fidgeting at a random slow-ish rhythm, posture between sitting and standing
            mix = rng.uniform(0, 1)
            wrist = mix * unit(ACTIVITIES["sitting"][3]) + (1 - mix) * unit(ACTIVITIES["standing"][3]) + rng.normal(0, 0.25, 3)
            ankle = mix * unit(ACTIVITIES["sitting"][4]) + (1 - mix) * unit(ACTIVITIES["standing"][4]) + rng.normal(0, 0.15, 3)
            freq[span] = rng.uniform(0.3, 3.0)
            amp1[span] = rng.uniform(0.0, 1.2, 9) * np.r_[np.full(6, 1.0), np.full(3, 0.5)]
            amp2[span] = amp1[span] * 0.5
            fidget[span] = rng.uniform(0.05, 0.4)
        else:
            freq[span] = base_freq * subject.cadence * rng.normal(1.0, 0.04)
            amp1[span] = signatures[name]["amp1"] * intensity
            amp2[span] = signatures[name]["amp2"] * intensity
            fidget[span] = 0.05 if kind == "periodic" else 0.02
        up[span, :3] = unit(subject.rotation[0] @ unit(wrist))
        up[span, 3:] = unit(subject.rotation[1] @ unit(ankle))
        start += length
    width = int(0.8 * FS)
    freq = smooth(freq[:, None], width)[:, 0]
    amp1, amp2, up, fidget = (smooth(x, width) for x in (amp1, amp2, up, fidget))
    phase = np.cumsum(2 * np.pi * freq / FS)[:, None]
    # class-specific phase offsets per channel, smoothed the same way so nothing jumps
    offsets1 = smooth(np.stack([signatures[CLASSES[c]]["phase1"] for c in labels]), width)
    offsets2 = smooth(np.stack([signatures[CLASSES[c]]["phase2"] for c in labels]), width)
    motion = amp1 * np.sin(phase + offsets1) + amp2 * np.sin(2 * phase + offsets2)
    motion *= subject.vigour
    motion += fidget * smooth(rng.normal(size=(num_frames, 9)), 5) * 3.0  # slow irregular movement
    accel = G * up + motion[:, :6] + subject.accel_bias
    drift = np.cumsum(rng.normal(0, 0.0015, (num_frames, 3)), axis=0)  # gyro bias random walk
    gyro = motion[:, 6:] + subject.gyro_bias + drift
    accel += rng.normal(0, subject.noise, accel.shape)
    gyro += rng.normal(0, subject.noise * 0.2, gyro.shape)
    # impacts: a few sharp spikes on the ankle sensor
    for t in rng.choice(num_frames, size=int(rng.integers(0, 6)), replace=False):
        accel[t : t + 3, 3:] += rng.normal(0, 8.0, (len(accel[t : t + 3]), 3))
    # flat-lines: the logger repeats its last sample for 1-3 s
    for _ in range(int(rng.integers(0, 3))):
        t = int(rng.integers(1, num_frames - 80))
        span = int(rng.integers(int(FS), int(3 * FS)))
        stream = accel if rng.random() < 0.5 else gyro
        stream[t : t + span] = stream[t - 1]
    return labels, accel.astype(np.float32), gyro.astype(np.float32)


def make_har_dataset(root: Path, seed: int = 2024) -> dict:
    """Write the 60-recording set under ``root``; return its statistics."""
    rng = np.random.default_rng(seed)
    signatures = class_signatures(rng)
    write_mapping(root, CLASSES)
    train, test, segments, lengths = [], [], [], []
    for s in range(SUBJECTS):
        subject = Subject(
            cadence=rng.normal(1.0, 0.07),
            vigour=np.clip(rng.normal(1.0, 0.15, 9), 0.6, 1.5),
            rotation=(random_rotation(rng, 12), random_rotation(rng, 8)),
            accel_bias=rng.normal(0, 0.25, 6),
            gyro_bias=rng.normal(0, 0.05, 3),
            noise=rng.uniform(0.1, 0.35),
        )
        for r in range(PER_SUBJECT):
            name = f"S{s + 1:02d}_R{r + 1}"
            num_frames = int(rng.integers(2000, 6501))
            labels, accel, gyro = recording(rng, subject, signatures, num_frames)
            write_video(root, name, labels, {"accel": accel, "gyro": gyro}, CLASSES)
            (test if s >= SUBJECTS - TEST_SUBJECTS else train).append(name)
            segments.append(1 + int(np.count_nonzero(np.diff(labels))))
            lengths.append(num_frames)
    write_splits(root, train, test)
    return {
        "recordings": len(lengths),
        "train": len(train),
        "test": len(test),
        "frames_min": min(lengths),
        "frames_max": max(lengths),
        "frames_total": sum(lengths),
        "segments_mean": float(np.mean(segments)),
        "segments_min": min(segments),
        "segments_max": max(segments),
        "classes": len(CLASSES),
        "test_names": test,
    }


def make_long_dataset(root: Path, frames: int = 10_000, train: int = 4, test: int = 2, channels: int = 64, seed: int = 0) -> dict:
    """``train + test`` videos of exactly ``frames`` frames, two ``channels``-wide modalities."""
    rng = np.random.default_rng(seed)
    classes = [f"action{i}" for i in range(8)]
    write_mapping(root, classes)
    means = {m: rng.normal(0, 1, (len(classes), channels)) for m in ("rgb", "flow")}
    names = [f"long{i:02d}" for i in range(train + test)]
    for name in names:
        lengths = rng.integers(150, 650, size=frames // 150 + 1)
        labels = np.repeat(rng.integers(0, len(classes), lengths.size), lengths)[:frames]
        feats = {m: (mu[labels] + rng.normal(0, 1.5, (frames, channels))).astype(np.float32) for m, mu in means.items()}
        write_video(root, name, labels, feats, classes)
    write_splits(root, names[:train], names[train:])
    return {"videos": len(names), "frames": frames, "channels": channels, "train": train, "test": test}


def write_mapping(root: Path, classes: list[str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "groundTruth").mkdir(exist_ok=True)
    (root / "mapping.txt").write_text("".join(f"{i} {c}\n" for i, c in enumerate(classes)))


def write_video(root: Path, name: str, labels: np.ndarray, feats: dict[str, np.ndarray], classes: list[str]) -> None:
    (root / "groundTruth" / f"{name}.txt").write_text("".join(f"{classes[c]}\n" for c in labels))
    for modality, array in feats.items():  # (T, D) -> the default channels_first (D, T)
        (root / "features" / modality).mkdir(parents=True, exist_ok=True)
        np.save(root / "features" / modality / f"{name}.npy", np.ascontiguousarray(array.T))


def write_splits(root: Path, train: list[str], test: list[str]) -> None:
    (root / "splits").mkdir(exist_ok=True)
    (root / "splits" / "train.split1.bundle").write_text("".join(f"{n}.txt\n" for n in train))
    (root / "splits" / "test.split1.bundle").write_text("".join(f"{n}.txt\n" for n in test))


def majority_rate(root: Path, names: list[str]) -> tuple[str, float]:
    counts: dict[str, int] = {}
    for name in names:
        for line in (root / "groundTruth" / f"{name}.txt").read_text().splitlines():
            counts[line] = counts.get(line, 0) + 1
    top = max(counts, key=counts.get)
    return top, 100.0 * counts[top] / sum(counts.values())


def bench(root: Path, work: Path, overrides: list[str]) -> dict:
    """Run ``mmfuse bench`` in its own process; wall time, its peak RSS, and its run record."""
    runs, boards = work / "runs", work / "leaderboards"
    shutil.rmtree(runs, ignore_errors=True)
    argv = [*MMFUSE, "bench", "dataset=folder", f"dataset.root={root}", *overrides, f"paths.runs={runs}", f"paths.leaderboards={boards}"]
    print("$", " ".join(argv[2:]), flush=True)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=REPO, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    records = [json.loads(p.read_text()) for p in sorted(runs.rglob("result.json"))]
    if process.returncode != 0 or len(records) != 1:
        raise SystemExit(f"bench failed (exit {process.returncode}, {len(records)} record(s)): {' '.join(argv)}")
    cpu = usage.ru_utime + usage.ru_stime
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": usage.ru_maxrss / 1024, "record": records[0]}


def fmt_metrics(metrics: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.1f}" for k, v in metrics.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the generated datasets and runs")
    parser.add_argument("--part", choices=("har", "long", "all"), default="all")
    parser.add_argument("--set", dest="extra", action="append", default=[], help="extra override for part 1 (an experiment; not recorded)")
    args = parser.parse_args()
    work = args.root or Path(tempfile.mkdtemp(prefix="mmfuse-long-"))
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    results: dict = {}
    try:
        if args.part in ("har", "all"):
            root = work / "har"
            shutil.rmtree(root, ignore_errors=True)
            started = time.perf_counter()
            stats = make_har_dataset(root)
            stats["generate_s"] = time.perf_counter() - started
            stats["majority_class"], stats["majority_rate"] = majority_rate(root, stats.pop("test_names"))
            print(json.dumps(stats), flush=True)
            run = bench(root, work / "har-out", ["fusion=concat", "task=segmentation", "seed=1", *args.extra])
            m = run["record"]["metrics"]
            print(f"HAR: wall {run['wall_s']:.0f} s, CPU {run['cpu_s']:.0f} s, peak RSS {run['peak_rss_mb']:.0f} MB, {fmt_metrics(m)}; "
                  f"majority {stats['majority_rate']:.1f} % ({stats['majority_class']}); margin {m['accuracy'] - stats['majority_rate']:+.1f} points",
                  flush=True)
            results["har"] = {"stats": stats, **run}
        if args.part in ("long", "all"):
            root = work / "long"
            shutil.rmtree(root, ignore_errors=True)
            results["long_stats"] = make_long_dataset(root)
            for task in ("segmentation", "anticipation"):
                run = bench(root, work / f"long-{task}", ["fusion=concat", f"task={task}", "seed=1", "dataset.train.epochs=2"])
                print(f"10k {task}: wall {run['wall_s']:.0f} s, peak RSS {run['peak_rss_mb']:.0f} MB, {fmt_metrics(run['record']['metrics'])}", flush=True)
                results[f"long_{task}"] = run
    finally:
        if not args.keep and args.root is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.part == "all" and not args.extra:
        RESULTS.write_text(render(results, load_before, os.getloadavg()[0]))
        print(f"wrote {RESULTS.relative_to(REPO)}")


def render(results: dict, load_before: float, load_after: float) -> str:
    import torch

    har, stats = results["har"], results["har"]["stats"]
    record = har["record"]
    m = record["metrics"]
    budget = record["config"]["dataset"]["train"]
    long_stats = results["long_stats"]
    lines = [
        "# Long recordings at default settings",
        "",
        "Produced by `python bench/long_recordings.py` (dataset seed 2024, run seed 1).",
        "",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {os.cpu_count()} CPUs (`nproc` {len(os.sched_getaffinity(0))}), {platform.machine()}, {platform.system()}, no GPU (CPU run)",
        f"- python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}",
        f"- 1-minute load average: {load_before:.2f} before, {load_after:.2f} after (the machine is shared)",
        "- peak RSS and CPU time: `ru_maxrss`, `ru_utime + ru_stime` of the `mmfuse bench` process (`os.wait4`), all of it: "
        "Python, torch, data, training, evaluation. Wall time depends on what else the shared machine runs; CPU time less so",
        "",
        "## 1. HAR-like recording set, `fusion=concat task=segmentation seed=1`",
        "",
        "    mmfuse bench dataset=folder dataset.root=ROOT fusion=concat task=segmentation seed=1",
        "",
        "No training option overridden: the `folder` budget "
        f"({budget['epochs']} epochs, batch {budget['batch_size']}, lr {budget['lr']}, weight decay {budget['weight_decay']}, "
        f"{budget['warmup_epochs']} warm-up epochs), `model.max_len` {record['config']['model']['max_len']}, "
        f"temporal `{record['config']['temporal']['name']}`.",
        "",
        f"Data (`bench/long_recordings.py`, not mmfuse's synthetic generator): {stats['recordings']} recordings "
        f"({stats['train']} train / {stats['test']} test, split by subject), {stats['frames_min']}-{stats['frames_max']} frames "
        f"({stats['frames_total']} in all), {stats['segments_min']}-{stats['segments_max']} segments "
        f"(mean {stats['segments_mean']:.1f}), {stats['classes']} classes; `accel` 6 channels (m/s², gravity included), "
        "`gyro` 3 channels (rad/s), unnormalised.",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| wall time of the bench process | {har['wall_s']:.0f} s |",
        f"| CPU time (user + sys) of the bench process | {har['cpu_s']:.0f} s |",
        f"| of which training / evaluation (run record) | {record['train_seconds']:.0f} s / {record['eval_seconds']:.1f} s |",
        f"| peak RSS | {har['peak_rss_mb']:.0f} MB |",
        f"| frame accuracy | {m['accuracy']:.1f} % |",
        f"| Edit | {m['edit']:.1f} |",
        *(f"| F1@{k.split('@')[1]} | {v:.1f} |" for k, v in m.items() if k.startswith("f1@")),
        f"| majority-class rate of the test frames (`{stats['majority_class']}`) | {stats['majority_rate']:.1f} % |",
        f"| **accuracy − majority rate** | **{m['accuracy'] - stats['majority_rate']:+.1f} points** |",
        f"| final training loss | {record['final_loss']:.3f} |",
        "",
        "## 2. 10,000-frame videos, `dataset.train.epochs=2`",
        "",
        f"{long_stats['train']} train + {long_stats['test']} test videos of exactly {long_stats['frames']} frames, two modalities "
        f"of {long_stats['channels']} channels (class means + noise); default model settings, only `dataset.train.epochs=2` "
        "overridden. Metrics are computed over every frame (segmentation: "
        f"{long_stats['test']} x {long_stats['frames']} frames).",
        "",
        "| task | wall time | CPU time | training / evaluation | peak RSS | metrics |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for task in ("segmentation", "anticipation"):
        run = results[f"long_{task}"]
        r = run["record"]
        shown = ", ".join(f"{k} {v:.1f}" for k, v in list(r["metrics"].items())[:4])
        lines.append(f"| {task} | {run['wall_s']:.0f} s | {run['cpu_s']:.0f} s | {r['train_seconds']:.1f} s / {r['eval_seconds']:.1f} s | {run['peak_rss_mb']:.0f} MB | {shown} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
