"""What `tcn`'s `MaskDropout` saves over `nn.Dropout` on CPU, measured in one run.

Times forward + backward of (1) the dropout alone on a ``[1, 64, 4500]`` tensor (one
long recording at MS-TCN's width) and (2) one training step (loss, backward, AdamW) of the
segmentation backbone with `tcn` and with `mstcn` on a 4,500-step video of two modalities, once
with `MaskDropout` (what the models use) and once with `nn.Dropout` swapped in. Both draw
Bernoulli(1 - p) masks; only the sampling differs. Ratios are from the same run, so a busy
machine moves both sides alike. Writes bench/results/dropout_cost.md.

    python bench/dropout_cost.py
"""
from __future__ import annotations

import datetime as dt
import os
import platform
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from mmfuse.models.backbone import build_backbone
from mmfuse.temporal.tcn import MaskDropout
from mmfuse.registry import create_task
from mmfuse.tasks.base import Batch, TaskModel

RESULTS = Path(__file__).resolve().parent / "results" / "dropout_cost.md"
STEPS = 4500


def milliseconds(step: Callable[[], None], repeats: int) -> float:
    for _ in range(3):
        step()
    started = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - started) / repeats * 1e3


def dropout_step(drop: nn.Module) -> Callable[[], None]:
    x = torch.randn(1, 64, STEPS, requires_grad=True)
    return lambda: drop(x).sum().backward()


def training_step(temporal: str, plain_dropout: bool) -> Callable[[], None]:
    torch.manual_seed(0)
    backbone = build_backbone(
        ["accel", "gyro"], {"accel": 6, "gyro": 3}, 64, 64, {"name": "projection"}, {"name": "concat"},
        {"name": temporal}, num_classes=10,
    )
    if plain_dropout:
        for module in backbone.modules():
            for name, child in module.named_children():
                if isinstance(child, MaskDropout):
                    setattr(module, name, nn.Dropout(child.p))
    task = create_task("segmentation")
    model = TaskModel(backbone, task.build_head(64, 10))
    optimizer = torch.optim.AdamW(model.parameters(), 5e-4)
    mask = torch.ones(1, STEPS, dtype=torch.bool)
    batch = Batch({"accel": torch.randn(1, STEPS, 6), "gyro": torch.randn(1, STEPS, 3)}, mask,
                  {"labels": torch.randint(0, 10, (1, STEPS))})

    def step() -> None:
        loss, _, _ = task.loss(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def main() -> None:
    rows = [("dropout p=0.5 alone, fwd + bwd, [1, 64, 4500]",
             milliseconds(dropout_step(nn.Dropout(0.5)), 100), milliseconds(dropout_step(MaskDropout(0.5)), 100))]
    for temporal in ("tcn", "mstcn"):
        rows.append((f"training step, concat + {temporal}, T = {STEPS}",
                     milliseconds(training_step(temporal, True), 10), milliseconds(training_step(temporal, False), 10)))
    lines = [
        "# `MaskDropout` against `nn.Dropout` on CPU",
        "",
        f"Produced by `python bench/dropout_cost.py` on {dt.date.today()} ({os.cpu_count()} CPUs, {platform.machine()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; 1-minute load average after: "
        f"{os.getloadavg()[0]:.2f}).",
        "",
        "| measure | `nn.Dropout` ms | `MaskDropout` ms | ratio |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {plain:.1f} | {ours:.1f} | {plain / ours:.2f}x |" for name, plain, ours in rows),
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
