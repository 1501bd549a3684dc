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
    keep = subsample(sum(v.num_steps for v in videos))
    chosen = None
    if keep is not None:
        chosen = torch.zeros(sum(v.num_steps for v in videos), dtype=torch.bool)
        chosen[keep] = True
    seen = 0
    for indices in length_batches([v.num_steps for v in videos], batch_size):
        feats, mask = pad_windows([{m: videos[i].features[m] for m in modalities} for i in indices], modalities)
        with torch.no_grad():
            _, fused = model({m: x.to(device) for m, x in feats.items()}, mask.to(device))
            after = blended_streams(model, fused.embeddings, mask.to(device))
            if after:
                after["stacked"] = torch.cat(list(after.values()), dim=-1)
        valid = mask.flatten().to(device)
        count = int(valid.sum())
        picked = None if chosen is None else chosen[seen:seen + count].to(device)
        seen += count
        for name, tensor in {**fused.embeddings, **after, "fused": fused.tokens}.items():
            tokens = tensor.float().flatten(0, 1)[valid]
            rows.setdefault(name, []).append((tokens if picked is None else tokens[picked]).cpu())
    ranks = {}
    for name, parts in rows.items():
        tokens = torch.cat(parts)[None]
        mask = torch.ones(tokens.shape[:2], dtype=torch.bool)
        ranks[name] = masked_effective_rank(tokens, mask, generator=torch.Generator().manual_seed(0))
    return ranks


def blended_streams(model: TaskModel, embeddings: dict[str, torch.Tensor], mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-modality streams after fusion, from fusers that expose ``streams(feats, mask)``."""
    streams = getattr(model.backbone.fuser, "streams", None)
    if not callable(streams):
        return {}
    return {f"{m}/blended": x for m, x in streams(embeddings, mask).items()}
