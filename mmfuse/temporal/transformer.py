"""``transformer``: R3D's Temporal Fuser, self-attention blocks over a band of frames."""
from __future__ import annotations

from torch import Tensor, nn

from mmfuse.errors import ConfigError
from mmfuse.models.attention import NORMS, Block, banded
from mmfuse.models.positions import KINDS, Positions
from mmfuse.registry import register_temporal_model


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

    ``norm`` places the LayerNorms of the blocks (:class:`~mmfuse.models.attention.Block`, q/k/v
    with bias): ``"pre"`` (default), ``"paper"`` (R3D's App. C, Eq. 53-55, as the ``r3d``
    experiment runs it) or ``"post"`` (the official R3D code's post-norm blocks, without the final
    LayerNorm). The official code's learned positions are ``positions="learned"``
    (:class:`~mmfuse.models.positions.Positions`: a learned table of ``max_positions`` rows,
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
        if positions not in KINDS:
            raise ConfigError(f"temporal 'transformer': positions must be sinusoidal or learned, got {positions!r}")
        if max_positions < 1:
            raise ConfigError(f"temporal 'transformer': max_positions must be positive, got {max_positions}")
        self.in_dim = in_dim
        self.out_dim = dim
        self.input = nn.Linear(in_dim, dim)
        self.drop = nn.Dropout(dropout)
        self.radius = radius
        self.blocks = nn.ModuleList(
            Block(dim, heads, mlp_ratio, qkv_bias=True, dropout=dropout, attn_dropout=attn_dropout, norm=norm)
            for _ in range(layers)
        )
        self.norm = nn.Identity() if norm == "post" else nn.LayerNorm(dim)
        self.positions = Positions(dim, positions, max_positions)

    def forward(self, tokens: Tensor, mask: Tensor) -> Tensor:
        x = self.input(tokens)
        x = self.drop(x + self.positions(tokens.shape[1], x))[:, :, None]  # [B, T, 1, dim]: one token per frame
        attend = banded(mask, self.radius, self.radius)
        for block in self.blocks:
            x = block(x, attend)
        return self.norm(x[:, :, 0])
