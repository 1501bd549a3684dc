"""``tcn`` and ``mstcn``: single- and multi-stage MS-TCN (Farha & Gall, CVPR 2019)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmfuse.errors import ConfigError
from mmfuse.registry import register_temporal_model


class MaskDropout(nn.Dropout):
    """``nn.Dropout`` with its mask drawn as ``rand >= p``: the same distribution, but on CPU
    PyTorch's Bernoulli sampling costs over 3x as much, more than the dilated convolution it
    follows; a ``tcn`` training step is 1.2x and an ``mstcn`` step 1.3x faster with this one
    (``bench/results/dropout_cost.md``)."""

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        scale = 0.0 if self.p >= 1 else 1.0 / (1.0 - self.p)
        return x * ((torch.rand_like(x) >= self.p).to(x.dtype) * scale)


class DilatedResidualLayer(nn.Module):
    """MS-TCN's layer: ``(x + Dropout(Conv1x1(ReLU(DilatedConv(x))))) * mask``."""

    def __init__(self, dim: int, dilation: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.conv_dilated = nn.Conv1d(
            dim, dim, kernel_size, padding=dilation * (kernel_size - 1) // 2, dilation=dilation
        )
        self.conv_1x1 = nn.Conv1d(dim, dim, 1)
        self.dropout = MaskDropout(dropout)

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


@register_temporal_model("mstcn")
class MultiStageTCN(nn.Module):
    """MS-TCN's multi-stage refinement (Farha & Gall, CVPR 2019): ``stages`` single-stage TCNs.

    Stage 1 reads the fused tokens; every later stage reads the softmax of the previous
    stage's class logits (masked, as MS-TCN). Each stage but the last ends in its own
    classifier; the last stage's features are this module's output, which the task's head
    classifies, so the head is the last stage's classifier. ``forward_stages`` also returns
    the earlier stages' logits ``[stages - 1, B, T, num_classes]``, so the task puts a loss
    on every stage, as MS-TCN does. Defaults follow MS-TCN: 4 stages of 10 layers, kernel 3,
    dropout 0.5; the width is ``model.hidden`` (64 by default, as MS-TCN's).
    """

    def __init__(
        self,
        in_dim: int,
        dim: int,
        num_classes: int,
        stages: int = 4,
        layers: int = 10,
        kernel_size: int = 3,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if stages < 1:
            raise ConfigError(f"temporal 'mstcn': stages must be >= 1, got {stages}")
        self.in_dim = in_dim
        self.out_dim = dim
        self.stages = nn.ModuleList(
            TemporalConvNet(in_dim if s == 0 else num_classes, dim, layers, kernel_size, dropout) for s in range(stages)
        )
        self.classifiers = nn.ModuleList(nn.Linear(dim, num_classes) for _ in range(stages - 1))

    def forward_stages(self, tokens: Tensor, mask: Tensor) -> tuple[Tensor, Tensor | None]:
        """The last stage's features ``[B, T, dim]`` and the earlier stages' stacked logits."""
        m = mask[..., None].to(tokens.dtype)
        x, logits = tokens, []
        for stage, classifier in zip(self.stages, self.classifiers):
            out = classifier(stage(x, mask)) * m
            logits.append(out)
            x = F.softmax(out.float(), dim=-1).to(out.dtype) * m
        hidden = self.stages[-1](x, mask)
        return hidden, torch.stack(logits) if logits else None

    def forward(self, tokens: Tensor, mask: Tensor) -> Tensor:
        return self.forward_stages(tokens, mask)[0]
