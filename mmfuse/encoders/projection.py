"""``projection``: per-modality Linear + ReLU (R3D Eq. 2) for pre-extracted features."""
from __future__ import annotations

from torch import Tensor, nn

from mmfuse.registry import register_encoder


@register_encoder("projection")
class ProjectionEncoder(nn.Module):
    """Linear + ReLU projection ``[B, T, D_m] -> [B, T, D]`` (R3D Eq. 2).

    Order: Linear, optional LayerNorm, ReLU, dropout. The LayerNorm sits before the
    ReLU so it normalises the pre-activation (after the ReLU it would re-centre
    non-negative features and undo the rectification). Every frame is projected on
    its own, so padded frames never touch valid ones.
    """

    def __init__(self, in_dim: int, dim: int, layer_norm: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.out_dim = dim
        self.linear = nn.Linear(in_dim, dim)
        self.norm = nn.LayerNorm(dim) if layer_norm else nn.Identity()
        self.act = nn.ReLU()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.act(self.norm(self.linear(x))))
