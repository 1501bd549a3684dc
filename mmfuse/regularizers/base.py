"""The contract every regularizer implements."""
from __future__ import annotations

from torch import Tensor, nn


class Regularizer(nn.Module):
    """Base class: ``regularizer(embeddings, tokens, mask) -> (loss, logs)``.

    - ``embeddings``: ``{modality: Tensor[B, T, D]}``, the fuser's per-modality embeddings.
    - ``tokens``: ``Tensor[B, T, D_f]``, the fused tokens.
    - ``mask``: ``bool[B, T]``, True on valid frames; padded frames must not change the loss.
    - ``loss``: a scalar on ``tokens``' device and dtype, **already multiplied by**
      ``weight``: the engine adds it to the task loss unchanged.
    - ``logs``: ``{name: float}`` of detached values for the run record (may be empty).

    Regularizers run during training only (zero inference cost) and compose with
    every fuser, so they must not assume a modality count or names.
    """

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        self.weight = weight

    def forward(
        self, embeddings: dict[str, Tensor], tokens: Tensor, mask: Tensor
    ) -> tuple[Tensor, dict[str, float]]:  # pragma: no cover
        raise NotImplementedError
