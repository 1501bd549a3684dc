"""Effective rank of a trained model's representations over whole test videos."""
from __future__ import annotations

from typing import Sequence

import torch

from mmfuse.analysis.effective_rank import masked_effective_rank, subsample
from mmfuse.data.video import Video
from mmfuse.tasks.base import TaskModel, length_batches, pad_windows


def measure_effective_rank(
    model: TaskModel, videos: Sequence[Video], modalities: Sequence[str], batch_size: int, device: torch.device
) -> dict[str, float]:
    """R3D Eq. 1 over every step of every (whole) test video.

    Keys: each modality's embedding before fusion (``m``), the fused tokens (``fused``), and,
    where the fuser exposes its per-modality streams (``concat``, ``rtf``), each stream after
    fusion (``m/blended``) and the streams stacked on the channel axis (``stacked``: R3D's fused
    representation, before the output projection).

    Only the tokens the rank is measured on are kept (``subsample`` over every test step, in the
    order the batches visit them), so memory stays bounded however many test videos there are.
    """
    rows: dict[str, list[torch.Tensor]] = {}
    total = sum(v.num_steps for v in videos)
    keep = subsample(total)
    chosen = None
    if keep is not None:
        chosen = torch.zeros(total, dtype=torch.bool)
        chosen[keep] = True
    seen = 0
    for indices in length_batches([v.num_steps for v in videos], batch_size):
        batch = valid_tokens(model, [videos[i] for i in indices], modalities, device)
        count = next(iter(batch.values())).shape[0]
        picked = None if chosen is None else chosen[seen:seen + count].to(device)
        seen += count
        for name, tokens in batch.items():
            rows.setdefault(name, []).append((tokens if picked is None else tokens[picked]).cpu())
    ranks = {}
    for name, parts in rows.items():
        tokens = torch.cat(parts)[None]
        mask = torch.ones(tokens.shape[:2], dtype=torch.bool)
        ranks[name] = masked_effective_rank(tokens, mask, generator=torch.Generator().manual_seed(0))
    return ranks


def valid_tokens(
    model: TaskModel, videos: Sequence[Video], modalities: Sequence[str], device: torch.device
) -> dict[str, torch.Tensor]:
    """Every representation's valid tokens ``[N, C]`` of a batch of whole videos, in batch order.
    A function of its own, so the padded batch and its activations are freed before the next is built."""
    feats, mask = pad_windows([{m: video.features[m] for m in modalities} for video in videos], modalities)
    mask = mask.to(device)
    with torch.no_grad():
        _, fused = model({m: x.to(device) for m, x in feats.items()}, mask)
        after = blended_streams(model, fused.embeddings, mask)
        if after:
            after["stacked"] = torch.cat(list(after.values()), dim=-1)
    valid = mask.flatten()
    return {name: t.float().flatten(0, 1)[valid] for name, t in {**fused.embeddings, **after, "fused": fused.tokens}.items()}


def blended_streams(model: TaskModel, embeddings: dict[str, torch.Tensor], mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-modality streams after fusion, from fusers that expose ``streams(feats, mask)``."""
    streams = getattr(model.backbone.fuser, "streams", None)
    if not callable(streams):
        return {}
    return {f"{m}/blended": x for m, x in streams(embeddings, mask).items()}
