"""Effective rank (Roy & Vetterli 2007; R3D Eq. 1) of a token matrix."""
from __future__ import annotations

import torch
from torch import Tensor


def effective_rank(z: Tensor) -> float:
    """ERank(Z) = exp(-Σ_j p_j log p_j), p_j = σ_j / Σ_k σ_k over the singular values of ``z [N, C]``.

    Computed in float64. Singular values below ``σ_max · max(N, C) · eps``, with the
    machine epsilon of the input's dtype (numpy's ``matrix_rank`` tolerance), are
    rounding noise and are ignored. A matrix with no
    non-zero singular value (all zeros, or empty) has effective rank 0, like its rank.
    """
    sigma = significant_singular_values(z, "effective_rank")
    if sigma.numel() == 0:
        return 0.0
    p = sigma / sigma.sum()
    return float(torch.exp(-(p * p.log()).sum()))


def significant_singular_values(z: Tensor, caller: str) -> Tensor:
    """The singular values of ``z [N, C]`` in float64, descending, without those below the
    tolerance ``effective_rank`` documents (empty for an empty or all-zero matrix); ``caller``
    names the function in the errors."""
    if z.dim() != 2:
        raise ValueError(f"{caller} expects a [N, C] matrix, got shape {tuple(z.shape)}")
    if z.numel() == 0:
        return torch.zeros(0, dtype=torch.float64)
    eps = torch.finfo(z.dtype if z.is_floating_point() else torch.float64).eps
    z = z.detach().to(torch.float64)
    if not torch.isfinite(z).all():
        raise ValueError(f"{caller}: the matrix holds NaN or Inf")
    sigma = torch.linalg.svdvals(z)
    return sigma[sigma > sigma.max() * max(z.shape) * eps]


RANK_TOKENS = 4096  # valid tokens an effective rank is measured on; more are subsampled


def subsample(count: int, max_tokens: int = RANK_TOKENS, generator: torch.Generator | None = None) -> Tensor | None:
    """The sorted indices of the ``max_tokens`` tokens out of ``count`` that the rank is measured on
    (a random permutation from ``generator``, default seeded 0), or None when all of them are."""
    if count <= max_tokens:
        return None
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    return torch.randperm(count, generator=generator)[:max_tokens].sort().values


def masked_effective_rank(
    x: Tensor, mask: Tensor, max_tokens: int = RANK_TOKENS, generator: torch.Generator | None = None
) -> float:
    """Effective rank of the valid tokens of ``x [B, T, C]`` (``mask`` True = valid).

    More than ``max_tokens`` valid tokens are subsampled without replacement by a
    random permutation from ``generator``; without one, a generator seeded with 0 is
    used, so the same input always gives the same number and the global RNG is untouched.
    """
    if x.dim() != 3 or mask.shape != x.shape[:2]:
        raise ValueError(
            f"masked_effective_rank expects x [B, T, C] and mask [B, T], got {tuple(x.shape)}, {tuple(mask.shape)}"
        )
    tokens = x.detach()[mask.bool()]
    keep = subsample(tokens.shape[0], max_tokens, generator)
    return effective_rank(tokens if keep is None else tokens[keep.to(tokens.device)])
