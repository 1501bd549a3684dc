"""AFFT's fusers and MATT: behaviour beyond the generic fuser contract (tests/test_fusion.py)."""
from __future__ import annotations

import inspect
import math
from pathlib import Path

import pytest
import torch
import yaml

from mmfuse.errors import ConfigError
from mmfuse.registry import FUSIONS, create_fusion

B, T, D = 2, 7, 16
MODS = ["rgb", "depth", "imu"]
CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "fusion"
OURS = ["afft_sa", "afft_sa_notoken", "afft_tsa", "afft_ca", "matt"]


def batch(modalities, t=T, seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = {m: torch.randn(B, t, D, generator=g) for m in modalities}
    mask = torch.ones(B, t, dtype=torch.bool)
    mask[1, t - 3 :] = False
    return feats, mask


# ---------------------------------------------------------------- an independent reference


def ref_attention(q, k, v, allowed):
    """Plain softmax attention; ``allowed`` bool broadcastable to [..., Lq, Lk]."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    return scores.masked_fill(~allowed, float("-inf")).softmax(dim=-1) @ v


def ref_multihead(attn, x, memory, allowed):
    """``attn``'s weights written out: queries from ``x``, keys and values from ``memory``, ``[N, L, D]``."""
    n, length, dim = x.shape
    w_q, w_k, w_v = attn.qkv.weight.chunk(3)

    def heads(t):
        return t.view(n, -1, attn.heads, dim // attn.heads).transpose(1, 2)

    a = ref_attention(heads(x @ w_q.T), heads(memory @ w_k.T), heads(memory @ w_v.T), allowed)
    return attn.proj(a.transpose(1, 2).reshape(n, length, dim))


def ref_block(block, x, allowed):
    """AFFT's pre-norm Block on ``[N, L, D]`` written out by hand with the block's weights."""
    h = block.norm1(x)
    x = x + ref_multihead(block.attn, h, h, allowed)
    return x + block.mlp(block.norm2(x))


def ref_decoder_block(block, x, memory, allowed):
    """AFFT's pre-norm DecoderBlock on ``[N, L, D]``: self-attention, cross-attention to the
    LayerNormed ``memory``, MLP, written out by hand with the block's weights."""
    h = block.norm1(x)
    x = x + ref_multihead(block.attn, h, h, allowed)
    x = x + ref_multihead(block.cross_attn, block.norm2(x), block.norm_memory(memory), allowed)
    return x + block.mlp(block.norm3(x))


def ref_frame_fuser(fuser, feats, mask):
    x = torch.stack([feats[m] for m in fuser.modalities], dim=2)[mask]
    if fuser.token is not None:
        x = torch.cat([fuser.token.expand(len(x), 1, D), x], dim=1)
    if fuser.modality_embedding is not None:
        x = x + fuser.modality_embedding
    length = x.shape[1]
    allowed = torch.ones(length, length, dtype=torch.bool)
    if fuser.cross_modal_mask and length > 1:
        allowed = ~torch.eye(length, dtype=torch.bool)
    for block in fuser.blocks:
        x = ref_block(block, x, allowed)
    x = fuser.norm(x)
    return x[:, 0] if fuser.token is not None else x.mean(dim=1)


# ---------------------------------------------------------------- SA-Fuser, with and without token


@pytest.mark.parametrize("name", ["afft_sa", "afft_sa_notoken"])
@pytest.mark.parametrize("options", [{}, {"cross_modal_mask": True}, {"modality_embeddings": True}])
def test_sa_fusers_match_a_hand_written_reference(name, options):
    torch.manual_seed(0)
    fuser = create_fusion(name, modalities=MODS[:2], dim=D, depth=2, **options).eval()
    feats, mask = batch(MODS[:2])
    with torch.no_grad():
        out = fuser(feats, mask).tokens
        expected = ref_frame_fuser(fuser, feats, mask)
    # afft_sa: the fusion token's output; afft_sa_notoken: the mean of the modality outputs.
    torch.testing.assert_close(out[mask], expected, rtol=1e-5, atol=1e-5)
    assert (out[~mask] == 0).all()  # padded frames are skipped


def test_sa_output_is_the_fusion_tokens_output():
    torch.manual_seed(0)
    fuser = create_fusion("afft_sa", modalities=MODS[:2], dim=D, depth=1).eval()
    feats, mask = batch(MODS[:2])
    seen = {}
    fuser.norm.register_forward_hook(lambda module, args, output: seen.setdefault("norm", output))
    with torch.no_grad():
        out = fuser(feats, mask).tokens
    assert seen["norm"].shape == (int(mask.sum()), 3, D)  # [token, rgb, depth] per valid frame
    torch.testing.assert_close(out[mask], seen["norm"][:, 0])
    assert fuser.token.shape == (1, 1, D)
    assert create_fusion("afft_sa", modalities=MODS[:2], dim=D, modality_embeddings=True).modality_embedding.shape == (
        1, 3, D
    )
    assert create_fusion("afft_sa_notoken", modalities=MODS[:2], dim=D).token is None


def test_sa_defaults_follow_afft():
    fuser = create_fusion("afft_sa", modalities=MODS[:2], dim=64)
    assert len(fuser.blocks) == 6 and fuser.blocks[0].attn.heads == 4
    assert fuser.modality_embedding is None and not fuser.cross_modal_mask
    assert fuser.blocks[0].attn.qkv.bias is None and fuser.blocks[0].norm1.eps == 1e-6
    assert isinstance(fuser.blocks[0].drop_path, torch.nn.Identity)  # stochastic depth 0 in the first block
    assert fuser.blocks[-1].drop_path.drop_prob == pytest.approx(0.1)


@pytest.mark.parametrize("name", ["afft_sa", "afft_sa_notoken"])
def test_cross_modal_mask_changes_the_output(name):
    torch.manual_seed(0)
    plain = create_fusion(name, modalities=MODS[:2], dim=D, depth=2).eval()
    masked = create_fusion(name, modalities=MODS[:2], dim=D, depth=2, cross_modal_mask=True).eval()
    masked.load_state_dict(plain.state_dict())
    feats, mask = batch(MODS[:2])
    with torch.no_grad():
        assert not torch.allclose(plain(feats, mask).tokens[mask], masked(feats, mask).tokens[mask])


def test_sa_notoken_cross_modal_mask_with_one_modality_stays_finite():
    fuser = create_fusion("afft_sa_notoken", modalities=MODS[:1], dim=D, cross_modal_mask=True)
    feats, mask = batch(MODS[:1])
    assert torch.isfinite(fuser(feats, mask).tokens).all()


@pytest.mark.parametrize("name", ["afft_sa", "afft_sa_notoken", "matt"])
def test_per_frame_fusers_are_independent_across_time(name):
    torch.manual_seed(0)
    fuser = create_fusion(name, modalities=MODS[:2], dim=D).eval()
    feats, mask = batch(MODS[:2])
    changed = {m: f.clone() for m, f in feats.items()}
    changed["rgb"][:, 3] += torch.randn(B, D)  # (a constant shift would vanish in LayerNorm)
    with torch.no_grad():
        ref, new = fuser(feats, mask).tokens, fuser(changed, mask).tokens
    others = [i for i in range(T) if i != 3]
    torch.testing.assert_close(new[:, others], ref[:, others])
    assert not torch.allclose(new[0, 3], ref[0, 3])


# ---------------------------------------------------------------- temporal fusers: causality, padding, windows


def _perturb_from(feats, t0, modality=None):
    changed = {m: f.clone() for m, f in feats.items()}
    for m in [modality] if modality else list(changed):
        changed[m][:, t0:] += torch.randn_like(changed[m][:, t0:])
    return changed


@pytest.mark.parametrize("name", ["afft_tsa", "afft_ca"])
@pytest.mark.parametrize("training", [False, True])
def test_temporal_fusers_are_causal(name, training):
    torch.manual_seed(0)
    fuser = create_fusion(name, modalities=MODS[:2], dim=D).train(training)
    feats, mask = batch(MODS[:2])
    t0 = 3
    for modality in MODS[:2]:  # the query stream and the attended one alike
        changed = _perturb_from(feats, t0, modality)
        with torch.no_grad():
            torch.manual_seed(1)
            ref = fuser(feats, mask).tokens
            torch.manual_seed(1)
            new = fuser(changed, mask).tokens
        torch.testing.assert_close(new[:, :t0], ref[:, :t0])  # the past ignores the future
        assert not torch.allclose(new[0, t0:], ref[0, t0:])  # the present sees it


@pytest.mark.parametrize("window", [None, 2])
def test_tsa_matches_a_hand_written_reference(window):
    torch.manual_seed(0)
    fuser = create_fusion("afft_tsa", modalities=MODS[:2], dim=D, depth=2, window=window).eval()
    feats, mask = batch(MODS[:2])
    m = len(fuser.modalities)
    with torch.no_grad():
        out = fuser(feats, mask).tokens
        x = torch.stack([feats[name] for name in fuser.modalities], dim=2)  # [B, T, M, D]
        x = x + fuser.positions(T, x)[:, None] + fuser.modality_embedding
        x = x.reshape(B, T * m, D)  # time-major tokens
        frame = torch.arange(T).repeat_interleave(m)
        rel = frame[:, None] - frame[None, :]
        band = (rel >= 0) & (rel < (window or T))
        allowed = (band[None] & mask[:, None, frame])[:, None]  # [B, 1, T*M, T*M]
        allowed |= ~allowed.any(dim=-1, keepdim=True)  # padded queries seeing no valid key: keep finite
        for block in fuser.blocks:
            x = ref_block(block, x, allowed)
        expected = fuser.norm(x).view(B, T, m, D).mean(dim=2)
    torch.testing.assert_close(out[mask], expected[mask], rtol=1e-5, atol=1e-5)


def test_tsa_tokens_attend_to_other_modalities_of_the_same_frame():
    torch.manual_seed(0)
    fuser = create_fusion("afft_tsa", modalities=MODS[:2], dim=D, depth=1).eval()
    feats, mask = batch(MODS[:2])
    seen = []
    fuser.norm.register_forward_hook(lambda module, args, output: seen.append(output))
    changed = {m: f.clone() for m, f in feats.items()}
    changed["depth"][:, 0] += torch.randn(B, D)
    with torch.no_grad():
        fuser(feats, mask)
        fuser(changed, mask)
    ref, new = seen  # [B, T, M, D] per-token outputs before the per-frame mean
    assert not torch.allclose(new[0, 0, 0], ref[0, 0, 0])  # rgb's token of frame 0 saw depth's


def test_tsa_window_limits_the_receptive_field():
    torch.manual_seed(0)
    fuser = create_fusion("afft_tsa", modalities=MODS[:2], dim=D, depth=1, window=2).eval()
    feats, mask = batch(MODS[:2])
    changed = {m: f.clone() for m, f in feats.items()}
    for f in changed.values():
        f[:, 2] += torch.randn(B, D)
    with torch.no_grad():
        ref, new = fuser(feats, mask).tokens, fuser(changed, mask).tokens
    changed_frames = (new - ref).abs().amax(dim=-1)[0] > 1e-6
    assert changed_frames.tolist() == [False, False, True, True, False, False, False]


@pytest.mark.parametrize("window", [None, 1, 3, 7, 20])
@pytest.mark.parametrize(("mq", "mk"), [(2, 2), (1, 1), (1, 3)])
def test_causal_attention_matches_a_dense_band_reference(window, mq, mk):
    """The temporal fusers' attention: frame t sees the valid frames t-window+1 .. t."""
    causal = create_fusion("afft_tsa", modalities=MODS[:2], dim=D, window=window)._causal
    g = torch.Generator().manual_seed(0)
    heads, d = 2, 4
    q = torch.randn(B, heads, T, mq, d, generator=g)
    k = torch.randn(B, heads, T, mk, d, generator=g)
    v = torch.randn(B, heads, T, mk, d, generator=g)
    valid = torch.ones(B, T, dtype=torch.bool)
    valid[1, 5:] = False
    out = causal(valid)(q, k, v, 0.0)
    times = torch.arange(T)
    rel = times[:, None] - times[None, :]
    band = (rel >= 0) & (rel < (window or T))
    allowed = (band[None] & valid[:, None, :])[:, :, None, :, None].expand(B, T, mq, T, mk)
    allowed = allowed.reshape(B, 1, T * mq, T * mk)
    expected = ref_attention(q.reshape(B, heads, T * mq, d), k.reshape(B, heads, T * mk, d),
                             v.reshape(B, heads, T * mk, d), allowed).view(B, heads, T, mq, d)
    torch.testing.assert_close(out[0], expected[0])
    torch.testing.assert_close(out[1, :, :5], expected[1, :, :5])  # valid queries of the padded sample
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["afft_tsa", "afft_ca"])
@pytest.mark.parametrize("window", [None, 3])
def test_temporal_fusers_survive_a_fully_padded_sample_and_nan_padding(name, window):
    torch.manual_seed(0)
    fuser = create_fusion(name, modalities=MODS[:2], dim=D, window=window)
    feats, mask = batch(MODS[:2])
    mask[1] = False
    feats["rgb"][1] = float("nan")
    for training in (True, False):
        fuser.train(training)
        out = fuser(feats, mask).tokens
        assert torch.isfinite(out).all()
        out[mask].sum().backward()
        assert all(torch.isfinite(p.grad).all() for p in fuser.parameters() if p.grad is not None)


def test_learned_positions_must_cover_the_window():
    fuser = create_fusion("afft_tsa", modalities=MODS[:2], dim=D, position_embedding="learned", max_positions=5)
    feats, mask = batch(MODS[:2])
    with pytest.raises(ConfigError, match="max_positions=5"):
        fuser(feats, mask)
    assert fuser.positions.table.shape == (1, 5, D)
    with pytest.raises(ConfigError, match="position_embedding"):
        create_fusion("afft_ca", modalities=MODS[:2], dim=D, position_embedding="rope")
    with pytest.raises(ConfigError, match="divisible"):
        create_fusion("afft_tsa", modalities=MODS[:2], dim=D, heads=3)


# ---------------------------------------------------------------- CA-Fuser


def test_ca_has_one_decoder_block_per_attended_modality_and_refuses_one_modality():
    assert len(create_fusion("afft_ca", modalities=MODS[:2], dim=D).blocks) == 1
    assert len(create_fusion("afft_ca", modalities=MODS, dim=D).blocks) == 2
    with pytest.raises(ConfigError, match="at least 2 modalities"):
        create_fusion("afft_ca", modalities=["rgb"], dim=D)
    assert FUSIONS.get("afft_ca").min_modalities == 2


@pytest.mark.parametrize("window", [None, 2])
def test_ca_matches_a_hand_written_reference(window):
    torch.manual_seed(0)
    fuser = create_fusion("afft_ca", modalities=MODS, dim=D, window=window).eval()
    feats, mask = batch(MODS)
    with torch.no_grad():
        for p in fuser.parameters():  # LayerNorms start at unit weight and zero bias: make every weight count
            p.add_(0.1 * torch.randn_like(p))
        out = fuser(feats, mask).tokens
        positions = fuser.positions(T, feats["rgb"])
        query, *memories = (torch.where(mask[..., None], feats[m], 0.0) + positions for m in fuser.modalities)
        rel = torch.arange(T)[:, None] - torch.arange(T)[None, :]
        allowed = ((rel >= 0) & (rel < (window or T)))[None] & mask[:, None, :]
        allowed = (allowed | ~allowed.any(dim=-1, keepdim=True))[:, None]  # [B, 1, T, T]
        for block, memory in zip(fuser.blocks, memories):  # block i cross-attends to modality i + 1
            query = ref_decoder_block(block, query, memory, allowed)
        expected = fuser.norm(query)
    torch.testing.assert_close(out[mask], expected[mask], rtol=1e-5, atol=1e-5)


def test_ca_first_modality_is_the_query():
    torch.manual_seed(0)
    ab = create_fusion("afft_ca", modalities=["rgb", "depth"], dim=D).eval()
    ba = create_fusion("afft_ca", modalities=["depth", "rgb"], dim=D).eval()
    ba.load_state_dict(ab.state_dict())
    feats, mask = batch(["rgb", "depth"])
    with torch.no_grad():
        out_ab, out_ba = ab(feats, mask).tokens, ba(feats, mask).tokens
    assert not torch.allclose(out_ab, out_ba)
    # The query stream is the residual path: with the block's branches zeroed, output = LN(query + pos).
    with torch.no_grad():
        for block in ab.blocks:
            for module in (block.attn.proj, block.cross_attn.proj, block.mlp.fc2):
                module.weight.zero_()
                module.bias.zero_()
        out = ab(feats, mask).tokens
        x = feats["rgb"] + ab.positions(T, feats["rgb"])
    torch.testing.assert_close(out[mask], ab.norm(x)[mask])


# ---------------------------------------------------------------- MATT


@pytest.mark.parametrize("count", [1, 2, 3])
def test_matt_weights_sum_to_one_and_weight_the_tokens(count):
    torch.manual_seed(0)
    fuser = create_fusion("matt", modalities=MODS[:count], dim=D)
    feats, mask = batch(MODS[:count])
    out = fuser(feats, mask)
    w = out.aux["modality_weights"]
    assert w.shape == (B, T, count)
    assert (w >= 0).all()
    torch.testing.assert_close(w.sum(dim=-1), torch.ones(B, T))
    expected = sum(w[..., i : i + 1] * feats[m] for i, m in enumerate(MODS[:count]))
    torch.testing.assert_close(out.tokens, expected)
    if count == 1:
        torch.testing.assert_close(out.tokens, feats["rgb"])


def test_matt_mlp_follows_rulstm():
    fuser = create_fusion("matt", modalities=MODS[:2], dim=64)
    widths = [(m.in_features, m.out_features) for m in fuser.mlp if isinstance(m, torch.nn.Linear)]
    assert widths == [(128, 32), (32, 16), (16, 2)]
    assert [m.p for m in fuser.mlp if isinstance(m, torch.nn.Dropout)] == [0.8, 0.8]


# ---------------------------------------------------------------- configs list every option with its default


@pytest.mark.parametrize("name", OURS)
def test_config_lists_every_option_with_its_default(name):
    cfg = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    assert cfg.pop("name") == name
    parameters = inspect.signature(FUSIONS.get(name)).parameters
    defaults = {p: v.default for p, v in parameters.items() if p not in ("self", "modalities", "dim")}
    assert cfg == defaults


@pytest.mark.parametrize(
    ("name", "foreign"), [("afft_ca", "depth"), ("afft_sa", "window"), ("afft_tsa", "cross_modal_mask")]
)
def test_an_option_of_another_afft_fuser_is_refused(name, foreign):
    """Each fuser's signature lists exactly its options, so the registry refuses the others by name."""
    with pytest.raises(ConfigError, match=f"has no option '{foreign}'"):
        create_fusion(name, modalities=MODS[:2], dim=D, **{foreign: 1})
