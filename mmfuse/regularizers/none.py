"""``none``: no regularization."""
from __future__ import annotations

from torch import Tensor

from mmfuse.registry import register_regularizer
from mmfuse.regularizers.base import Regularizer


@register_regularizer("none")
class NoRegularizer(Regularizer):
    """No regularizer: a zero loss and no logs.

    ``weight`` is accepted (and ignored) so ``regularizer.weight=...`` overrides
    apply to every regularizer alike.
    """

    def forward(
        self, embeddings: dict[str, Tensor], tokens: Tensor, mask: Tensor
    ) -> tuple[Tensor, dict[str, float]]:
        return tokens.new_zeros(()), {}
