"""``rtf`` (R3D's Rank-enhancing Token Fuser): scorers, blend, folding, presets, running statistics."""
from __future__ import annotations

import pytest
import torch

from mmfuse.analysis.effective_rank import effective_rank
from mmfuse.errors import ConfigError
from mmfuse.fusion.rtf import (
    RankEnhancingTokenFuser,
    activation_magnitude,
    svd_informativeness,
    topk_svd_informativeness,
)
from mmfuse.registry import create_fusion

B, T, D = 3, 6, 16
NAMES = ["rgb", "depth"]


def batch(modalities=NAMES, b=B, t=T, d=D, seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = {m: torch.randn(b, t, d, generator=g) for m in modalities}
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[-1, t // 2 :] = False
    return feats, mask


def build(modalities=NAMES, seed=0, **options) -> RankEnhancingTokenFuser:
    torch.manual_seed(seed)
    return create_fusion("rtf", modalities=modalities, dim=D, **options)


def explicit_informativeness(x, mask, top=None):
    """R3D Def. 1 computed literally: an SVD of the valid (N, D) token matrix."""
    tokens = x[mask].double()
    _, sigma, vh = torch.linalg.svd(tokens, full_matrices=False)  # descending σ
    if top is not None:
        sigma, vh = sigma[:top], vh[:top]
    return (sigma[:, None].square() * vh.square()).sum(0)


def test_svd_scorer_equals_an_explicit_svd_without_padded_tokens():
    feats, mask = batch()
    x = feats["rgb"].clone()
    x[~mask] = 1e3  # padded tokens must not count
    torch.testing.assert_close(svd_informativeness(x, mask).double(), explicit_informativeness(x, mask), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("top", [1, 4, 15])
def test_topk_svd_scorer_equals_an_explicit_truncated_svd(top):
    feats, mask = batch()
    x = feats["rgb"].clone()
    x[~mask] = 1e3
    torch.testing.assert_close(
        topk_svd_informativeness(x, mask, top).double(), explicit_informativeness(x, mask, top), rtol=1e-4, atol=1e-4
    )


def test_activation_score_is_the_masked_mean_magnitude():
    feats, mask = batch()
    x = feats["rgb"]
    torch.testing.assert_close(activation_magnitude(x, mask), x[mask].abs().mean(0))


@pytest.mark.parametrize("scorer", ["svd", "topk_svd", "activation"])
def test_fuser_blends_the_lowest_scoring_channels_of_the_batch(scorer):
    fuser = build(scorer=scorer, ratio=0.25)
    feats, mask = batch()
    out = fuser(feats, mask)
    assert fuser.num_blended == 4 and out.aux["rtf_selected"].shape == (2, 4)
    for i, m in enumerate(NAMES):
        x = feats[m]
        score = {
            "svd": lambda: explicit_informativeness(x, mask),
            "topk_svd": lambda: explicit_informativeness(x, mask, fuser.top_k),
            "activation": lambda: activation_magnitude(x, mask).double(),
        }[scorer]()
        assert set(out.aux["rtf_selected"][i].tolist()) == set(score.argsort()[:4].tolist())


def test_adaptive_blend_formula_on_selected_channels_only():
    fuser = build(ratio=0.25)
    fuser.train()
    feats, mask = batch()
    out = fuser(feats, mask)
    streams = fuser.streams(feats, mask)
    for i, (m, other) in enumerate([("rgb", "depth"), ("depth", "rgb")]):
        chosen = out.aux["rtf_selected"][i]
        rest = torch.ones(D, dtype=torch.bool)
        rest[chosen] = False
        alpha = fuser.alpha[i, chosen]
        expected = alpha * feats[m][..., chosen] + (1 - alpha) * feats[other][..., chosen]
        torch.testing.assert_close(streams[m][..., chosen], expected)
        torch.testing.assert_close(streams[m][..., rest], feats[m][..., rest], rtol=0, atol=0)
    assert fuser.alpha.shape == (2, D) and ((fuser.alpha >= 0) & (fuser.alpha <= 1)).all()


def test_alpha_is_clamped_with_a_straight_through_gradient():
    fuser = build(ratio=0.25)
    with torch.no_grad():
        fuser.alpha.fill_(1.5)  # clamps to 1: no blending at all
    feats, mask = batch()
    streams = fuser.streams(feats, mask)
    torch.testing.assert_close(streams["rgb"], feats["rgb"])
    fuser(feats, mask).tokens.sum().backward()
    assert fuser.alpha.grad.abs().sum() > 0
    unclamped = build(ratio=0.25, clamp_alpha=False)
    with torch.no_grad():
        unclamped.alpha.fill_(1.5)
    chosen = unclamped(feats, mask).aux["rtf_selected"][0]
    got = unclamped.streams(feats, mask)["rgb"][..., chosen]
    torch.testing.assert_close(got, 1.5 * feats["rgb"][..., chosen] - 0.5 * feats["depth"][..., chosen])


@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("mode", ["adaptive", "static"])
@pytest.mark.parametrize("training", [True, False])
def test_folded_projection_equals_the_plain_masked_blend(count, mode, training):
    names = ["a", "b", "c"][:count]
    fuser = build(names, mode=mode, ratio=0.25)
    feats, mask = batch(names)
    fuser.train()
    fuser(feats, mask)  # gather running statistics
    fuser.train(training)
    with torch.no_grad():
        streams = fuser.streams(feats, mask)
        plain = fuser.proj(torch.cat([streams[m] for m in names], dim=-1))
        folded = fuser(feats, mask).tokens
    torch.testing.assert_close(folded, plain, rtol=1e-5, atol=1e-5)


def test_static_mode_swaps_the_selected_channels():
    fuser = build(mode="static", ratio=0.25)
    assert fuser.alpha is None and not any(n == "alpha" for n, _ in fuser.named_parameters())
    feats, mask = batch()
    out = fuser(feats, mask)
    streams = fuser.streams(feats, mask)
    for i, (m, other) in enumerate([("rgb", "depth"), ("depth", "rgb")]):
        chosen = out.aux["rtf_selected"][i]
        torch.testing.assert_close(streams[m][..., chosen], feats[other][..., chosen], rtol=0, atol=0)


def test_more_than_two_modalities_blend_with_the_mean_of_the_others():
    names = ["a", "b", "c"]
    fuser = build(names, ratio=0.25)
    feats, mask = batch(names)
    out = fuser(feats, mask)
    streams = fuser.streams(feats, mask)
    for i, m in enumerate(names):
        chosen = out.aux["rtf_selected"][i]
        others = torch.stack([feats[n] for n in names if n != m]).mean(0)
        alpha = fuser.alpha[i, chosen]
        expected = alpha * feats[m][..., chosen] + (1 - alpha) * others[..., chosen]
        torch.testing.assert_close(streams[m][..., chosen], expected)


CONFIGS = [
    dict(scorer="topk_svd", top_k=3),
    dict(scorer="activation"),
    dict(scorer="bn_gamma"),
    dict(scorer="grad"),
    dict(combine="attention"),
    dict(combine="attention", scorer="grad"),
    dict(mode="static", scorer="bn_gamma", combine="attention"),
    dict(shared_alpha=True),
    dict(running_stats=False, scorer="bn_gamma"),
    dict(preset="official"),
]


@pytest.mark.parametrize("options", CONFIGS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("count", [2, 3])
def test_batch_statistics_of_every_configuration_ignore_padded_frames(options, count):
    """Scores, BatchNorm and gradient statistics count valid tokens only, in every configuration
    (the defaults are in the fuser contract, tests/test_fusion.py): a padded frame's input never
    changes a valid output, after a step that gathered running statistics and a gradient score."""
    names = ["a", "b", "c"][:count]
    fuser = build(names, **options)
    feats, mask = batch(names)
    feats = {m: f.requires_grad_() for m, f in feats.items()}
    fuser.train()
    (fuser(feats, mask).tokens * torch.randn(B, T, D))[mask].sum().backward()
    changed = {m: f.detach().clone() for m, f in feats.items()}
    for f in changed.values():
        f[~mask] = 10 * torch.randn(int((~mask).sum()), D)
    for training in (True, False):
        fuser.train(training)
        with torch.no_grad():
            torch.manual_seed(0)
            ref = fuser(feats, mask).tokens
            torch.manual_seed(0)
            new = fuser(changed, mask).tokens
        torch.testing.assert_close(new[mask], ref[mask])
        assert torch.isfinite(new).all()


def test_official_attention_block():
    """The official fusion block: a pre-norm block (LayerNorm eps 1e-5, q/k/v without bias, MLP
    ratio 4, no dropout) over the M tokens of a frame, each attending only to the others, a
    LayerNorm and the mean over modalities."""
    fuser = build(preset="official", ratio=0.0).eval()
    block = fuser.block
    assert block.placement == "pre" and block.norm1.eps == 1e-5 and block.attn.qkv.bias is None
    assert block.mlp.fc1.out_features == 4 * D and isinstance(block.drop_path, torch.nn.Identity)
    feats, mask = batch()
    heads = fuser.heads
    with torch.no_grad():
        z = torch.stack(fuser.bn([feats[m] for m in NAMES], mask), dim=2).flatten(0, 1)  # [B*T, M, D]: no blend
        q, k, v = (t.unflatten(-1, (heads, -1)).transpose(1, 2) for t in block.attn.qkv(block.norm1(z)).chunk(3, -1))
        scores = (q @ k.transpose(-1, -2) / (D // heads) ** 0.5).masked_fill(torch.eye(2, dtype=torch.bool), -torch.inf)
        z = z + block.attn.proj((scores.softmax(-1) @ v).transpose(1, 2).flatten(-2))
        z = z + block.mlp.fc2(torch.nn.functional.gelu(block.mlp.fc1(block.norm2(z))))
        expected = fuser.norm(z).mean(1).view(B, T, D)
        torch.testing.assert_close(fuser(feats, mask).tokens, expected)


def test_official_preset():
    fuser = build(preset="official")
    assert (fuser.scorer, fuser.ratio, fuser.combine, fuser.mode) == ("bn_gamma", 0.1, "attention", "adaptive")
    assert fuser.shared_alpha and not fuser.clamp_alpha and fuser.dropout == 0.1
    assert fuser.alpha.shape == (1, D) and fuser.proj is None and fuser.bn is not None
    # The preset fills only unset options: the official DARai configuration.
    assert build(preset="official", ratio=0.2).ratio == 0.2
    # bn_gamma scores are |γ|; at initialisation every γ is 1 and the stable sort picks the first channels.
    out = fuser(*batch())
    assert out.aux["rtf_selected"].tolist() == [[0], [0]]
    with torch.no_grad():
        fuser.bn.weight[0, 5] = -0.01
    assert fuser(*batch()).aux["rtf_selected"][0].tolist() == [5]


def test_paper_defaults():
    fuser = build()
    assert (fuser.scorer, fuser.ratio, fuser.mode, fuser.combine) == ("svd", 0.1, "adaptive", "stack")
    assert fuser.running_stats and not fuser.shared_alpha and fuser.clamp_alpha
    assert fuser.num_blended == 1 and fuser.out_dim == D and fuser.proj.in_features == 2 * D


def test_bad_options_fail_clearly():
    for options, match in [
        (dict(scorer="svdd"), "scorer"),
        (dict(mode="swap"), "mode"),
        (dict(combine="sum"), "combine"),
        (dict(preset="paper"), "preset"),
        (dict(ratio=-0.1), "ratio"),
        (dict(scorer="topk_svd", top_k=D + 1), "top_k"),
        (dict(combine="attention", heads=5), "heads"),
    ]:
        with pytest.raises(ConfigError, match=match):
            build(**options)
    with pytest.raises(ValueError, match="modalities"):
        build(["rgb"])


def test_evaluation_output_of_a_video_does_not_depend_on_its_batch():
    feats, mask = batch(b=4, seed=1)
    for options in (dict(), dict(scorer="activation"), dict(scorer="bn_gamma"), dict(scorer="grad")):
        fuser = build(ratio=0.25, **options)
        fuser.train()
        for seed in range(3):
            fuser(*batch(b=4, seed=10 + seed))
        fuser.eval()
        with torch.no_grad():
            together = fuser(feats, mask).tokens[0]
            alone = fuser({m: f[:1] for m, f in feats.items()}, mask[:1]).tokens[0]
        torch.testing.assert_close(alone, together)


def test_batch_scores_in_evaluation_make_a_video_depend_on_its_batch():
    """``running_stats=False`` (the paper): the batch decides which channels are blended."""
    fuser = build(ratio=0.25, running_stats=False)
    fuser.train()
    fuser(*batch())
    fuser.eval()
    a = {m: torch.randn(1, T, D) for m in NAMES}
    b = {m: torch.randn(1, T, D) for m in NAMES}
    for m in NAMES:
        a[m][..., :4] *= 1e-3  # a's weakest channels: 0..3
        b[m][..., :4] *= 1e3  # b's strongest; with b in the batch, other channels are the weakest
    mask = torch.ones(2, T, dtype=torch.bool)
    with torch.no_grad():
        alone = fuser(a, mask[:1])
        together = fuser({m: torch.cat([a[m], b[m]]) for m in NAMES}, mask)
    assert alone.aux["rtf_selected"][0].sort().values.tolist() == [0, 1, 2, 3]
    assert not torch.allclose(alone.tokens[0], together.tokens[0])


def test_running_scores_are_an_exponential_moving_average_of_batch_scores():
    fuser = build(ratio=0.25, momentum=0.25)
    fuser.train()
    first, second = batch(seed=1), batch(seed=2)
    s1 = torch.stack([svd_informativeness(first[0][m], first[1]) for m in NAMES]) / first[1].sum()
    s2 = torch.stack([svd_informativeness(second[0][m], second[1]) for m in NAMES]) / second[1].sum()
    fuser(*first)
    fuser(*second)
    torch.testing.assert_close(fuser.score_ema, 0.75 * s1 + 0.25 * s2)
    fuser.eval()
    torch.testing.assert_close(fuser(*batch(seed=3)).aux["rtf_scores"], fuser.score_ema)


@pytest.mark.parametrize("combine", ["stack", "attention"])
def test_grad_scorer_records_the_loss_gradient_after_backward(combine):
    fuser = build(scorer="grad", ratio=0.25, combine=combine, momentum=0.5)
    fuser.train()
    feats, mask = batch()
    feats = {m: f.requires_grad_() for m, f in feats.items()}
    assert int(fuser.grad_steps) == 0
    out = fuser(feats, mask)  # before any backward: activation magnitude
    torch.testing.assert_close(
        out.aux["rtf_scores"], torch.stack([activation_magnitude(feats[m].detach(), mask) for m in NAMES])
    )
    weights = torch.randn(B, T, D)
    (out.tokens * weights)[mask].sum().backward()
    assert int(fuser.grad_steps) == 1
    expected = torch.stack([feats[m].grad[mask].abs().mean(0) for m in NAMES])
    torch.testing.assert_close(fuser.grad_ema, expected)
    # The next forward uses it, in training and in evaluation.
    assert torch.equal(fuser(feats, mask).aux["rtf_scores"], fuser.grad_ema)
    fuser.eval()
    assert torch.equal(fuser(feats, mask).aux["rtf_scores"], fuser.grad_ema)
    # Without running statistics, evaluation falls back to the batch's activation magnitude (official code).
    fuser.running_stats = False
    torch.testing.assert_close(
        fuser(feats, mask).aux["rtf_scores"], torch.stack([activation_magnitude(feats[m].detach(), mask) for m in NAMES])
    )


def test_blending_raises_the_effective_rank_of_a_rank_deficient_modality():
    """R3D Thm. 3.1's setting: X's least informative channels carry (almost) nothing,
    Y is full rank in those channels; blending them into X raises X's effective rank."""
    n, k = 64, 4
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, n, D, generator=g)
    x[..., :k] *= 1e-7  # low-informativeness channels, near zero: X is (numerically) rank D - k
    y = torch.randn(1, n, D, generator=g)
    y[..., -k:] *= 0.1  # y's own weakest channels elsewhere
    mask = torch.ones(1, n, dtype=torch.bool)
    fuser = build(["x", "y"], ratio=k / D)
    streams = fuser.streams({"x": x, "y": y}, mask)
    before, after = effective_rank(x[0]), effective_rank(streams["x"][0].detach())
    assert after > before + 1, (before, after)
    assert effective_rank(streams["y"][0].detach()) > effective_rank(y[0]) - 0.5


@pytest.mark.parametrize("combine", ["attention", "stack"])
def test_ratio_zero_is_the_same_block_without_blending(combine):
    """Table 2's official "W/O RTF": every channel keeps its own modality."""
    feats, mask = batch()
    fuser = build(preset="official", ratio=0.0, combine=combine).eval()
    assert fuser.num_blended == 0 and fuser(feats, mask).aux["rtf_selected"].shape == (2, 0)
    streams = fuser.streams(feats, mask)
    plain = fuser.bn([feats[m] for m in NAMES], mask)
    for name, x in zip(NAMES, plain):
        torch.testing.assert_close(streams[name], x)


@pytest.mark.parametrize("scorer", ["svd", "topk_svd", "activation"])
def test_channel_scores_ignore_autocast(scorer):
    """Scores in float32 with autocast off: bf16 would pick another bottom-k' set."""
    fuser = build(scorer=scorer, ratio=0.25).eval()
    for seed in range(20):
        feats, mask = batch(seed=seed, t=64)
        feats = {m: x * 100 + 1000 for m, x in feats.items()}  # large offsets: bf16 rounds them apart
        exact = fuser._batch_scores([feats[m] for m in NAMES], mask)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            autocast = fuser._batch_scores([feats[m] for m in NAMES], mask)
        assert autocast.dtype == torch.float32
        torch.testing.assert_close(autocast, exact)
