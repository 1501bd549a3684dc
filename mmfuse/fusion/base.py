"""The contract every fusion plugin implements."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from torch import Tensor, nn


@dataclass
class FusionOutput:
    """Fused tokens ``[B, T, D_f]``, per-modality embeddings ``{m: [B, T, D]}`` and extras."""

    tokens: Tensor
    embeddings: dict[str, Tensor]
    aux: dict[str, Tensor] = field(default_factory=dict)


class Fuser(nn.Module):
    """Base class: ``forward(feats, mask) -> FusionOutput``.

    Subclasses set ``out_dim`` and may narrow ``min_modalities`` / ``max_modalities``.
    ``mask`` is ``bool[B, T]``, True on valid (not padded) frames.
    """

    min_modalities: int = 1
    max_modalities: int | None = None

    def __init__(self, modalities: Sequence[str], dim: int) -> None:
        super().__init__()
        modalities = list(modalities)
        if len(modalities) < self.min_modalities or (
            self.max_modalities is not None and len(modalities) > self.max_modalities
        ):
            upper = self.max_modalities if self.max_modalities is not None else "any number of"
            raise ValueError(
                f"{type(self).__name__} takes {self.min_modalities} to {upper} modalities, got {modalities}"
            )
        self.modalities = modalities
        self.dim = dim
        self.out_dim = dim

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> FusionOutput:  # pragma: no cover
        raise NotImplementedError
