"""Effective rank (R3D Eq. 1) against numpy's SVD and known cases."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmfuse.analysis import effective_rank, masked_effective_rank


def reference(z: np.ndarray) -> float:
    sigma = np.linalg.svd(z, compute_uv=False)
    sigma = sigma[sigma > sigma.max() * max(z.shape) * np.finfo(np.float64).eps]
    p = sigma / sigma.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


@pytest.mark.parametrize("shape", [(50, 8), (8, 50), (200, 32), (1, 5)])
def test_matches_numpy(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    z = rng.standard_normal(shape) * rng.uniform(0.1, 3.0, size=shape[1])
    assert effective_rank(torch.from_numpy(z)) == pytest.approx(reference(z), rel=1e-10)
    assert effective_rank(torch.from_numpy(z).float()) == pytest.approx(reference(z), rel=1e-4)


def test_rank_one_is_one() -> None:
    z = torch.randn(40, 1) @ torch.randn(1, 12)
    assert effective_rank(z) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("r", [1, 3, 7])
def test_equal_singular_values_give_the_rank(r: int) -> None:
    q_left, _ = torch.linalg.qr(torch.randn(30, 30, dtype=torch.float64))
    q_right, _ = torch.linalg.qr(torch.randn(10, 10, dtype=torch.float64))
    z = 2.5 * q_left[:, :r] @ q_right[:r]
    assert effective_rank(z) == pytest.approx(r, rel=1e-9)


def test_between_one_and_rank_and_scale_invariant() -> None:
    z = torch.randn(64, 16, dtype=torch.float64) * torch.linspace(0.1, 5, 16, dtype=torch.float64)
    value = effective_rank(z)
    assert 1.0 < value < 16.0
    assert effective_rank(1000 * z) == pytest.approx(value, rel=1e-9)


def test_degenerate_matrices() -> None:
    assert effective_rank(torch.zeros(10, 4)) == 0.0
    assert effective_rank(torch.zeros(0, 4)) == 0.0
    with pytest.raises(ValueError, match="NaN"):
        effective_rank(torch.tensor([[1.0, float("nan")]]))
    with pytest.raises(ValueError, match=r"\[N, C\]"):
        effective_rank(torch.zeros(2, 3, 4))


def test_masked_uses_valid_tokens_only() -> None:
    x = torch.randn(3, 20, 8, dtype=torch.float64)
    mask = torch.rand(3, 20) > 0.4
    garbage = x.clone()
    garbage[~mask] = 1e6 * torch.randn(int((~mask).sum()), 8, dtype=torch.float64)
    assert masked_effective_rank(garbage, mask) == pytest.approx(effective_rank(x[mask]), rel=1e-12)


def test_masked_subsampling_is_deterministic() -> None:
    x = torch.randn(4, 300, 16) * torch.linspace(0.1, 3, 16)
    mask = torch.ones(4, 300, dtype=torch.bool)
    state = torch.get_rng_state()
    first = masked_effective_rank(x, mask, max_tokens=100)
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is untouched
    assert masked_effective_rank(x, mask, max_tokens=100) == first
    seeded = masked_effective_rank(x, mask, max_tokens=100, generator=torch.Generator().manual_seed(5))
    assert seeded == masked_effective_rank(x, mask, max_tokens=100, generator=torch.Generator().manual_seed(5))
    assert seeded != first
    assert first == pytest.approx(masked_effective_rank(x, mask), rel=0.1)
    with pytest.raises(ValueError, match="mask"):
        masked_effective_rank(x, mask[:, :10])
