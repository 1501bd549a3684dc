"""AdamW with linear warm-up followed by cosine decay."""
from __future__ import annotations

import math

import torch
from torch import nn


def build_optimizer(
    model: nn.Module, lr: float, weight_decay: float, total_steps: int, warmup_steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW and a per-step warm-up + cosine schedule. Not decayed: biases, norms (parameters
    with fewer than 2 dimensions) and what modules name in ``no_weight_decay()``."""
    skip = no_weight_decay(model)
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (decay if parameter.ndim >= 2 and name not in skip else no_decay).append(parameter)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=lr,
        foreach=True,  # one kernel per group, not per tensor: the CPU default is the per-tensor loop
    )
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(total_steps, warmup_steps))


def no_weight_decay(model: nn.Module) -> set[str]:
    """Names of the parameters that modules keep out of weight decay. timm's convention: a module
    may define ``no_weight_decay() -> set[str]``, names relative to itself; collected over every module."""
    return {
        f"{prefix}.{name}" if prefix else name
        for prefix, module in model.named_modules()
        if callable(getattr(module, "no_weight_decay", None))
        for name in module.no_weight_decay()
    }


def warmup_cosine(total_steps: int, warmup_steps: int):
    """Multiplier: linear from ~0 to 1 over ``warmup_steps``, then cosine down to 0 at ``total_steps``."""
    total_steps = max(total_steps, 1)
    warmup_steps = min(max(warmup_steps, 0), total_steps - 1)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return factor
