"""The regularizer contract for every registered regularizer, plus ``none``."""
from __future__ import annotations

import math

import pytest
import torch

from mmfuse.regularizers import Regularizer
from mmfuse.registry import create_regularizer, list_regularizers

B, T, D = 3, 9, 16


def inputs(modalities: list[str]) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    embeddings = {m: torch.randn(B, T, D, requires_grad=True) for m in modalities}
    tokens = torch.randn(B, T, D, requires_grad=True)
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[1, 5:] = False
    return embeddings, tokens, mask


def run(reg, embeddings, tokens, mask):
    torch.manual_seed(0)
    return reg(embeddings, tokens, mask)


@pytest.mark.parametrize("count", [1, 2, 3])
@pytest.mark.parametrize("name", list_regularizers())
def test_regularizer_contract(name: str, count: int) -> None:
    reg = create_regularizer(name)
    assert isinstance(reg, torch.nn.Module)
    reg.train()
    embeddings, tokens, mask = inputs(["skeleton", "rgb", "imu"][:count])
    loss, logs = run(reg, embeddings, tokens, mask)
    assert loss.dim() == 0 and loss.dtype == tokens.dtype and loss.device == tokens.device
    assert math.isfinite(loss.item())
    assert isinstance(logs, dict)
    assert all(isinstance(k, str) and isinstance(v, float) and math.isfinite(v) for k, v in logs.items())

    # Deterministic under a seed, and it backpropagates into a task loss.
    torch.testing.assert_close(run(reg, embeddings, tokens, mask)[0], loss, rtol=0, atol=0)
    inputs_ = [tokens, *embeddings.values()]
    grads = torch.autograd.grad(loss, inputs_, allow_unused=True) if loss.requires_grad else [None] * len(inputs_)
    reached = [g for g in grads if g is not None and g.abs().sum() > 0]
    if loss.item() != 0:  # a term that is active must train something (DAGR anchoring is 0 with one modality)
        assert reached, f"{name}: the loss sends no gradient to the embeddings or the fused tokens"
    assert name != "none" or (loss.item() == 0 and not reached)
    for grad in reached:
        assert torch.isfinite(grad).all()
        assert not grad[~mask].any(), f"{name}: a padded frame receives a gradient"

    # ``weight`` scales the returned loss (it is already weighted).
    doubled = create_regularizer(name, weight=2.0)
    with torch.no_grad():
        weighted = run(doubled, embeddings, tokens, mask)[0]
        torch.testing.assert_close(weighted, 2 * run(reg, embeddings, tokens, mask)[0])

    # Padded frames never change the loss.
    changed = {m: e.detach().clone() for m, e in embeddings.items()}
    changed_tokens = tokens.detach().clone()
    for tensor in [*changed.values(), changed_tokens]:
        tensor[~mask] = 10 * torch.randn(int((~mask).sum()), D)
    with torch.no_grad():
        ref = run(reg, embeddings, tokens, mask)[0]
        torch.testing.assert_close(run(reg, changed, changed_tokens, mask)[0], ref, msg="a padded frame changed the loss")


def test_none_is_zero_and_keeps_dtype() -> None:
    reg = create_regularizer("none", weight=3.0)
    assert isinstance(reg, Regularizer)
    embeddings, tokens, mask = inputs(["a", "b"])
    loss, logs = reg(embeddings, tokens.double(), mask)
    assert loss.item() == 0.0 and loss.dtype == torch.float64 and logs == {}
    assert list(reg.parameters()) == []
