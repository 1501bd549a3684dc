"""AFFT's fusers (Zhong et al., WACV 2023, arXiv 2210.12649; zeyun-zhong/AFFT ``models/fusion.py``).

Four registered names, one per fuser of the paper (class name in the official code in brackets):

- ``afft_sa`` (``ModalTokenCMFuser``, "SA-Fuser"): per frame, self-attention over
  ``[learned modality-agnostic token, m_1 ... m_M]``; the token's output is the fused vector.
- ``afft_sa_notoken`` (``CMFuser``, "SA-Fuser w/o token"): per frame, self-attention over
  ``[m_1 ... m_M]``; the fused vector is the mean of the outputs.
- ``afft_tsa`` (``TemporalCMFuser``, "T-SA-Fuser"): joint causal attention over all ``T * M``
  tokens of a causal band of frames, with position and modality embeddings; per-frame mean over modalities.
- ``afft_ca`` (``TemporalCrossAttentFuser``, "CA-Fuser"): the first modality (in config order)
  is the query stream; ``M - 1`` causal decoder blocks, block ``i`` cross-attending to modality
  ``i + 1``.

What follows the official code: pre-norm blocks (LayerNorm(eps 1e-6) -> attention -> residual,
LayerNorm -> MLP(GELU, ratio 4) -> residual), no bias in the q/k/v projections, dropout after
the attention projection and after the MLP, attention-weight dropout, stochastic depth rising
linearly from 0 to ``drop_path`` over the blocks, dropout on the embedded input, a final
LayerNorm, truncated-normal(0.02) init of every Linear (biases 0) and of the learned token and
embeddings; the defaults of its fuser configs (``conf/model/fuser/*.yaml``: depth 6, 4 heads,
all dropout rates 0.1, modality embeddings off for SA and on for T-SA).

Where this module differs, and why:

- Padding. The official code has none (fixed-length clips); here ``mask`` marks valid frames.
  The per-frame fusers run only on valid frames and write zeros at padded ones; the temporal
  fusers mask padded keys, so a padded frame never reaches a valid output (train and eval).
- Time. The official T-SA/CA fusers see a clip of a few frames (learned position tables of 64
  and 128 entries). Here they see whole videos, so the position embedding defaults to fixed
  sinusoids (any length); ``position_embedding="learned"`` restores the learned table, of
  ``max_positions`` entries. Attention is limited to a causal band of ``window`` frames
  (frames ``t-w+1 .. t``, 512 by default), computed in blocks so cost and memory are linear in
  T; a window longer than the longest video is full causal attention.
- Attention-weight dropout of T-SA and CA defaults to 0 (official: 0.1): over T*M = 1024 tokens
  it is a 4 M-entry random mask per head and sample, and it forces PyTorch's unfused attention
  path on CPU (see the ``attn_dropout`` notes on each class).
- The official ``frame_level_token`` variants (one learned token per clip position, fixed T)
  are left out: they tie the model to one clip length.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmfuse.errors import ConfigError
from mmfuse.fusion.base import FusionOutput, Fuser
from mmfuse.models.attention import band_attention, guard
from mmfuse.temporal.transformer import sinusoidal_encoding
from mmfuse.registry import register_fusion

# attend(q, k, v, dropout_p) -> out; q [N, H, *tokens_q, d], k/v [N, H, *tokens_k, d].
Attend = Callable[[Tensor, Tensor, Tensor, float], Tensor]

_EPS = 1e-6  # LayerNorm eps of the official code


# --------------------------------------------------------------------------- building blocks


def _init_weights(module: nn.Module) -> None:
    """The official (timm ViT) init: truncated normal(0.02) Linear weights, zero biases."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class DropPath(nn.Module):
    """Stochastic depth: drop a residual branch for a whole sample (dim 0) with probability ``p``."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        return x * x.new_empty(shape).bernoulli_(keep).div_(keep)


class Attention(nn.Module):
    """Multi-head (self- or cross-) attention over a token grid ``[N, *tokens, dim]``.

    The grid's layout (and hence which token may attend to which) is the ``attend``
    function's business; this module only projects, splits heads and merges them back.
    """

    def __init__(self, dim: int, heads: int, qkv_bias: bool, attn_dropout: float, dropout: float,
                 cross: bool = False) -> None:
        super().__init__()
        self.heads = heads
        self.attn_dropout = attn_dropout
        self.cross = cross
        if cross:
            self.q = nn.Linear(dim, dim, bias=qkv_bias)
            self.kv = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        else:
            self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def _split(self, x: Tensor) -> Tensor:  # [N, *S, H*d] -> [N, H, *S, d]
        return x.unflatten(-1, (self.heads, -1)).movedim(-2, 1)

    def forward(self, x: Tensor, attend: Attend, mem: Tensor | None = None) -> Tensor:
        if self.cross:
            q = self._split(self.q(x))
            k, v = (self._split(t) for t in self.kv(mem).chunk(2, dim=-1))
        else:
            q, k, v = (self._split(t) for t in self.qkv(x).chunk(3, dim=-1))
        out = attend(q, k, v, self.attn_dropout if self.training else 0.0)
        return self.drop(self.proj(out.movedim(1, -2).flatten(-2)))


class Mlp(nn.Sequential):
    def __init__(self, dim: int, mlp_ratio: float, dropout: float) -> None:
        hidden = int(dim * mlp_ratio)
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim), nn.Dropout(dropout))


class Block(nn.Module):
    """Pre-norm encoder block: ``x + MHSA(LN(x))``, then ``x + MLP(LN(x))`` (AFFT's ``Block``)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, qkv_bias: bool, dropout: float,
                 attn_dropout: float, drop_path: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=_EPS)
        self.attn = Attention(dim, heads, qkv_bias, attn_dropout, dropout)
        self.norm2 = nn.LayerNorm(dim, eps=_EPS)
        self.mlp = Mlp(dim, mlp_ratio, dropout)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: Tensor, attend: Attend) -> Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), attend))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class DecoderBlock(nn.Module):
    """Pre-norm decoder block (AFFT's ``DecoderBlock``): self-attention, cross-attention to ``mem``, MLP."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, qkv_bias: bool, dropout: float,
                 attn_dropout: float, drop_path: float) -> None:
        super().__init__()
        self.norm_self = nn.LayerNorm(dim, eps=_EPS)
        self.attn = Attention(dim, heads, qkv_bias, attn_dropout, dropout)
        self.norm_q = nn.LayerNorm(dim, eps=_EPS)
        self.norm_kv = nn.LayerNorm(dim, eps=_EPS)
        self.cross_attn = Attention(dim, heads, qkv_bias, attn_dropout, dropout, cross=True)
        self.norm_mlp = nn.LayerNorm(dim, eps=_EPS)
        self.mlp = Mlp(dim, mlp_ratio, dropout)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: Tensor, mem: Tensor, attend: Attend) -> Tensor:
        x = x + self.drop_path(self.attn(self.norm_self(x), attend))
        x = x + self.drop_path(self.cross_attn(self.norm_q(x), attend, mem=self.norm_kv(mem)))
        return x + self.drop_path(self.mlp(self.norm_mlp(x)))


def causal_attention(q: Tensor, k: Tensor, v: Tensor, dropout_p: float, valid: Tensor,
                     window: int | None = None) -> Tensor:
    """Attention over time where the query at frame t sees valid keys at frames ``t' <= t``.

    ``q`` is ``[B, H, T, Mq, d]`` (``Mq`` tokens per frame), ``k``/``v`` ``[B, H, T, Mk, d]``,
    ``valid`` ``bool[B, T]``. Every query token of frame t sees every key token of frames
    ``max(0, t - window + 1) .. t`` (all of ``0 .. t`` when ``window`` is None), computed in
    blocks (``band_attention``) so that with a window cost and memory are linear in T.
    """
    return band_attention(q, k, v, valid, None if window is None else window - 1, 0, dropout_p)


def _check(name: str, dim: int, heads: int, depth: int | None = None, window: int | None = None,
           position_embedding: str | None = None, max_positions: int | None = None) -> None:
    if heads < 1 or dim % heads:
        raise ConfigError(f"fusion {name!r}: dim={dim} is not divisible by heads={heads}")
    if depth is not None and depth < 0:
        raise ConfigError(f"fusion {name!r}: depth must be >= 0, got {depth}")
    if window is not None and window < 1:
        raise ConfigError(f"fusion {name!r}: window must be a positive number of frames or null, got {window}")
    if position_embedding is not None and position_embedding not in ("sinusoidal", "learned"):
        raise ConfigError(
            f"fusion {name!r}: position_embedding must be 'sinusoidal' or 'learned', got {position_embedding!r}"
        )
    if position_embedding == "learned" and (max_positions is None or max_positions < 1):
        raise ConfigError(f"fusion {name!r}: max_positions must be >= 1, got {max_positions}")


def _stack(feats: Mapping[str, Tensor], modalities: Sequence[str]) -> tuple[dict[str, Tensor], Tensor]:
    embeddings = {m: feats[m] for m in modalities}
    return embeddings, torch.stack([embeddings[m] for m in modalities], dim=2)  # [B, T, M, D]


class _Positions(nn.Module):
    """Frame position embedding ``[T, dim]``: fixed sinusoids (any T) or a learned table."""

    def __init__(self, name: str, dim: int, kind: str, max_positions: int) -> None:
        super().__init__()
        self.name = name
        self.kind = kind
        self.max_positions = max_positions
        self.table = nn.Embedding(max_positions, dim) if kind == "learned" else None
        if self.table is not None:
            nn.init.trunc_normal_(self.table.weight, std=0.02)

    def forward(self, t: int, like: Tensor) -> Tensor:
        if self.table is None:
            return sinusoidal_encoding(t, like.shape[-1], like.device, like.dtype)
        if t > self.max_positions:
            raise ConfigError(
                f"fusion {self.name!r}: an input of {t} steps exceeds max_positions={self.max_positions}; "
                f"raise max_positions to at least the longest video, or use position_embedding=sinusoidal"
            )
        return self.table.weight[:t]


# --------------------------------------------------------------------------- per-frame fusers


class _FrameSelfAttention(Fuser):
    """Shared body of ``afft_sa`` and ``afft_sa_notoken``: per-frame attention over modality tokens."""

    use_token: bool = True
    registered_name: str = ""

    def __init__(
        self,
        modalities: Sequence[str],
        dim: int,
        depth: int = 6,
        heads: int = 4,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = False,
        dropout: float = 0.1,
        attn_dropout: float = 0.1,
        embed_dropout: float = 0.1,
        drop_path: float = 0.1,
        modality_embeddings: bool = False,
        cross_modal_mask: bool = False,
    ) -> None:
        super().__init__(modalities, dim)
        _check(self.registered_name, dim, heads, depth)
        self.cross_modal_mask = cross_modal_mask
        n_tokens = len(self.modalities) + int(self.use_token)
        self.token = nn.Parameter(torch.zeros(1, 1, dim)) if self.use_token else None
        self.modality_embedding = nn.Parameter(torch.zeros(1, n_tokens, dim)) if modality_embeddings else None
        self.embed_drop = nn.Dropout(embed_dropout)
        rates = torch.linspace(0, drop_path, depth).tolist() if depth else []
        self.blocks = nn.ModuleList(
            Block(dim, heads, mlp_ratio, qkv_bias, dropout, attn_dropout, rate) for rate in rates
        )
        self.norm = nn.LayerNorm(dim, eps=_EPS)
        self.apply(_init_weights)
        for p in (self.token, self.modality_embedding):
            if p is not None:
                nn.init.trunc_normal_(p, std=0.02)

    def _attend(self, n_tokens: int, device: torch.device) -> Attend:
        mask = None
        if self.cross_modal_mask:  # the official eye mask: no token attends to itself
            mask = guard(~torch.eye(n_tokens, dtype=torch.bool, device=device))

        def attend(q: Tensor, k: Tensor, v: Tensor, dropout_p: float) -> Tensor:
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)

        return attend

    def encode(self, x: Tensor) -> Tensor:
        """``[N, M, D]`` modality tokens of N frames -> ``[N, M (+1), D]`` normalised block outputs."""
        if self.token is not None:
            x = torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=1)
        if self.modality_embedding is not None:
            x = x + self.modality_embedding
        x = self.embed_drop(x)
        attend = self._attend(x.shape[1], x.device)
        for block in self.blocks:
            x = block(x, attend)
        return self.norm(x)

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> FusionOutput:
        embeddings, x = _stack(feats, self.modalities)
        out = self.encode(x[mask])  # valid frames only: [N, M (+1), D]
        fused = out[:, 0] if self.token is not None else out.mean(dim=1)
        tokens = fused.new_zeros(*mask.shape, fused.shape[-1])
        tokens[mask] = fused
        return FusionOutput(tokens=tokens, embeddings=embeddings)


@register_fusion("afft_sa")
class AFFTSAFuser(_FrameSelfAttention):
    """AFFT's SA-Fuser: per frame, self-attention over [learned token, m_1..m_M]; the token's output.

    Per frame, the sequence ``[token, x_1, ..., x_M]`` (modalities in config order; one
    learned modality-agnostic token shared by all frames) goes through ``depth`` pre-norm
    blocks and a final LayerNorm; the token's output is the fused vector (official
    ``ModalTokenCMFuser``). Frames are independent; padded frames are skipped (output 0).

    Options (defaults from AFFT's ``conf/model/fuser/SA-Fuser.yaml``): ``depth`` 6, ``heads``
    4, ``mlp_ratio`` 4, ``qkv_bias`` False, ``dropout`` (after attention projection and MLP)
    0.1, ``attn_dropout`` (attention weights) 0.1, ``embed_dropout`` (on the input tokens) 0.1,
    ``drop_path`` (stochastic depth, per frame, 0 -> drop_path over the blocks) 0.1.
    ``modality_embeddings``: add a learned embedding per position (token and each modality),
    off by default as in AFFT. ``cross_modal_mask``: AFFT's ``cross_attn`` mask, the identity
    masked out, so every token, the fusion token included, attends to every token but
    itself: each modality to the fusion token and the other modalities, the fusion token to
    the modalities only.
    """

    use_token = True
    registered_name = "afft_sa"


@register_fusion("afft_sa_notoken")
class AFFTSANoTokenFuser(_FrameSelfAttention):
    """AFFT's SA-Fuser without token: per frame, self-attention over m_1..m_M; mean of the outputs.

    As ``afft_sa`` without the learned token (official ``CMFuser``): the fused vector is
    the mean over modalities of the final LayerNorm's outputs; the R3D fuser derives from
    it. Same options and defaults (AFFT's ``SA-Fuser_wo_token.yaml``: depth 6, 4 heads, all
    dropout rates 0.1); ``cross_modal_mask`` makes each modality attend only to the others
    (with one modality, which has no other, it attends to itself rather than to nothing,
    where the official mask would give NaN).
    """

    use_token = False
    registered_name = "afft_sa_notoken"


# --------------------------------------------------------------------------- temporal fusers


@register_fusion("afft_tsa")
class AFFTTSAFuser(Fuser):
    """AFFT's T-SA-Fuser: causal joint attention over the T·M tokens of a causal band of frames; per-frame mean.

    Each modality token of frame t (plus a frame position embedding and, by default, a
    learned modality embedding) attends to every valid modality token of frames ``<= t``
    (``window=w``: of frames ``t-w+1 .. t``), the other modalities of frame t included,
    through ``depth`` pre-norm blocks; after a final LayerNorm the fused vector of frame t is
    the mean of its M tokens (official ``TemporalCMFuser`` without ``frame_level_token``).

    Options: ``depth`` 6, ``heads`` 4, ``mlp_ratio`` 4, ``qkv_bias`` False, ``dropout`` 0.1,
    ``embed_dropout`` 0.1, ``drop_path`` 0.1 (per sample), ``modality_embeddings`` True (all
    as AFFT's ``T-SA-Fuser.yaml``); ``attn_dropout`` 0.0 (AFFT: 0.1; here T·M reaches 1024 tokens
    and attention-weight dropout costs more than the attention itself on CPU);
    ``position_embedding`` "sinusoidal" (fixed, any T) or "learned" (AFFT's, a table of
    ``max_positions`` = 512 entries, which must cover the longest video); ``window`` 512: the
    causal band of frames each frame attends to, computed in blocks (linear in T).
    """

    def __init__(
        self,
        modalities: Sequence[str],
        dim: int,
        depth: int = 6,
        heads: int = 4,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = False,
        dropout: float = 0.1,
        attn_dropout: float = 0.0,
        embed_dropout: float = 0.1,
        drop_path: float = 0.1,
        modality_embeddings: bool = True,
        position_embedding: str = "sinusoidal",
        max_positions: int = 512,
        window: int | None = 512,
    ) -> None:
        super().__init__(modalities, dim)
        _check("afft_tsa", dim, heads, depth, window, position_embedding, max_positions)
        self.window = window
        self.positions = _Positions("afft_tsa", dim, position_embedding, max_positions)
        self.modality_embedding = (
            nn.Parameter(torch.zeros(len(self.modalities), dim)) if modality_embeddings else None
        )
        self.embed_drop = nn.Dropout(embed_dropout)
        rates = torch.linspace(0, drop_path, depth).tolist() if depth else []
        self.blocks = nn.ModuleList(
            Block(dim, heads, mlp_ratio, qkv_bias, dropout, attn_dropout, rate) for rate in rates
        )
        self.norm = nn.LayerNorm(dim, eps=_EPS)
        self.apply(_init_weights)
        if self.modality_embedding is not None:
            nn.init.trunc_normal_(self.modality_embedding, std=0.02)

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> FusionOutput:
        embeddings, x = _stack(feats, self.modalities)  # [B, T, M, D]
        x = torch.where(mask[:, :, None, None], x, 0.0)  # padded inputs (even NaN) never enter a product
        x = x + self.positions(x.shape[1], x)[:, None]
        if self.modality_embedding is not None:
            x = x + self.modality_embedding
        x = self.embed_drop(x)

        def attend(q: Tensor, k: Tensor, v: Tensor, dropout_p: float) -> Tensor:
            return causal_attention(q, k, v, dropout_p, mask, self.window)

        for block in self.blocks:
            x = block(x, attend)
        return FusionOutput(tokens=self.norm(x).mean(dim=2), embeddings=embeddings)


@register_fusion("afft_ca")
class AFFTCAFuser(Fuser):
    """AFFT's CA-Fuser: the first modality queries, M-1 causal decoder blocks cross-attend to the others.

    The first modality in config order (AFFT: RGB) plus a frame position embedding is the
    query stream; block i (i = 1 .. M-1) runs causal self-attention over it, causal
    cross-attention to modality i+1 (also position-embedded; query frame t sees frames
    ``<= t``, or ``t-w+1 .. t`` with ``window=w``), and an MLP; a final LayerNorm gives the
    fused tokens (official ``TemporalCrossAttentFuser``: depth is M-1 by construction, so
    modality order matters and one modality is refused).

    Options: ``heads`` 4, ``mlp_ratio`` 4, ``qkv_bias`` False, ``dropout`` 0.1,
    ``embed_dropout`` 0.1, ``drop_path`` 0.1 (as AFFT's ``CA-Fuser.yaml``); ``attn_dropout``
    0.0 (AFFT: 0.1; costly on CPU over 512-frame bands); ``position_embedding``
    "sinusoidal" or "learned" (AFFT's; ``max_positions`` entries, 512 here, AFFT 128);
    ``window`` 512: the causal band of frames each frame attends to (linear in T).
    """

    min_modalities = 2

    def __init__(
        self,
        modalities: Sequence[str],
        dim: int,
        heads: int = 4,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = False,
        dropout: float = 0.1,
        attn_dropout: float = 0.0,
        embed_dropout: float = 0.1,
        drop_path: float = 0.1,
        position_embedding: str = "sinusoidal",
        max_positions: int = 512,
        window: int | None = 512,
    ) -> None:
        if len(list(modalities)) < 2:
            raise ConfigError(
                f"fusion 'afft_ca' needs at least 2 modalities (the first is the query, each other one is "
                f"cross-attended by one decoder block), got {list(modalities)}; use another fuser for one modality"
            )
        super().__init__(modalities, dim)
        _check("afft_ca", dim, heads, None, window, position_embedding, max_positions)
        self.window = window
        self.positions = _Positions("afft_ca", dim, position_embedding, max_positions)
        self.embed_drop = nn.Dropout(embed_dropout)
        depth = len(self.modalities) - 1
        rates = torch.linspace(0, drop_path, depth).tolist()
        self.blocks = nn.ModuleList(
            DecoderBlock(dim, heads, mlp_ratio, qkv_bias, dropout, attn_dropout, rate) for rate in rates
        )
        self.norm = nn.LayerNorm(dim, eps=_EPS)
        self.apply(_init_weights)

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> FusionOutput:
        embeddings, x = _stack(feats, self.modalities)  # [B, T, M, D]
        x = torch.where(mask[:, :, None, None], x, 0.0)
        x = self.embed_drop(x + self.positions(x.shape[1], x)[:, None])
        streams = x.unbind(dim=2)
        query = streams[0].unsqueeze(2)  # [B, T, 1, D]: one token per frame

        def attend(q: Tensor, k: Tensor, v: Tensor, dropout_p: float) -> Tensor:
            return causal_attention(q, k, v, dropout_p, mask, self.window)

        for block, mem in zip(self.blocks, streams[1:]):
            query = block(query, mem.unsqueeze(2), attend)
        return FusionOutput(tokens=self.norm(query.squeeze(2)), embeddings=embeddings)
