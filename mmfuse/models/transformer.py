"""``transformer``: R3D's Temporal Fuser, pre-norm self-attention over time, optionally windowed."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmfuse.errors import ConfigError
from mmfuse.registry import register_temporal_model


def sinusoidal_encoding(length: int, dim: int, device: torch.device | None = None,
                        dtype: torch.dtype = torch.float32) -> Tensor:
    """The fixed ``[length, dim]`` sine/cosine position table of Vaswani et al.; any length, any dim."""
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, device=device, dtype=torch.float32)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return table.to(dtype)


class MaskedSelfAttention(nn.Module):
    """Multi-head self-attention over ``[N, L, dim]`` where only valid keys are attended.

    A row whose keys are all padded (a fully padded window or sample) attends to
    every key instead, so it stays finite; no valid query is ever in such a row.
    """

    def __init__(self, dim: int, heads: int, attn_dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.attn_dropout = attn_dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        n, length, dim = x.shape
        q, k, v = self.qkv(x).view(n, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        allowed = (valid | ~valid.any(dim=-1, keepdim=True))[:, None, None, :]
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=allowed, dropout_p=self.attn_dropout if self.training else 0.0
        )
        return self.proj(out.transpose(1, 2).reshape(n, length, dim))


class TransformerBlock(nn.Module):
    """Pre-norm block: ``x + MHSA(LN(x))``, then ``x + MLP(LN(x))``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float, attn_dropout: float) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MaskedSelfAttention(dim, heads, attn_dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim), nn.Dropout(dropout))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        x = x + self.drop(self.attn(self.norm1(x), valid))
        return x + self.mlp(self.norm2(x))


def _to_windows(x: Tensor, valid: Tensor, window: int, shift: int) -> tuple[Tensor, Tensor]:
    """``[B, T, D]`` -> ``[B * n, window, D]``: ``shift`` masked frames in front, masked frames at the end."""
    b, t, d = x.shape
    right = (-(shift + t)) % window
    x = F.pad(x, (0, 0, shift, right))
    valid = F.pad(valid, (shift, right), value=False)
    return x.reshape(-1, window, d), valid.reshape(-1, window)


@register_temporal_model("transformer")
class TemporalTransformer(nn.Module):
    """R3D's Temporal Fuser: Linear in, sinusoidal positions, pre-norm MHSA + MLP blocks, LayerNorm.

    ``window=None`` (the default, as in R3D) is full attention over the input, which
    the engine already cuts into windows of at most ``max_len`` frames; at T = 512 on CPU
    it costs about 1.2x as much as 128-frame chunks. ``window=w`` splits time into
    non-overlapping chunks of ``w`` frames, each attending within itself (cost linear
    in T); with ``shifted=True`` every second layer offsets its chunks by ``w // 2``
    (Swin-style) so information crosses chunk borders. Chunks always start at frame 0
    (or at ``-w // 2``), so a frame's output never depends on how much padding follows.
    Positions are absolute and computed on the fly, so any T works.

    ``dropout`` acts on the input and on both residual branches, but not inside the
    MLP's 4x-wide hidden layer, and ``attn_dropout`` (on the attention weights)
    defaults to 0: on CPU, sampling those two masks cost more than the matrix
    products around them (measured at B 8, T 512, dim 64, 2 threads).
    """

    def __init__(
        self,
        in_dim: int,
        dim: int,
        layers: int = 2,
        heads: int = 4,
        mlp_ratio: float = 4.0,
        dropout: float = 0.1,
        attn_dropout: float = 0.0,
        window: int | None = None,
        shifted: bool = True,
    ) -> None:
        super().__init__()
        if dim % heads:
            raise ConfigError(f"temporal 'transformer': dim={dim} is not divisible by heads={heads}")
        if window is not None and window < 1:
            raise ConfigError(
                f"temporal 'transformer': window must be a positive number of frames or null, got {window}"
            )
        self.in_dim = in_dim
        self.out_dim = dim
        self.window = window
        self.shifted = shifted
        self.input = nn.Linear(in_dim, dim)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(dim, heads, mlp_ratio, dropout, attn_dropout) for _ in range(layers)
        )
        self.norm = nn.LayerNorm(dim)

    def forward(self, tokens: Tensor, mask: Tensor) -> Tensor:
        b, t, _ = tokens.shape
        x = self.input(tokens)
        x = self.drop(x + sinusoidal_encoding(t, x.shape[-1], x.device, x.dtype))
        for i, block in enumerate(self.blocks):
            if self.window is None:
                x = block(x, mask)
                continue
            shift = self.window // 2 if self.shifted and i % 2 else 0
            xw, valid = _to_windows(x, mask, self.window, shift)
            x = block(xw, valid).reshape(b, -1, x.shape[-1])[:, shift : shift + t]
        return self.norm(x)
