"""The encoder contract for every registered encoder, plus projection specifics."""
from __future__ import annotations

import pytest
import torch

from mmfuse.registry import create_encoder, list_encoders


@pytest.mark.parametrize("name", list_encoders())
def test_encoder_contract(name: str) -> None:
    torch.manual_seed(0)
    encoder = create_encoder(name, in_dim=10, dim=16)
    torch.manual_seed(0)
    twin = create_encoder(name, in_dim=10, dim=16)
    x = torch.randn(2, 7, 10)
    torch.manual_seed(1)
    y = encoder(x)
    torch.manual_seed(1)
    torch.testing.assert_close(twin(x), y, rtol=0, atol=0)
    assert y.shape == (2, 7, 16)
    assert torch.isfinite(y).all()
    (y * torch.randn_like(y)).sum().backward()
    for pname, p in encoder.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all(), pname


def test_projection_is_linear_relu() -> None:
    encoder = create_encoder("projection", in_dim=10, dim=16)
    x = torch.randn(3, 5, 10)
    torch.testing.assert_close(encoder(x), torch.relu(encoder.linear(x)))
    assert encoder.out_dim == 16


def test_projection_layer_norm_and_dropout() -> None:
    encoder = create_encoder("projection", in_dim=10, dim=16, layer_norm=True, dropout=0.5)
    x = torch.randn(3, 5, 10)
    encoder.eval()
    torch.testing.assert_close(encoder(x), torch.relu(torch.nn.functional.layer_norm(encoder.linear(x), (16,))))
    encoder.train()
    torch.manual_seed(0)
    assert (encoder(x) == 0).float().mean() > (encoder.eval()(x) == 0).float().mean()
