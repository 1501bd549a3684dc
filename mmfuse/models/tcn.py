"""``tcn``: a single-stage MS-TCN (Farha & Gall, CVPR 2019), dilated residual 1-D convolutions."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from mmfuse.errors import ConfigError
from mmfuse.registry import register_temporal_model


class DilatedResidualLayer(nn.Module):
    """MS-TCN's layer: ``(x + Dropout(Conv1x1(ReLU(DilatedConv(x))))) * mask``."""

    def __init__(self, dim: int, dilation: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.conv_dilated = nn.Conv1d(
            dim, dim, kernel_size, padding=dilation * (kernel_size - 1) // 2, dilation=dilation
        )
        self.conv_1x1 = nn.Conv1d(dim, dim, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        out = self.dropout(self.conv_1x1(F.relu(self.conv_dilated(x))))
        return (x + out) * mask


@register_temporal_model("tcn")
class TemporalConvNet(nn.Module):
    """Single-stage MS-TCN: 1x1 conv in, ``layers`` dilated residual layers (dilation 2**i).

    Cost is linear in T. Defaults follow MS-TCN (10 layers, kernel 3, dropout 0.5).
    Unlike MS-TCN, the input projection is masked too, so padded frames read as the
    zeros that the convolutions' own padding uses and never reach a valid frame. The
    classifier is the task's head, not part of this module.
    """

    def __init__(self, in_dim: int, dim: int, layers: int = 10, kernel_size: int = 3, dropout: float = 0.5) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ConfigError(f"temporal 'tcn': kernel_size must be odd to keep T unchanged, got {kernel_size}")
        self.in_dim = in_dim
        self.out_dim = dim
        self.conv_in = nn.Conv1d(in_dim, dim, 1)
        self.layers = nn.ModuleList(
            DilatedResidualLayer(dim, 2**i, kernel_size, dropout) for i in range(layers)
        )

    def forward(self, tokens: Tensor, mask: Tensor) -> Tensor:
        m = mask[:, None, :].to(tokens.dtype)
        x = self.conv_in(tokens.transpose(1, 2)) * m
        for layer in self.layers:
            x = layer(x, m)
        return x.transpose(1, 2)
