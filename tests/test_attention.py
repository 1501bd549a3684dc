"""Banded attention over time, computed in blocks, against a dense masked softmax written out."""
from __future__ import annotations

import pytest
import torch

from mmfuse.models.attention import band_attention

B, HEADS, D = 2, 2, 4


def dense_reference(q, k, v, valid, before, after):
    """softmax(q k^T / sqrt(d)) v over the keys each query may see, with plain tensor ops."""
    b, h, t, mq, d = q.shape
    mk = k.shape[3]
    rel = torch.arange(t)[:, None] - torch.arange(t)[None, :]
    band = (rel <= (t if before is None else before)) & (rel >= -(t if after is None else after))
    allowed = (band[None] & valid[:, None, :])[:, :, None, :, None].expand(b, t, mq, t, mk)
    allowed = allowed.reshape(b, 1, t * mq, t * mk)
    scores = q.reshape(b, h, t * mq, d) @ k.reshape(b, h, t * mk, d).transpose(-1, -2) / d**0.5
    weights = scores.masked_fill(~allowed, float("-inf")).softmax(-1)
    return (weights @ v.reshape(b, h, t * mk, d)).view(b, h, t, mq, d)


@pytest.mark.parametrize(("before", "after"), [(0, 0), (5, 5), (40, 0), (0, 17), (130, 60), (None, 0), (None, None)])
@pytest.mark.parametrize(("mq", "mk"), [(1, 1), (2, 3)])
def test_band_attention_matches_a_dense_reference(before, after, mq, mk) -> None:
    g = torch.Generator().manual_seed(0)
    t = 300  # several 128-frame blocks
    q, k, v = (torch.randn(B, HEADS, t, m, D, generator=g) for m in (mq, mk, mk))
    valid = torch.ones(B, t, dtype=torch.bool)
    valid[1, 170:] = False
    out = band_attention(q, k, v, valid, before, after)
    expected = dense_reference(q, k, v, valid, before, after)
    torch.testing.assert_close(out[0], expected[0])
    torch.testing.assert_close(out[1, :, :170], expected[1, :, :170])
    assert torch.isfinite(out).all()


def test_band_attention_memory_is_linear_in_time() -> None:
    """A 20,000-frame input with a 64-frame radius: the dense form would need 400 M scores."""
    t = 20_000
    q = k = v = torch.randn(1, 1, t, 1, D)
    out = band_attention(q, k, v, torch.ones(1, t, dtype=torch.bool), 64, 64)
    assert out.shape == (1, 1, t, 1, D) and torch.isfinite(out).all()
