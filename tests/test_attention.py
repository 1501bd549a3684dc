"""The shared attention parts against independent references: banded attention against a dense
masked softmax written out, the encoder block against its equations, the decoder against DETR
layers built on ``nn.MultiheadAttention``."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmfuse.models import AnticipationDecoder
from mmfuse.models.attention import Attention, Block, band_attention, dense

B, HEADS, D = 2, 2, 4


def dense_reference(q, k, v, valid, before, after):
    """softmax(q k^T / sqrt(d)) v over the keys each query may see, with plain tensor ops."""
    b, h, t, mq, d = q.shape
    mk = k.shape[3]
    rel = torch.arange(t)[:, None] - torch.arange(t)[None, :]
    band = (rel <= (t if before is None else before)) & (rel >= -(t if after is None else after))
    allowed = (band[None] & valid[:, None, :])[:, :, None, :, None].expand(b, t, mq, t, mk)
    allowed = allowed.reshape(b, 1, t * mq, t * mk)
    scores = q.reshape(b, h, t * mq, d) @ k.reshape(b, h, t * mk, d).transpose(-1, -2) / d**0.5
    weights = scores.masked_fill(~allowed, float("-inf")).softmax(-1)
    return (weights @ v.reshape(b, h, t * mk, d)).view(b, h, t, mq, d)


@pytest.mark.parametrize(("before", "after"), [(0, 0), (5, 5), (40, 0), (0, 17), (130, 60), (None, 0), (None, None)])
@pytest.mark.parametrize(("mq", "mk"), [(1, 1), (2, 3)])
def test_band_attention_matches_a_dense_reference(before, after, mq, mk) -> None:
    g = torch.Generator().manual_seed(0)
    t = 300  # several 128-frame blocks
    q, k, v = (torch.randn(B, HEADS, t, m, D, generator=g) for m in (mq, mk, mk))
    valid = torch.ones(B, t, dtype=torch.bool)
    valid[1, 170:] = False
    out = band_attention(q, k, v, valid, before, after)
    expected = dense_reference(q, k, v, valid, before, after)
    torch.testing.assert_close(out[0], expected[0])
    torch.testing.assert_close(out[1, :, :170], expected[1, :, :170])
    assert torch.isfinite(out).all()


def test_band_attention_memory_is_linear_in_time() -> None:
    """A 20,000-frame input with a 64-frame radius: the dense form would need 400 M scores."""
    t = 20_000
    q = k = v = torch.randn(1, 1, t, 1, D)
    out = band_attention(q, k, v, torch.ones(1, t, dtype=torch.bool), 64, 64)
    assert out.shape == (1, 1, t, 1, D) and torch.isfinite(out).all()


# ---------------------------------------------------------------- the encoder block against its equations

DIM = 16


def multihead_attention(attn: Attention, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """``attn``'s weights in an ``nn.MultiheadAttention`` (its mask: True = may *not* attend)."""
    mha = nn.MultiheadAttention(DIM, attn.heads, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(attn.qkv.weight)
        mha.in_proj_bias.copy_(torch.zeros(3 * DIM) if attn.qkv.bias is None else attn.qkv.bias)
        mha.out_proj.load_state_dict(attn.proj.state_dict())
    return mha.eval()(x, x, x, attn_mask=~allowed, need_weights=False)[0]


def reference_block(block: Block, x: torch.Tensor, allowed: torch.Tensor, norm: str) -> torch.Tensor:
    def ln(module: nn.LayerNorm, y: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(y, (DIM,), module.weight, module.bias, module.eps)

    def attention(y: torch.Tensor) -> torch.Tensor:
        return multihead_attention(block.attn, y, allowed)

    def mlp(y: torch.Tensor) -> torch.Tensor:
        hidden = F.gelu(F.linear(y, block.mlp.fc1.weight, block.mlp.fc1.bias))
        return F.linear(hidden, block.mlp.fc2.weight, block.mlp.fc2.bias)

    if norm == "pre":  # timm / AFFT: x + A(LN1 x), then + F(LN2 .)
        x = x + attention(ln(block.norm1, x))
        return x + mlp(ln(block.norm2, x))
    if norm == "paper":  # R3D App. C Eq. 53-54: z = LN1(x) + A(LN1(x)), then LN2(z + F(z))
        z = ln(block.norm1, x) + attention(ln(block.norm1, x))
        return ln(block.norm2, z + mlp(z))
    z = ln(block.norm1, x + attention(x))  # the official R3D code: post-norm
    return ln(block.norm2, z + mlp(z))


@pytest.mark.parametrize("norm", ["pre", "paper", "post"])
@pytest.mark.parametrize("qkv_bias", [False, True])
def test_block_follows_its_equations(norm, qkv_bias) -> None:
    torch.manual_seed(0)
    block = Block(DIM, 4, mlp_ratio=2.0, qkv_bias=qkv_bias, dropout=0.3, attn_dropout=0.3, drop_path=0.3, norm=norm,
                  eps=1e-6).eval()  # every dropout is off in evaluation
    with torch.no_grad():
        for module in (block.norm1, block.norm2):
            module.weight.normal_()
            module.bias.normal_()
    x = torch.randn(3, 7, DIM)
    allowed = torch.rand(7, 7) > 0.5
    allowed.fill_diagonal_(True)
    with torch.no_grad():
        torch.testing.assert_close(block(x, dense(allowed)), reference_block(block, x, allowed, norm))


# ---------------------------------------------------------------- the decoder against DETR layers on nn.MultiheadAttention


class DetrLayer(nn.Module):
    """The anticipation decoder's layer as it was built on ``nn.MultiheadAttention`` (DETR / FUTR)."""

    def __init__(self, dim: int, heads: int, dropout: float, norm_first: bool) -> None:
        super().__init__()
        self.norm_first = norm_first
        self.norm1 = nn.LayerNorm(dim)
        self.self_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.cross_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm3 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(4 * dim, dim))

    def forward(self, tgt, query_pos, memory, memory_pos, padding):
        if not self.norm_first:
            q = tgt + query_pos
            tgt = self.norm1(tgt + self.self_attn(q, q, tgt, need_weights=False)[0])
            attended = self.cross_attn(tgt + query_pos, memory + memory_pos, memory, key_padding_mask=padding,
                                       need_weights=False)[0]
            tgt = self.norm2(tgt + attended)
            return self.norm3(tgt + self.mlp(tgt))
        q = self.norm1(tgt)
        tgt = tgt + self.self_attn(q + query_pos, q + query_pos, q, need_weights=False)[0]
        q = self.norm2(tgt) + query_pos
        tgt = tgt + self.cross_attn(q, memory + memory_pos, memory, key_padding_mask=padding, need_weights=False)[0]
        return tgt + self.mlp(self.norm3(tgt))

    def copy_into(self, block: nn.Module) -> None:
        """This layer's weights into a ``DecoderBlock``: MHA's in-projection is its ``qkv``, out_proj its ``proj``."""
        with torch.no_grad():
            for ours, theirs in ((block.attn, self.self_attn), (block.cross_attn, self.cross_attn)):
                ours.qkv.weight.copy_(theirs.in_proj_weight)
                ours.qkv.bias.copy_(theirs.in_proj_bias)
                ours.proj.load_state_dict(theirs.out_proj.state_dict())
            for name in ("norm1", "norm2", "norm3"):
                getattr(block, name).load_state_dict(getattr(self, name).state_dict())
            block.mlp.fc1.load_state_dict(self.mlp[0].state_dict())
            block.mlp.fc2.load_state_dict(self.mlp[3].state_dict())


@pytest.mark.parametrize("norm", ["pre", "post"])
@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
def test_anticipation_decoder_equals_detr_layers_on_multihead_attention(norm, positions) -> None:
    """Weights copied from MHA-based layers give the same outputs (evaluation; padded frames masked)."""
    torch.manual_seed(0)
    decoder = AnticipationDecoder(DIM, num_classes=5, num_queries=6, layers=2, heads=4, norm=norm,
                                  positions=positions, max_positions=15).eval()
    references = [DetrLayer(DIM, 4, 0.1, norm == "pre").eval() for _ in decoder.layers]
    for reference, layer in zip(references, decoder.layers):
        with torch.no_grad():
            for p in reference.parameters():  # MHA starts with zero biases and unit norms: make every weight count
                p.normal_(0, 0.3)
        reference.copy_into(layer)
    memory = torch.randn(3, 20, DIM)
    mask = torch.ones(3, 20, dtype=torch.bool)
    mask[1, 12:] = False
    mask[2] = False  # no valid frame: attends to all of them
    with torch.no_grad():
        logits, durations = decoder(memory, mask)
        query_pos = decoder.query_embed.weight.expand(3, -1, -1)
        memory_pos = decoder.positions(20, memory)
        padding = ~mask & mask.any(dim=1, keepdim=True)
        tgt = torch.zeros_like(query_pos)
        for reference in references:
            tgt = reference(tgt, query_pos, memory, memory_pos, padding)
        tgt = decoder.norm(tgt)
    torch.testing.assert_close(logits, decoder.class_head(tgt))
    torch.testing.assert_close(durations, torch.sigmoid(decoder.duration_head(tgt).squeeze(-1)))


def test_multihead_init_draws_what_multihead_attention_draws() -> None:
    """Under one seed, ``init="multihead"`` gives ``nn.MultiheadAttention``'s weights exactly and leaves
    the random generator where it does, so the anticipation decoder kept its weights moving off it."""
    dim = 64
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(dim, 4)
    after_theirs = torch.rand(4)
    torch.manual_seed(0)
    ours = Attention(dim, 4, qkv_bias=True, init="multihead")
    assert torch.equal(torch.rand(4), after_theirs)
    assert torch.equal(ours.qkv.weight, mha.in_proj_weight) and torch.equal(ours.proj.weight, mha.out_proj.weight)
    assert not ours.qkv.bias.any() and not ours.proj.bias.any()
    layer = AnticipationDecoder(dim, num_classes=3, layers=1, heads=4).layers[0]
    assert all(not attn.qkv.bias.any() and not attn.proj.bias.any() for attn in (layer.attn, layer.cross_attn))
