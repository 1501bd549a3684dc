"""The fuser contract, for every registered fusion, plus concat and single specifics."""
from __future__ import annotations

import inspect

import pytest
import torch

from mmfuse.errors import ConfigError
from mmfuse.fusion.base import FusionOutput, Fuser
from mmfuse.registry import FUSIONS, create_fusion, list_fusions

B, T, D = 2, 7, 16
NAMES = ["rgb", "depth", "imu"]  # arbitrary: fusers must take names from config
PADDING_LEAK = "a padded frame changed a valid output"


def build(name: str, modalities: list[str], dim: int = D) -> Fuser:
    """Build with defaults; a fuser with a ``modality`` option without default gets the first one."""
    parameter = inspect.signature(FUSIONS.get(name)).parameters.get("modality")
    options = {}
    if parameter is not None and parameter.default in (None, inspect.Parameter.empty):
        options["modality"] = modalities[0]
    return create_fusion(name, modalities=modalities, dim=dim, **options)


def supported_counts(name: str) -> list[int]:
    constructor = FUSIONS.get(name)
    low = getattr(constructor, "min_modalities", 1)
    high = getattr(constructor, "max_modalities", None)
    return [n for n in (1, 2, 3) if n >= low and (high is None or n <= high)]


CASES = [pytest.param(name, n, id=f"{name}-{n}mod") for name in list_fusions() for n in supported_counts(name)]


def batch(modalities: list[str]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    feats = {m: torch.randn(B, T, D) for m in modalities}
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[1, 4:] = False
    return feats, mask


def run(fuser: Fuser, feats: dict[str, torch.Tensor], mask: torch.Tensor, seed: int = 0) -> FusionOutput:
    torch.manual_seed(seed)
    return fuser(feats, mask)


@pytest.mark.parametrize(("name", "count"), CASES)
def test_fuser_contract(name: str, count: int) -> None:
    modalities = NAMES[:count]
    torch.manual_seed(0)
    fuser = build(name, modalities)
    torch.manual_seed(0)
    twin = build(name, modalities)
    fuser.train()
    twin.train()
    feats, mask = batch(modalities)

    assert isinstance(fuser.out_dim, int) and fuser.out_dim > 0
    assert set(fuser.modalities) <= set(modalities)
    out = run(fuser, feats, mask)
    assert isinstance(out, FusionOutput) and isinstance(out.aux, dict)
    assert out.tokens.shape == (B, T, fuser.out_dim)
    assert torch.isfinite(out.tokens).all()
    assert set(out.embeddings) == set(fuser.modalities)
    for emb in out.embeddings.values():
        assert emb.shape == (B, T, D)
        assert torch.isfinite(emb).all()

    # Determinism: same seed, same weights, same output.
    torch.testing.assert_close(run(twin, feats, mask).tokens, out.tokens, rtol=0, atol=0)

    # Every trainable parameter gets a finite gradient from a loss on valid tokens.
    weights = torch.randn(B, T, fuser.out_dim)
    loss = (out.tokens * weights)[mask].sum() + sum(e[mask].square().sum() for e in out.embeddings.values())
    loss.backward()
    for pname, p in fuser.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, f"{pname} got no gradient"
            assert torch.isfinite(p.grad).all(), f"{pname} got a non-finite gradient"

    # A padded frame's input never changes a valid output, in training and in evaluation.
    changed = {m: f.clone() for m, f in feats.items()}
    for f in changed.values():
        f[~mask] = 10 * torch.randn(int((~mask).sum()), D)
    for training in (True, False):
        fuser.train(training)
        with torch.no_grad():
            ref, new = run(fuser, feats, mask), run(fuser, changed, mask)
        torch.testing.assert_close(new.tokens[mask], ref.tokens[mask], msg=PADDING_LEAK)
        for m in ref.embeddings:
            torch.testing.assert_close(new.embeddings[m][mask], ref.embeddings[m][mask], msg=PADDING_LEAK)
        assert torch.isfinite(new.tokens).all()


def test_concat_is_linear_over_modalities_in_config_order() -> None:
    fuser = create_fusion("concat", modalities=["b", "a"], dim=D)
    feats, mask = batch(["a", "b"])  # dict order differs from config order
    out = fuser(feats, mask)
    expected = fuser.proj(torch.cat([feats["b"], feats["a"]], dim=-1))
    torch.testing.assert_close(out.tokens, expected)
    assert fuser.proj.in_features == 2 * D and fuser.out_dim == D
    assert list(out.embeddings) == ["b", "a"]
    assert out.embeddings["a"] is feats["a"]


def test_single_uses_only_its_modality() -> None:
    fuser = create_fusion("single", modalities=["rgb", "depth"], dim=D, modality="depth")
    assert fuser.modalities == ["depth"]
    feats, mask = batch(["rgb", "depth"])
    out = fuser(feats, mask)
    torch.testing.assert_close(out.tokens, fuser.proj(feats["depth"]))
    assert list(out.embeddings) == ["depth"]
    # The other modality may be absent altogether.
    torch.testing.assert_close(fuser({"depth": feats["depth"]}, mask).tokens, out.tokens)
    # Same parameter count as concat over that one modality.
    concat = create_fusion("concat", modalities=["depth"], dim=D)
    assert sum(p.numel() for p in fuser.parameters()) == sum(p.numel() for p in concat.parameters())


def test_single_requires_a_known_modality() -> None:
    with pytest.raises(ConfigError, match=r"modality=.*rgb.*depth"):
        create_fusion("single", modalities=["rgb", "depth"], dim=D)
    with pytest.raises(ConfigError, match="'skeleton'.*rgb.*depth"):
        create_fusion("single", modalities=["rgb", "depth"], dim=D, modality="skeleton")
    # None means "plugin default", and single has none.
    with pytest.raises(ConfigError):
        create_fusion("single", modalities=["rgb"], dim=D, modality=None)


def test_fuser_refuses_no_modalities() -> None:
    with pytest.raises(ValueError, match="modalities"):
        create_fusion("concat", modalities=[], dim=D)
