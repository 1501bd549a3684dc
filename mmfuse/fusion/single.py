"""``single``: one modality only, for the uni-modal rows ("R3D (Uni)")."""
from __future__ import annotations

from typing import Mapping, Sequence

from torch import Tensor, nn

from mmfuse.errors import ConfigError
from mmfuse.fusion.base import FusionOutput, Fuser
from mmfuse.registry import register_fusion


@register_fusion("single")
class SingleFusion(Fuser):
    """Use the configured ``modality`` only, through a Linear(D -> D).

    The Linear mirrors ``concat``'s projection so uni-modal and multi-modal rows
    differ only in their inputs. ``modality`` is required and must be one of the
    configured modalities; afterwards ``self.modalities == [modality]``, so the
    backbone builds and runs only that modality's encoder.
    """

    def __init__(self, modalities: Sequence[str], dim: int, modality: str | None = None) -> None:
        super().__init__(modalities, dim)
        if modality is None:
            raise ConfigError(
                f"fusion 'single' needs the option modality=<one of {self.modalities}>,"
                f" e.g. fusion.modality={self.modalities[0]}"
            )
        if modality not in self.modalities:
            raise ConfigError(
                f"fusion 'single': modality {modality!r} is not among the configured modalities {self.modalities}"
            )
        self.modality = modality
        self.modalities = [modality]
        self.proj = nn.Linear(dim, dim)

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> FusionOutput:
        x = feats[self.modality]
        return FusionOutput(tokens=self.proj(x), embeddings={self.modality: x})
