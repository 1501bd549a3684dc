"""Collapse diagnostics on token matrices ``[N, C]`` (DESIGN §9): singular-value spectra (R3D Fig. 2),
effective-rank gains and their harmonic mean (R3D Fig. 3), principal angles between dominant
subspaces (R3D Thm 3.1, Table 6) and cross-modal drift of paired tokens (DAGR Fig. 2).

Everything is computed in float64 on the raw tokens (no centring, as the effective rank is) and
returns plain python floats, so the values go into run records as they are."""
from __future__ import annotations

import math
from typing import Iterable, Mapping

import torch
from torch import Tensor

from mmfuse.analysis.effective_rank import significant_singular_values

ENERGY = 0.9  # share of the squared singular values a dominant subspace holds (principal_angles' default k)
BLENDED = "/blended"  # suffix of a modality's stream after fusion (analysis.representations)


def singular_spectrum(z: Tensor) -> list[float]:
    """p_j = σ_j / Σ_k σ_k over the singular values of ``z [N, C]``, descending, min(N, C) of them:
    the distribution whose entropy is the effective rank, so exp(-Σ p log p) == effective_rank(z).

    Singular values below ``effective_rank``'s tolerance (σ_max · max(N, C) · eps of the input's
    dtype) are rounding noise and are 0 here, as they are left out of the effective rank
    (0 log 0 = 0). An all-zero matrix has an all-zero spectrum, an empty one an empty spectrum."""
    sigma = significant_singular_values(z, "singular_spectrum")
    p = sigma / sigma.sum() if sigma.numel() else sigma
    return p.tolist() + [0.0] * (min(z.shape) - p.numel())


def rank_gains(ranks: Mapping[str, float]) -> dict[str, float]:
    """ERank(m/blended) / ERank(m) for each modality ``m`` with both keys in ``ranks`` (1 = unchanged).

    R3D's Δ_m (Sec. 3, Fig. 3, 6) is the change of a modality's effective rank through fusion
    without a precise formula; a ratio is scale-free and positive, which its harmonic mean needs
    (a difference may be negative). A modality whose rank before fusion is 0 has no gain and is left out."""
    gains = {}
    for key, after in ranks.items():
        name = key.removesuffix(BLENDED)
        if name != key and ranks.get(name, 0.0) > 0:
            gains[name] = after / ranks[name]
    return gains


def harmonic_mean(values: Iterable[float]) -> float | None:
    """n / Σ 1/v_i (R3D Fig. 3: high only when every modality gains); None for fewer than two
    values or any value that is not positive, where it says nothing."""
    values = [float(v) for v in values]
    if len(values) < 2 or any(not v > 0 for v in values):
        return None
    return len(values) / math.fsum(1.0 / v for v in values)


def principal_angles(x: Tensor, y: Tensor, k: int | None = None) -> list[float]:
    """Principal angles in degrees, ascending, between the dominant subspaces of ``x [N, Cx]`` and
    ``y [N, Cy]``, whose rows are the same N tokens: the spans of each matrix's top-k left singular
    vectors in token space R^N (R3D Thm 3.1 projects channels y_c ∈ R^N onto X's u_i), so matrices
    of different widths compare. The angles are arccos of the singular values of U_xᵀ U_y, clipped
    to [0, 1]: 0° = a shared direction, 90° = orthogonal (R3D Table 6: complementary).

    ``k`` defaults to the smaller of the two matrices' counts of components that hold ``ENERGY``
    (90 %) of their squared singular values; given, it is at most either matrix's rank (singular
    values above ``effective_rank``'s tolerance), beyond which singular vectors are arbitrary.
    A matrix of rank 0 has no dominant subspace: no angles then, unless ``k`` is given (an error)."""
    if x.dim() != 2 or y.dim() != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"principal_angles expects [N, Cx] and [N, Cy] of the same tokens, got {tuple(x.shape)}, {tuple(y.shape)}")
    sigmas = [significant_singular_values(z, "principal_angles") for z in (x, y)]
    rank = min(s.numel() for s in sigmas)
    if k is None:
        if rank == 0:
            return []
        k = min(_energy_components(s) for s in sigmas)
    if not 1 <= k <= rank:
        raise ValueError(f"principal_angles: k={k} must be between 1 and the smaller rank, {rank}")
    u_x, u_y = (torch.linalg.svd(z.detach().to(torch.float64), full_matrices=False).U[:, :k] for z in (x, y))
    cosines = torch.linalg.svdvals(u_x.T @ u_y).clamp(0.0, 1.0)
    return torch.rad2deg(torch.arccos(cosines)).sort().values.tolist()


def _energy_components(sigma: Tensor) -> int:
    """The fewest leading components whose squared singular values sum to ``ENERGY`` of the total."""
    energy = (sigma**2).cumsum(0)
    return min(int((energy < ENERGY * energy[-1]).sum()) + 1, sigma.numel())


def cross_modal_drift(x: Tensor, y: Tensor) -> float:
    """mean_i ‖x_i/‖x_i‖ − y_i/‖y_i‖‖ over paired tokens (rows) of ``x`` and ``y [N, C]``: DAGR's
    cross-modal drift (Fig. 2), 0 for the same directions, 2 for opposite ones.

    Rows are ℓ2-normalised like the ``dagr`` regularizer does (``torch.nn.functional.normalize``,
    eps 1e-12): a zero row stays zero, so its distance is 1 to a non-zero row and 0 to a zero row."""
    if x.dim() != 2 or x.shape != y.shape:
        raise ValueError(f"cross_modal_drift expects two [N, C] matrices of one shape, got {tuple(x.shape)}, {tuple(y.shape)}")
    if x.shape[0] == 0:
        raise ValueError("cross_modal_drift: no tokens")
    x, y = (torch.nn.functional.normalize(z.detach().to(torch.float64), dim=-1) for z in (x, y))
    return float((x - y).norm(dim=-1).mean())
