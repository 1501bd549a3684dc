"""Parity: a plain MS-TCN stage, written here from the paper, beside mmfuse's segmentation backbone.

On the same `folder`-layout data (datasets/folder.md) the script trains

1. **a plain single-stage MS-TCN** (Farha & Gall, CVPR 2019), written in this file after the
   official ``model.py`` (yabufarha/ms-tcn), nothing imported from mmfuse: conv 1x1 (in -> 64),
   10 dilated residual layers (dilation 2**i, kernel 3, ReLU, conv 1x1, dropout 0.5, residual,
   times mask), conv 1x1 (64 -> classes), output times mask. Its input is the modalities'
   features concatenated per frame on the channel axis (sorted modality names), read as mmfuse's
   ``folder`` adapter reads them: ``features/<modality>/<video>.npy`` (D, T) as float32, trimmed
   or edge-padded (last frame repeated) to the label file's length when they differ by at most 5
   frames, no normalisation. MS-TCN's recipe: whole videos, batch 1, Adam lr 5e-4 (no weight
   decay, no schedule), cross-entropy + 0.15 x the truncated MSE smoothing loss (clamped at 16),
   50 epochs, video order shuffled every epoch, prediction = argmax over the whole test video;
   ``random``, ``numpy`` and ``torch`` seeded per seed. Scored by this file's copy of MS-TCN's
   ``eval.py`` (Acc pooled over frames, Edit averaged over videos, F1@10/25/50 from TP/FP/FN
   summed over videos; segments of a class named ``background`` dropped from Edit and F1, as
   ``eval.py``'s ``bg_class=["background"]``);
2. **mmfuse**, as a subprocess at its defaults apart from the grid axes::

       python -m mmfuse.cli bench dataset=folder dataset.root=ROOT fusion=concat task=segmentation
           temporal=tcn,mstcn seed=1,10,13452 paths.runs=WORK/runs paths.leaderboards=WORK/boards

   (``dataset.background`` defaults to the class named ``background`` where the mapping has one,
   so both sides drop the same segments from Edit and F1), and reads metrics and train/eval/wall seconds from each run's ``result.json``.

Datasets: ``har``, the long-recording HAR set of ``bench/long_recordings.py`` (60 recordings
of 2,000-6,500 frames, accel + gyro); ``utkinect``, the real UTKinect-Action3D skeletons written
in the folder layout by ``bench/utkinect_as_folder.py`` (position + velocity; skipped with a note
when ``--utkinect`` has no ``joints/``). Everything runs on the CPU (``CUDA_VISIBLE_DEVICES`` is
emptied for mmfuse); torch uses its default number of threads (set ``OMP_NUM_THREADS`` to change
it, for both parts).

Prints, per dataset, one row per method (mean ± sample std over seeds, n, mean training seconds
per seed) and the per-seed values. Writes ``bench/results/mstcn_parity.md`` only after a full run
(every option at its default, ``--keep`` and ``--utkinect`` aside, and every run finished).

    python bench/mstcn_parity.py [--datasets har,utkinect] [--seeds 1,10,13452]
                                 [--temporal tcn,mstcn] [--epochs 50] [--quick] [--keep]
                                 [--utkinect ../shared/data/utkinect]

``--quick``: 2 epochs for both parts (``--epochs`` overrides; mmfuse gets
``dataset.train.epochs=N``) and the first seed only; prints, writes nothing.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from long_recordings import make_har_dataset  # noqa: E402
from utkinect_as_folder import DEFAULT_ROOT as UTKINECT_ROOT  # noqa: E402
from utkinect_as_folder import write_folder  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "mstcn_parity.md"
MMFUSE = [sys.executable, "-m", "mmfuse.cli"]
DATASETS = ("har", "utkinect")
SEEDS = (1, 10, 13452)
TEMPORAL = ("tcn", "mstcn")
EPOCHS = 50
QUICK_EPOCHS = 2
LENGTH_TOLERANCE = 5  # mmfuse's folder default (dataset.length_tolerance)
BG_CLASS = ("background",)  # MS-TCN eval.py's bg_class
METRICS = (("accuracy", "Acc"), ("edit", "Edit"), ("f1@10", "F1@10"), ("f1@25", "F1@25"), ("f1@50", "F1@50"))
OVERLAPS = (0.1, 0.25, 0.5)
PLAIN = "plain MS-TCN (script)"
RECIPE = (
    "single stage (conv 1x1 in -> 64, 10 dilated residual layers with dilation 2^i, kernel 3, dropout 0.5, "
    "conv 1x1 64 -> classes) on the modalities' features concatenated per frame, unnormalised; whole videos, "
    "batch 1, Adam lr 5e-4 (no weight decay, no schedule), cross-entropy + 0.15 x truncated MSE (clamp 16), "
    "{epochs} epochs, video order shuffled each epoch, argmax over the whole test video; CPU"
)


# --------------------------------------------------------------------------- data, read as the folder adapter does


@dataclass
class Clip:
    name: str
    features: np.ndarray  # (T, D) float32, modalities concatenated in sorted order
    labels: list[str]  # one class name per frame


@dataclass
class FolderData:
    classes: list[str]
    modalities: dict[str, int]  # name -> width
    train: list[Clip] = field(default_factory=list)
    test: list[Clip] = field(default_factory=list)


def fit_length(features: np.ndarray, num_frames: int, location: Path) -> np.ndarray:
    """The adapter's rule: trim, or repeat the last frame, within ``LENGTH_TOLERANCE`` frames."""
    if abs(len(features) - num_frames) > LENGTH_TOLERANCE:
        raise SystemExit(f"{location}: {len(features)} frames but {num_frames} labels (tolerance {LENGTH_TOLERANCE})")
    if len(features) >= num_frames:
        return features[:num_frames]
    return np.concatenate([features, np.repeat(features[-1:], num_frames - len(features), axis=0)])


def read_folder(root: Path) -> FolderData:
    classes = []
    for line in (root / "mapping.txt").read_text().splitlines():
        if line.strip():
            class_id, name = line.split(maxsplit=1)
            assert int(class_id) == len(classes), f"mapping.txt: ids must run 0..K-1, got {class_id}"
            classes.append(name.strip())
    modalities = sorted(p.name for p in (root / "features").iterdir() if p.is_dir())
    data = FolderData(classes, {})
    for split, clips in (("train", data.train), ("test", data.test)):
        for line in (root / "splits" / f"{split}.split1.bundle").read_text().splitlines():
            name = line.strip().removesuffix(".txt")
            if not name:
                continue
            labels = [row.strip() for row in (root / "groundTruth" / f"{name}.txt").read_text().splitlines()]
            while labels and not labels[-1]:
                labels.pop()
            unknown = set(labels) - set(classes)
            if unknown:
                raise SystemExit(f"groundTruth/{name}.txt: classes {sorted(unknown)} are not in mapping.txt")
            parts = []
            for modality in modalities:
                path = root / "features" / modality / f"{name}.npy"
                array = np.array(np.load(path, allow_pickle=False).T, dtype=np.float32)  # (D, T) -> (T, D)
                if not np.isfinite(array).all():
                    raise SystemExit(f"{path}: NaN/Inf values")
                if data.modalities.setdefault(modality, array.shape[1]) != array.shape[1]:
                    raise SystemExit(f"{path}: {array.shape[1]} channels, other {modality!r} files have {data.modalities[modality]}")
                parts.append(fit_length(array, len(labels), path))
            clips.append(Clip(name, np.concatenate(parts, axis=1), labels))
    return data


# --------------------------------------------------------------------------- MS-TCN, after the official model.py


class DilatedResidualLayer(nn.Module):
    def __init__(self, dilation: int, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv_dilated = nn.Conv1d(in_channels, out_channels, 3, padding=dilation, dilation=dilation)
        self.conv_1x1 = nn.Conv1d(out_channels, out_channels, 1)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.conv_dilated(x))
        out = self.conv_1x1(out)
        out = self.dropout(out)
        return (x + out) * mask[:, 0:1, :]


class SingleStageModel(nn.Module):
    def __init__(self, num_layers: int, num_f_maps: int, dim: int, num_classes: int) -> None:
        super().__init__()
        self.conv_1x1 = nn.Conv1d(dim, num_f_maps, 1)
        self.layers = nn.ModuleList(DilatedResidualLayer(2**i, num_f_maps, num_f_maps) for i in range(num_layers))
        self.conv_out = nn.Conv1d(num_f_maps, num_classes, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = self.conv_1x1(x)
        for layer in self.layers:
            out = layer(out, mask)
        return self.conv_out(out) * mask[:, 0:1, :]


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def as_input(clip: Clip) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(clip.features.T))[None]  # (1, D, T)


def train_plain(data: FolderData, epochs: int, seed: int, title: str) -> tuple[SingleStageModel, float]:
    """MS-TCN's training loop with batch 1 (so the mask is all ones); returns the model and its training seconds."""
    seed_all(seed)
    num_classes = len(data.classes)
    index = {name: i for i, name in enumerate(data.classes)}
    inputs = [as_input(c) for c in data.train]
    targets = [torch.tensor([index[n] for n in c.labels], dtype=torch.long)[None] for c in data.train]
    model = SingleStageModel(10, 64, inputs[0].shape[1], num_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    ce = nn.CrossEntropyLoss(ignore_index=-100)
    mse = nn.MSELoss(reduction="none")
    order = list(range(len(inputs)))
    started = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        random.shuffle(order)  # MS-TCN's BatchGenerator shuffles its list on every reset
        epoch_loss, correct, total, epoch_start = 0.0, 0, 0, time.perf_counter()
        for i in order:
            x, y = inputs[i], targets[i]
            mask = torch.ones(1, num_classes, x.shape[2])
            optimizer.zero_grad()
            p = model(x, mask)
            loss = ce(p.transpose(2, 1).contiguous().view(-1, num_classes), y.view(-1))
            loss = loss + 0.15 * torch.mean(
                torch.clamp(mse(F.log_softmax(p[:, :, 1:], dim=1), F.log_softmax(p.detach()[:, :, :-1], dim=1)), min=0, max=16)
                * mask[:, :, 1:]
            )
            epoch_loss += loss.item()
            loss.backward()
            optimizer.step()
            correct += int((p.detach().argmax(1) == y).sum())
            total += y.numel()
        print(f"  {title} epoch {epoch + 1}/{epochs}: loss {epoch_loss / len(order):.4f}, train acc "
              f"{100 * correct / total:.1f} %, {time.perf_counter() - epoch_start:.1f} s", flush=True)
    return model, time.perf_counter() - started


def predict_plain(model: SingleStageModel, data: FolderData) -> list[list[str]]:
    model.eval()
    predictions = []
    with torch.no_grad():
        for clip in data.test:
            x = as_input(clip)
            p = model(x, torch.ones(1, len(data.classes), x.shape[2]))
            predictions.append([data.classes[i] for i in p.argmax(1)[0].tolist()])
    return predictions


# --------------------------------------------------------------------------- MS-TCN's eval.py


def get_labels_start_end_time(frame_wise_labels, bg_class=BG_CLASS):
    labels, starts, ends = [], [], []
    last_label = frame_wise_labels[0]
    if frame_wise_labels[0] not in bg_class:
        labels.append(frame_wise_labels[0])
        starts.append(0)
    for i in range(len(frame_wise_labels)):
        if frame_wise_labels[i] != last_label:
            if frame_wise_labels[i] not in bg_class:
                labels.append(frame_wise_labels[i])
                starts.append(i)
            if last_label not in bg_class:
                ends.append(i)
            last_label = frame_wise_labels[i]
    if last_label not in bg_class:
        ends.append(i + 1)
    return labels, starts, ends


def levenstein(p, y, norm=False):
    m_row, n_col = len(p), len(y)
    D = np.zeros([m_row + 1, n_col + 1], np.float64)
    for i in range(m_row + 1):
        D[i, 0] = i
    for i in range(n_col + 1):
        D[0, i] = i
    for j in range(1, n_col + 1):
        for i in range(1, m_row + 1):
            if y[j - 1] == p[i - 1]:
                D[i, j] = D[i - 1, j - 1]
            else:
                D[i, j] = min(D[i - 1, j] + 1, D[i, j - 1] + 1, D[i - 1, j - 1] + 1)
    if norm:
        # eval.py divides by max(m_row, n_col); with both lists empty (only background) that is 0/0,
        # which we score 100 (nothing to edit), as mmfuse does
        return (1 - D[-1, -1] / max(m_row, n_col)) * 100 if max(m_row, n_col) else 100.0
    return D[-1, -1]


def edit_score(recognized, ground_truth, norm=True, bg_class=BG_CLASS):
    P, _, _ = get_labels_start_end_time(recognized, bg_class)
    Y, _, _ = get_labels_start_end_time(ground_truth, bg_class)
    return levenstein(P, Y, norm)


def f_score(recognized, ground_truth, overlap, bg_class=BG_CLASS):
    p_label, p_start, p_end = get_labels_start_end_time(recognized, bg_class)
    y_label, y_start, y_end = get_labels_start_end_time(ground_truth, bg_class)
    if not y_label:  # eval.py's argmax over no true segments would fail: every prediction is a false positive
        return 0.0, float(len(p_label)), 0.0
    tp, fp = 0, 0
    hits = np.zeros(len(y_label))
    for j in range(len(p_label)):
        intersection = np.minimum(p_end[j], y_end) - np.maximum(p_start[j], y_start)
        union = np.maximum(p_end[j], y_end) - np.minimum(p_start[j], y_start)
        IoU = (1.0 * intersection / union) * np.array([p_label[j] == y_label[x] for x in range(len(y_label))])
        idx = np.array(IoU).argmax()
        if IoU[idx] >= overlap and not hits[idx]:
            tp += 1
            hits[idx] = 1
        else:
            fp += 1
    fn = len(y_label) - sum(hits)
    return float(tp), float(fp), float(fn)


def score(predictions: list[list[str]], truths: list[list[str]]) -> dict[str, float]:
    """eval.py's main loop: Acc pooled over frames, Edit averaged over videos, F1 from summed counts."""
    tp, fp, fn = np.zeros(len(OVERLAPS)), np.zeros(len(OVERLAPS)), np.zeros(len(OVERLAPS))
    correct = total = 0
    edit = 0.0
    for recog, gt in zip(predictions, truths):
        assert len(recog) == len(gt)
        total += len(gt)
        correct += sum(r == g for r, g in zip(recog, gt))
        edit += edit_score(recog, gt)
        for s, overlap in enumerate(OVERLAPS):
            counts = f_score(recog, gt, overlap)
            tp[s], fp[s], fn[s] = tp[s] + counts[0], fp[s] + counts[1], fn[s] + counts[2]
    metrics = {"accuracy": 100.0 * correct / total, "edit": edit / len(truths)}
    for s, overlap in enumerate(OVERLAPS):
        precision = tp[s] / (tp[s] + fp[s]) if tp[s] + fp[s] else 0.0
        recall = tp[s] / (tp[s] + fn[s]) if tp[s] + fn[s] else 0.0
        f1 = 2.0 * precision * recall / (precision + recall) if precision + recall else 0.0
        metrics[f"f1@{round(overlap * 100)}"] = 100.0 * f1
    return metrics


# --------------------------------------------------------------------------- mmfuse as a subprocess


def mmfuse_overrides(temporal: list[str], seeds: list[int], epochs: int | None) -> list[str]:
    return [
        "dataset=folder", "dataset.root=ROOT",
        "fusion=concat", "task=segmentation", f"temporal={','.join(temporal)}", f"seed={','.join(map(str, seeds))}",
        *([f"dataset.train.epochs={epochs}"] if epochs is not None else []),
        "paths.runs=WORK/runs", "paths.leaderboards=WORK/boards",
    ]


def run_mmfuse(root: Path, work: Path, overrides: list[str]) -> tuple[float, int, list[dict]]:
    """``mmfuse bench`` in its own process: (wall seconds, exit code, run records)."""
    argv = [*MMFUSE, "bench", *(o.replace("ROOT", str(root), 1) if o.startswith("dataset.root=") else
                                 o.replace("WORK", str(work), 1) if o.startswith("paths.") else o for o in overrides)]
    print("$", " ".join(argv[2:]), flush=True)
    started = time.perf_counter()
    code = subprocess.run(argv, cwd=REPO, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}).returncode
    wall = time.perf_counter() - started
    records = [json.loads(p.read_text()) for p in sorted((work / "runs").rglob("result.json"))]
    return wall, code, [r for r in records if r.get("status") == "finished"]


# --------------------------------------------------------------------------- one dataset


@dataclass
class Row:
    method: str
    seed: int
    metrics: dict[str, float]
    train_s: float
    eval_s: float


def describe(data: FolderData) -> str:
    lengths = [len(c.labels) for c in data.train + data.test]
    test_labels = [label for c in data.test for label in c.labels]
    top = max(set(test_labels), key=test_labels.count)
    widths = ", ".join(f"`{m}` {d}" for m, d in data.modalities.items())
    return (f"{len(data.train)} train / {len(data.test)} test videos of {min(lengths)}-{max(lengths)} frames "
            f"({sum(lengths)} in all), {len(data.classes)} classes, modalities {widths} channels "
            f"(plain input width {sum(data.modalities.values())}); majority class of the test frames "
            f"`{top}` {100 * test_labels.count(top) / len(test_labels):.1f} %")


def bench_dataset(name: str, root: Path, work: Path, args, epochs: int, seeds: list[int]) -> dict:
    data = read_folder(root)
    about = describe(data)
    print(f"[{name}] {about}", flush=True)
    rows: list[Row] = []
    for seed in seeds:
        model, train_s = train_plain(data, epochs, seed, f"[{name}] {PLAIN} seed {seed}")
        started = time.perf_counter()
        metrics = score(predict_plain(model, data), [c.labels for c in data.test])
        eval_s = time.perf_counter() - started
        print(f"[{name}] {PLAIN} seed {seed}: " + "  ".join(f"{h} {metrics[k]:.1f}" for k, h in METRICS)
              + f"  ({train_s:.0f} s training)", flush=True)
        rows.append(Row(PLAIN, seed, metrics, train_s, eval_s))
    overrides = mmfuse_overrides(args.temporal, seeds, epochs if args.quick else None)
    wall, code, records = run_mmfuse(root, work / "mmfuse", overrides)
    for record in records:
        temporal = record["config"]["temporal"]["name"]
        rows.append(Row(f"mmfuse concat + {temporal}", int(record["config"]["seed"]),
                        {k: float(record["metrics"][k]) for k, _ in METRICS},
                        float(record["train_seconds"]), float(record["eval_seconds"])))
    expected = {(f"mmfuse concat + {t}", s) for t in args.temporal for s in seeds}
    missing = sorted(expected - {(r.method, r.seed) for r in rows})
    if code != 0 or missing:
        print(f"[{name}] mmfuse bench exited with {code}; missing runs: "
              + (", ".join(f"{m} seed {s}" for m, s in missing) or "none"), flush=True)
    return {"about": about, "rows": rows, "mmfuse_wall_s": wall, "mmfuse_exit": code, "missing": missing,
            "overrides": overrides}


# --------------------------------------------------------------------------- report


def cell(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{np.mean(values):.1f} ± {np.std(values, ddof=1):.1f}"


def tables(result: dict, methods: list[str]) -> list[str]:
    rows: list[Row] = result["rows"]
    header = " | ".join(h for _, h in METRICS)
    lines = [f"| method | {header} | n | train s / seed |", "|---|" + "---:|" * (len(METRICS) + 2)]
    for method in methods:
        mine = [r for r in rows if r.method == method]
        scores = " | ".join(cell([r.metrics[k] for r in mine]) for k, _ in METRICS)
        train = f"{np.mean([r.train_s for r in mine]):.1f}" if mine else "–"
        lines.append(f"| {method} | {scores} | {len(mine)} | {train} |")
    lines += ["", "Per seed:", "", f"| method | seed | {header} | train s | eval s |", "|---|---:|" + "---:|" * (len(METRICS) + 2)]
    for method in methods:
        for r in sorted((r for r in rows if r.method == method), key=lambda r: r.seed):
            scores = " | ".join(f"{r.metrics[k]:.1f}" for k, _ in METRICS)
            lines.append(f"| {method} | {r.seed} | {scores} | {r.train_s:.1f} | {r.eval_s:.1f} |")
    return lines


def render(results: dict[str, dict], notes: list[str], args, epochs: int, seeds: list[int], load: tuple[float, float]) -> str:
    methods = [PLAIN, *(f"mmfuse concat + {t}" for t in args.temporal)]
    command = "python -m mmfuse.cli bench " + " ".join(mmfuse_overrides(args.temporal, seeds, epochs if args.quick else None))
    lines = [
        "# Parity: plain MS-TCN vs mmfuse's segmentation backbone",
        "",
        f"Produced by `python bench/mstcn_parity.py{''.join(' ' + a for a in sys.argv[1:])}`.",
        "",
        f"- date: {dt.date.today().isoformat()}",
        f"- machine: `nproc` {len(os.sched_getaffinity(0))} ({os.cpu_count()} CPUs), {platform.platform()}; CPU only "
        "(`CUDA_VISIBLE_DEVICES` empty for mmfuse), the machine is shared",
        f"- python {platform.python_version()}, torch {torch.__version__} (plain part: {torch.get_num_threads()} torch threads), "
        f"numpy {np.__version__}",
        f"- 1-minute load average: {load[0]:.2f} before, {load[1]:.2f} after",
        f"- seeds: {', '.join(map(str, seeds))}; mean ± sample std (ddof = 1) over seeds, n = seeds",
        f"- plain recipe: {RECIPE.format(epochs=epochs)}; scored by MS-TCN's `eval.py` (copied into the script; "
        "`background` segments dropped from Edit and F1)",
        "- mmfuse command (ROOT = the dataset, WORK = a temporary folder), at its defaults apart from these axes:",
        "",
        f"      {command}",
        "",
        "  (`dataset.background` defaults to the class `background` where the mapping has one, so both sides "
        "drop the same segments from Edit and F1). Training seconds: the plain loop's wall time; "
        "mmfuse's `train_seconds` from its run record",
        "",
    ]
    for note in notes:
        lines += [f"Note: {note}", ""]
    for name, result in results.items():
        overrides = " ".join(result["overrides"])
        lines += [
            f"## {name}",
            "",
            f"Data: {result['about']}.",
            "",
            f"`mmfuse bench {overrides}`: wall time of the whole process {result['mmfuse_wall_s']:.0f} s, exit code "
            f"{result['mmfuse_exit']}" + (f"; missing runs: {', '.join(f'{m} seed {s}' for m, s in result['missing'])}"
                                          if result["missing"] else "") + ".",
            "",
            *tables(result, methods),
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated: har, utkinect")
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="comma-separated seeds")
    parser.add_argument("--temporal", default=",".join(TEMPORAL), help="mmfuse temporal models, comma-separated")
    parser.add_argument("--epochs", type=int, help=f"epochs of the plain model (default {EPOCHS}; {QUICK_EPOCHS} with --quick)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EPOCHS} epochs for both parts, first seed only; print only")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (datasets and mmfuse runs)")
    parser.add_argument("--utkinect", type=Path, default=UTKINECT_ROOT, help="UTKinect folder holding joints/")
    args = parser.parse_args()
    datasets = [d for d in args.datasets.split(",") if d]
    unknown = sorted(set(datasets) - set(DATASETS))
    if unknown:
        parser.error(f"unknown datasets {unknown}; choose from {', '.join(DATASETS)}")
    seeds = [int(s) for s in args.seeds.split(",") if s]
    args.temporal = [t for t in args.temporal.split(",") if t]
    if not seeds or not args.temporal:
        parser.error("--seeds and --temporal need at least one value")
    epochs = args.epochs if args.epochs is not None else (QUICK_EPOCHS if args.quick else EPOCHS)
    if args.quick:
        seeds = seeds[:1]
    full = (not args.quick and epochs == EPOCHS and seeds == list(SEEDS) and datasets == list(DATASETS)
            and args.temporal == list(TEMPORAL))

    work = Path(tempfile.mkdtemp(prefix="mmfuse-mstcn-parity-"))
    print(f"work folder: {work}", flush=True)
    load_before = os.getloadavg()[0]
    results: dict[str, dict] = {}
    notes: list[str] = []
    try:
        for name in datasets:
            root = work / name / "data"
            if name == "har":
                make_har_dataset(root)
            else:
                source = args.utkinect.resolve()
                if not (source / "joints").is_dir():
                    note = f"UTKinect skipped: {source} has no joints/ folder (pass --utkinect DIR)."
                    print(note, flush=True)
                    notes.append(note)
                    continue
                write_folder(source, root)
            results[name] = bench_dataset(name, root, work / name, args, epochs, seeds)
    finally:
        if args.keep:
            print(f"kept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    report = render(results, notes, args, epochs, seeds, (load_before, os.getloadavg()[0]))
    print(report)
    failed = [name for name, r in results.items() if r["mmfuse_exit"] != 0 or r["missing"]]
    if failed:
        raise SystemExit(f"mmfuse runs failed or are missing on {', '.join(failed)}; {RESULTS.name} not written")
    if full:
        RESULTS.write_text(report)
        print(f"wrote {RESULTS.relative_to(REPO)}")
    else:
        print(f"(not a full run: {RESULTS.relative_to(REPO)} not written)")


if __name__ == "__main__":
    main()
