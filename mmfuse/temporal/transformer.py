"""``transformer``: R3D's Temporal Fuser, self-attention over a band of frames."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from mmfuse.errors import ConfigError
from mmfuse.models.attention import band_attention
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
    """Multi-head self-attention over ``[B, T, dim]``: each frame attends to the valid frames
    within ``radius`` steps of it (``None``: every valid frame), computed in blocks."""

    def __init__(self, dim: int, heads: int, attn_dropout: float, radius: int | None) -> None:
        super().__init__()
        self.heads = heads
        self.attn_dropout = attn_dropout
        self.radius = radius
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        b, t, dim = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, 1, dim // self.heads).permute(2, 0, 3, 1, 4, 5)
        dropout = self.attn_dropout if self.training else 0.0
        out = band_attention(q, k, v, valid, self.radius, self.radius, dropout)  # [B, H, T, 1, d]
        return self.proj(out.squeeze(3).transpose(1, 2).reshape(b, t, dim))


NORMS = ("pre", "paper", "post")


class TransformerBlock(nn.Module):
    """``norm="pre"``: ``z = x + MHSA(LN(x))``, then ``z + MLP(LN(z))``. ``"paper"``: R3D's App. C,
    Eq. 53-54, ``z = LN(x) + MHSA(LN(x))``, then ``LN(z + MLP(z))``. ``"post"``: the official R3D
    code's post-norm block, ``z = LN(x + MHSA(x))``, then ``LN(z + MLP(z))``."""

    def __init__(
        self, dim: int, heads: int, mlp_ratio: float, dropout: float, attn_dropout: float, radius: int | None,
        norm: str = "pre",
    ) -> None:
        super().__init__()
        self.norm = norm
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MaskedSelfAttention(dim, heads, attn_dropout, radius)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim), nn.Dropout(dropout))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        if self.norm == "pre":
            x = x + self.drop(self.attn(self.norm1(x), valid))
            return x + self.mlp(self.norm2(x))
        if self.norm == "paper":
            x = self.norm1(x)
            z = x + self.drop(self.attn(x, valid))
        else:
            z = self.norm1(x + self.drop(self.attn(x, valid)))
        return self.norm2(z + self.mlp(z))


@register_temporal_model("transformer")
class TemporalTransformer(nn.Module):
    """R3D's Temporal Fuser: Linear in, sinusoidal positions, pre-norm MHSA + MLP blocks, LayerNorm.

    Each frame attends to the valid frames within ``radius`` steps on either side (default
    512), computed in blocks of 128 frames, so cost and memory are linear in T and a whole
    10,000-frame video fits. An input no longer than ``radius + 1`` steps (R3D's observed
    parts, subsampled to ``model.max_len`` = 512) gets full attention, as in R3D; raise
    ``radius`` past the longest input for full attention everywhere (quadratic cost).
    The band is relative to each frame and positions are absolute from frame 0 and
    computed on the fly, so a frame's output never depends on padding or batching.

    ``dropout`` acts on the input and on both residual branches, but not inside the
    MLP's 4x-wide hidden layer, and ``attn_dropout`` (on the attention weights)
    defaults to 0: on CPU, sampling those two masks cost more than the matrix
    products around them (measured at B 8, T 512, dim 64, 2 threads).

    ``norm`` chooses the block (:class:`TransformerBlock`): ``"pre"`` (default), ``"paper"`` (R3D's
    App. C, Eq. 53-55, as the ``r3d`` experiment runs it) or ``"post"`` (the official R3D code's
    post-norm blocks, without the final LayerNorm). The official code's learned positions are
    ``positions="learned"`` (a learned table of ``max_positions`` rows,
    Xavier-initialised like its ``pos_embedding``; frames past the table share its last row,
    so any length runs and a frame's position never depends on the input's length).
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
        radius: int = 512,
        norm: str = "pre",
        positions: str = "sinusoidal",
        max_positions: int = 2000,
    ) -> None:
        super().__init__()
        if dim % heads:
            raise ConfigError(f"temporal 'transformer': dim={dim} is not divisible by heads={heads}")
        if radius < 1:
            raise ConfigError(f"temporal 'transformer': radius must be a positive number of steps, got {radius}")
        if norm not in NORMS:
            raise ConfigError(f"temporal 'transformer': norm must be one of {', '.join(NORMS)}, got {norm!r}")
        if positions not in ("sinusoidal", "learned"):
            raise ConfigError(f"temporal 'transformer': positions must be sinusoidal or learned, got {positions!r}")
        if max_positions < 1:
            raise ConfigError(f"temporal 'transformer': max_positions must be positive, got {max_positions}")
        self.in_dim = in_dim
        self.out_dim = dim
        self.input = nn.Linear(in_dim, dim)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(dim, heads, mlp_ratio, dropout, attn_dropout, radius, norm) for _ in range(layers)
        )
        self.norm = nn.Identity() if norm == "post" else nn.LayerNorm(dim)
        self.learned_positions = None
        if positions == "learned":
            self.learned_positions = nn.Parameter(torch.empty(1, max_positions, dim))
            nn.init.xavier_uniform_(self.learned_positions)

    def position_table(self, length: int, x: Tensor) -> Tensor:
        if self.learned_positions is None:
            return sinusoidal_encoding(length, x.shape[-1], x.device, x.dtype)
        rows = torch.arange(length, device=x.device).clamp(max=self.learned_positions.shape[1] - 1)
        return self.learned_positions[0, rows].to(x.dtype)

    def forward(self, tokens: Tensor, mask: Tensor) -> Tensor:
        x = self.input(tokens)
        x = self.drop(x + self.position_table(tokens.shape[1], x))
        for block in self.blocks:
            x = block(x, mask)
        return self.norm(x)
