"""``concat``: per-timestep concatenation of modality tokens + Linear (R3D's "W/O RTF")."""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import Tensor, nn

from mmfuse.fusion.base import FusionOutput, Fuser
from mmfuse.registry import register_fusion


@register_fusion("concat")
class ConcatFusion(Fuser):
    """Concatenate the M modality tokens of each frame, then Linear(M·D -> D).

    Modalities are concatenated in ``self.modalities`` order (the config's order).
    Works for any M >= 1; with M = 1 it is a Linear(D -> D), the same as ``single``.
    """

    def __init__(self, modalities: Sequence[str], dim: int) -> None:
        super().__init__(modalities, dim)
        self.proj = nn.Linear(len(self.modalities) * dim, dim)

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> FusionOutput:
        embeddings = {m: feats[m] for m in self.modalities}
        tokens = self.proj(torch.cat([embeddings[m] for m in self.modalities], dim=-1))
        return FusionOutput(tokens=tokens, embeddings=embeddings)

    def streams(self, feats: Mapping[str, Tensor], mask: Tensor) -> dict[str, Tensor]:
        """The per-modality streams that are stacked before the projection: the inputs, unchanged."""
        return {m: feats[m] for m in self.modalities}
