"""Effective rank and collapse diagnostics of a trained model's representations over whole test videos."""
from __future__ import annotations

from itertools import combinations
from typing import Any, Mapping, Sequence

import torch

from mmfuse.analysis.effective_rank import effective_rank, subsample
from mmfuse.analysis.geometry import BLENDED, cross_modal_drift, harmonic_mean, principal_angles, rank_gains, singular_spectrum
from mmfuse.data.video import Video
from mmfuse.tasks.base import TaskModel, length_batches, pad_windows


def measure_representations(
    model: TaskModel, videos: Sequence[Video], modalities: Sequence[str], batch_size: int, device: torch.device
) -> tuple[dict[str, float], dict[str, Any]]:
    """R3D Eq. 1 over every step of every (whole) test video, and the collapse diagnostics
    (``representation_geometry``) on the same tokens.

    Effective-rank keys: each modality's embedding before fusion (``m``), the fused tokens
    (``fused``), and, where the fuser exposes its per-modality streams (``concat``, ``rtf``), each
    stream after fusion (``m/blended``) and the streams stacked on the channel axis (``stacked``:
    R3D's fused representation, before the output projection).
    """
    tokens = kept_tokens(model, videos, modalities, batch_size, device)
    ranks = {name: effective_rank(z) for name, z in tokens.items()}
    return ranks, representation_geometry(tokens, ranks, modalities)


def representation_geometry(
    tokens: Mapping[str, torch.Tensor], ranks: Mapping[str, float], modalities: Sequence[str]
) -> dict[str, Any]:
    """JSON-friendly collapse diagnostics (DESIGN §9, ``analysis.geometry``) of the representations'
    token matrices (rows: the same tokens) and their effective ranks: every representation's
    singular spectrum, each modality's rank gain through fusion and their harmonic mean, and, for
    every pair of modalities ``a~b`` (in the order of ``modalities``) before fusion and, where the
    fuser exposes streams, after it (``a/blended~b/blended``), the principal angles between their
    dominant subspaces and, where their widths agree, their cross-modal drift."""
    gains = rank_gains(ranks)
    names = [m for m in modalities if m in tokens]
    pairs = list(combinations(names, 2))
    pairs += [(f"{a}{BLENDED}", f"{b}{BLENDED}") for a, b in pairs if f"{a}{BLENDED}" in tokens and f"{b}{BLENDED}" in tokens]
    return {
        "spectra": {name: singular_spectrum(z) for name, z in tokens.items()},
        "rank_gain": gains,
        "rank_gain_harmonic_mean": harmonic_mean(gains.values()),
        "principal_angles": {f"{a}~{b}": principal_angles(tokens[a], tokens[b]) for a, b in pairs},
        "cross_modal_drift": {
            f"{a}~{b}": cross_modal_drift(tokens[a], tokens[b]) for a, b in pairs if tokens[a].shape[1] == tokens[b].shape[1]
        },
    }


def kept_tokens(
    model: TaskModel, videos: Sequence[Video], modalities: Sequence[str], batch_size: int, device: torch.device
) -> dict[str, torch.Tensor]:
    """Every representation's tokens ``[N, C]`` (on the CPU) that the analyses are measured on:
    ``subsample`` over every test step, in the order the batches visit them, the same steps for
    every representation. Only these are kept, so memory stays bounded however many test videos there are."""
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
    return {name: torch.cat(parts) for name, parts in rows.items()}


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
    return {f"{m}{BLENDED}": x for m, x in streams(embeddings, mask).items()}
