"""DAGR's terms against a direct loop implementation of the published formulas."""
from __future__ import annotations

import math

import pytest
import torch

from mmfuse.registry import create_regularizer
from mmfuse.regularizers.dagr import DAGR

B, T, D = 3, 7, 8
NAMES = ["skeleton", "rgb", "imu"]


def make_inputs(count: int = 2, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    embeddings = {m: torch.randn(B, T, D, generator=gen, dtype=torch.float64).float() for m in NAMES[:count]}
    tokens = torch.randn(B, T, D, generator=gen)
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[0, 5:] = False
    mask[2, 2:] = False
    return embeddings, tokens, mask


def valid_unit_vectors(emb: torch.Tensor, mask: torch.Tensor) -> list[list[float]]:
    """Valid tokens in (video, frame) order, each ℓ2-normalised, as plain Python lists."""
    out = []
    for b in range(emb.shape[0]):
        for t in range(emb.shape[1]):
            if mask[b, t]:
                v = [float(x) for x in emb[b, t]]
                norm = math.sqrt(sum(x * x for x in v))
                out.append([x / norm for x in v])
    return out


def sqdist(u: list[float], v: list[float]) -> float:
    return sum((a - b) ** 2 for a, b in zip(u, v))


def loop_dispersion(embeddings, mask, t: float) -> float:
    total = 0.0
    for emb in embeddings.values():
        z = valid_unit_vectors(emb, mask)
        n = len(z)
        if n < 2:
            continue
        acc = 0.0
        for i in range(n):
            for j in range(n):
                if i != j:
                    acc += math.exp(-sqdist(z[i], z[j]) / t)
        total += math.log(acc / (n * (n - 1)))
    return total


def loop_anchoring(embeddings, mask, tau: float) -> float:
    names = list(embeddings)
    total = 0.0
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            zm = valid_unit_vectors(embeddings[names[a]], mask)
            zn = valid_unit_vectors(embeddings[names[b]], mask)
            total += sum(max(0.0, sqdist(u, v) - tau) for u, v in zip(zm, zn)) / len(zm)
    return total


@pytest.mark.parametrize("count", [1, 2, 3])
@pytest.mark.parametrize("temperature,tau", [(0.5, 1.0), (2.0, 0.3)])
def test_terms_match_loop_implementation(count, temperature, tau):
    embeddings, tokens, mask = make_inputs(count)
    lam_d, lam_a, weight = 0.7, 1.3, 1.5
    reg = create_regularizer(
        "dagr", weight=weight, lambda_dispersion=lam_d, lambda_anchoring=lam_a,
        temperature=temperature, tau=tau, max_tokens=None,
    )
    loss, logs = reg(embeddings, tokens, mask)
    disp = loop_dispersion(embeddings, mask, temperature)
    anc = loop_anchoring(embeddings, mask, tau)
    assert logs["dagr_dispersion"] == pytest.approx(disp, rel=1e-5, abs=1e-6)
    assert logs["dagr_anchoring"] == pytest.approx(anc, rel=1e-5, abs=1e-6)
    assert loss.item() == pytest.approx(weight * (lam_d * disp + lam_a * anc), rel=1e-5, abs=1e-6)
    if count == 1:
        assert logs["dagr_anchoring"] == 0.0
    else:
        assert anc > 0  # random embeddings sit outside the band: the hinge is active


def test_anchoring_is_zero_inside_the_band():
    embeddings, tokens, mask = make_inputs(1)
    base = embeddings["skeleton"]
    close = {"a": base, "b": base + 0.01 * torch.randn_like(base)}
    _, logs = create_regularizer("dagr", tau=0.1)(close, tokens, mask)
    assert logs["dagr_anchoring"] == 0.0


def test_subsampling_bound_and_identity():
    embeddings, tokens, mask = make_inputs(3)
    n_valid = int(mask.sum())
    full = create_regularizer("dagr", max_tokens=None)(embeddings, tokens, mask)[0]
    for cap in (n_valid, n_valid + 5):
        torch.testing.assert_close(create_regularizer("dagr", max_tokens=cap)(embeddings, tokens, mask)[0], full)

    # With a cap the terms equal the loop formulas on the drawn subset (same tokens in every modality).
    cap = 5
    torch.manual_seed(3)
    keep = torch.randperm(n_valid)[:cap]
    subset = {m: e[mask][keep].unsqueeze(0) for m, e in embeddings.items()}
    sub_mask = torch.ones(1, cap, dtype=torch.bool)
    reg = create_regularizer("dagr", max_tokens=cap)
    torch.manual_seed(3)
    _, logs = reg(embeddings, tokens, mask)
    assert logs["dagr_dispersion"] == pytest.approx(loop_dispersion(subset, sub_mask, reg.temperature), rel=1e-5)
    assert logs["dagr_anchoring"] == pytest.approx(loop_anchoring(subset, sub_mask, reg.tau), rel=1e-5)

    # Seeded: reproducible; another draw gives another subset.
    torch.manual_seed(3)
    first = reg(embeddings, tokens, mask)[0]
    second = reg(embeddings, tokens, mask)[0]
    torch.manual_seed(3)
    torch.testing.assert_close(reg(embeddings, tokens, mask)[0], first, rtol=0, atol=0)
    assert first.item() != second.item()


def test_subsampling_bounds_the_pairwise_matrix(monkeypatch):
    import mmfuse.regularizers.dagr as dagr

    sizes = []
    original = dagr._squared_distances

    def spy(z):
        sizes.append(z.shape[0])
        return original(z)

    monkeypatch.setattr(dagr, "_squared_distances", spy)
    emb = {"a": torch.randn(4, 100, D), "b": torch.randn(4, 100, D)}
    mask = torch.ones(4, 100, dtype=torch.bool)
    create_regularizer("dagr", max_tokens=32)(emb, torch.zeros(4, 100, D), mask)
    assert sizes == [32, 32]


def test_no_random_numbers_drawn_without_subsampling():
    embeddings, tokens, mask = make_inputs(2)
    torch.manual_seed(0)
    create_regularizer("dagr", max_tokens=1024)(embeddings, tokens, mask)
    after = torch.rand(1)
    torch.manual_seed(0)
    assert torch.equal(after, torch.rand(1))


def test_ablations_zero_the_other_term():
    embeddings, tokens, mask = make_inputs(2)
    full = DAGR(lambda_dispersion=0.4, lambda_anchoring=0.6, max_tokens=None)
    disp_only = create_regularizer("dagr_dispersion", lambda_dispersion=0.4, max_tokens=None)
    anc_only = create_regularizer("dagr_anchoring", lambda_anchoring=0.6, max_tokens=None)
    _, logs = full(embeddings, tokens, mask)
    loss_d, logs_d = disp_only(embeddings, tokens, mask)
    loss_a, logs_a = anc_only(embeddings, tokens, mask)
    assert disp_only.lambda_anchoring == 0.0 and anc_only.lambda_dispersion == 0.0
    assert logs_d["dagr_anchoring"] == 0.0 and logs_a["dagr_dispersion"] == 0.0
    assert loss_d.item() == pytest.approx(0.4 * logs["dagr_dispersion"], rel=1e-6)
    assert loss_a.item() == pytest.approx(0.6 * logs["dagr_anchoring"], rel=1e-6)
    assert loss_d.item() + loss_a.item() == pytest.approx(full(embeddings, tokens, mask)[0].item(), rel=1e-6)


@pytest.mark.parametrize("name", ["dagr", "dagr_dispersion", "dagr_anchoring"])
def test_gradient_reaches_every_embedding_only_through_valid_tokens(name):
    embeddings, tokens, mask = make_inputs(3)
    embeddings = {m: e.requires_grad_() for m, e in embeddings.items()}
    loss, _ = create_regularizer(name)(embeddings, tokens, mask)
    loss.backward()
    for emb in embeddings.values():
        assert torch.isfinite(emb.grad).all()
        assert emb.grad[mask].abs().sum() > 0
        assert emb.grad[~mask].abs().sum() == 0


def test_padded_tokens_do_not_change_the_loss():
    embeddings, tokens, mask = make_inputs(2)
    reg = create_regularizer("dagr", max_tokens=None)
    ref, ref_logs = reg(embeddings, tokens, mask)
    changed = {m: e.clone() for m, e in embeddings.items()}
    for e in changed.values():
        e[~mask] = 100 * torch.randn(int((~mask).sum()), D)
    loss, logs = reg(changed, tokens, mask)
    torch.testing.assert_close(loss, ref)
    assert logs == ref_logs


def test_one_modality_has_no_anchoring():
    embeddings, tokens, mask = make_inputs(1)
    loss, logs = create_regularizer("dagr_anchoring")(embeddings, tokens, mask)
    assert loss.item() == 0.0 and logs["dagr_anchoring"] == 0.0
    _, logs = create_regularizer("dagr")(embeddings, tokens, mask)
    assert logs["dagr_dispersion"] < 0 and logs["dagr_anchoring"] == 0.0


def test_degenerate_batches_are_finite():
    embeddings, tokens, _ = make_inputs(2)
    mask = torch.zeros(B, T, dtype=torch.bool)
    loss, logs = create_regularizer("dagr")(embeddings, tokens, mask)
    assert loss.item() == 0.0 and logs == {"dagr_dispersion": 0.0, "dagr_anchoring": 0.0}
    # One valid token: no distinct pair for dispersion, one pair for anchoring.
    mask[0, 0] = True
    loss, logs = create_regularizer("dagr", tau=0.0)(embeddings, tokens, mask)
    assert logs["dagr_dispersion"] == 0.0
    assert logs["dagr_anchoring"] == pytest.approx(loop_anchoring(embeddings, mask, 0.0), rel=1e-5)
    assert math.isfinite(loss.item())


def test_finite_under_bfloat16_autocast_and_computed_in_float32():
    embeddings, tokens, mask = make_inputs(2)
    reg = create_regularizer("dagr", max_tokens=None)
    ref, ref_logs = reg(embeddings, tokens, mask)
    emb16 = {m: e.bfloat16().requires_grad_() for m, e in embeddings.items()}
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        loss, logs = reg(emb16, tokens.bfloat16(), mask)
    assert loss.dtype == torch.bfloat16 and torch.isfinite(loss)
    loss.backward()
    assert all(torch.isfinite(e.grad.float()).all() for e in emb16.values())
    # Only the bf16 rounding of the inputs (and of the returned scalar) differs from float32.
    assert logs["dagr_dispersion"] == pytest.approx(ref_logs["dagr_dispersion"], rel=2e-2)
    assert logs["dagr_anchoring"] == pytest.approx(ref_logs["dagr_anchoring"], rel=2e-2)


def test_invalid_options_raise():
    with pytest.raises(ValueError):
        DAGR(temperature=0)
    with pytest.raises(ValueError):
        DAGR(tau=5)
    with pytest.raises(ValueError):
        DAGR(lambda_dispersion=-1)


def test_adds_nothing_to_the_model():
    reg = create_regularizer("dagr")
    assert list(reg.parameters()) == [] and list(reg.buffers()) == []
