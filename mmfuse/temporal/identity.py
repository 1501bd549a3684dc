"""``identity``: no temporal model (R3D Table 8's "W/O")."""
from __future__ import annotations

from torch import Tensor, nn

from mmfuse.registry import register_temporal_model


@register_temporal_model("identity")
class NoTemporalModel(nn.Module):
    """No temporal context: each frame goes through a Linear(in_dim -> dim) on its own.

    A Linear rather than a pass-through keeps ``out_dim == dim`` like the other
    temporal models, so heads and the anticipation decoder have the same width
    whichever temporal model a row uses.
    """

    def __init__(self, in_dim: int, dim: int) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.out_dim = dim
        self.proj = nn.Linear(in_dim, dim)

    def forward(self, tokens: Tensor, mask: Tensor) -> Tensor:
        return self.proj(tokens)
