"""The attention parts every attention model in mmfuse is built from.

- Masks: :func:`guard` (a query with no allowed key attends to all, so it stays finite),
  :func:`others` (each token attends to every other token but itself), :func:`band_attention`
  (attention over a band of frames, computed in blocks so its cost is linear in T).
- ``attend`` functions (:data:`Attend`): what a query may see. :func:`dense` (every key, or those
  a boolean mask allows) and :func:`banded` (a band of frames of a ``[B, T, M, dim]`` grid).
- :class:`Attention`: multi-head attention over a token grid ``[N, *tokens, dim]``, self or cross,
  with keys and values from different inputs where positions go on keys only (DETR).
- :class:`Block`: the encoder block (self-attention, MLP), its LayerNorm before (``pre``), after
  (``post``) or as R3D's paper places it (``paper``); AFFT's fusers, R3D's fusion block and
  Temporal Fuser use it.
- :class:`DecoderBlock`: self-attention, cross-attention to a memory, MLP, pre- or post-norm;
  AFFT's CA-Fuser and the FUTR/DETR anticipation decoder use it.

The MLP and stochastic depth are timm's (``timm.layers.Mlp``, ``DropPath``), imported when the
first block is built: importing timm costs over a second, which listing plugins need not pay.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import skip_init

# attend(q, k, v, dropout_p) -> out; q [N, H, *tokens_q, d], k/v [N, H, *tokens_k, d].
Attend = Callable[[Tensor, Tensor, Tensor, float], Tensor]

NORMS = ("pre", "paper", "post")

_BLOCK = 128  # query frames per block of the banded computation


def guard(allowed: Tensor) -> Tensor:
    """Let a query row with no allowed key attend to every key, so it stays finite.

    Such a row only ever belongs to a padded query (a valid query may always attend
    to its own frame), and no valid query attends to a padded one, so the choice
    never reaches a valid output.
    """
    return allowed | ~allowed.any(dim=-1, keepdim=True)


def band_attention(
    q: Tensor, k: Tensor, v: Tensor, valid: Tensor, before: int | None, after: int | None, dropout_p: float = 0.0
) -> Tensor:
    """Attention where the query at frame t sees the valid keys of frames ``t - before .. t + after``.

    ``q`` is ``[B, H, T, Mq, d]`` (``Mq`` tokens per frame), ``k``/``v`` ``[B, H, T, Mk, d]``,
    ``valid`` ``bool[B, T]``; ``None`` leaves that side unbounded. Every query token of a frame
    sees every key token of the frames in its band. When both sides are bounded and the band
    is shorter than T, queries are cut into blocks of 128 frames, each attending to its own
    frames plus ``before`` frames in front and ``after`` behind, so memory is
    ``O(T * (128 + before + after))``. Blocks start at frame 0 and masked keys contribute
    nothing, so a frame's output does not depend on how much padding follows it.
    """
    b, h, t, mq, d = q.shape
    mk = k.shape[3]
    if before is None or after is None or (before >= t - 1 and after >= t - 1):
        times = torch.arange(t, device=q.device)
        rel = times[:, None] - times[None, :]  # query time - key time
        band = torch.ones(t, t, dtype=torch.bool, device=q.device)
        if before is not None:
            band &= rel <= before
        if after is not None:
            band &= rel >= -after
        allowed = guard(band[None] & valid[:, None, :])  # [B, Tq, Tk]
        mask = allowed[:, :, None, :, None].expand(b, t, mq, t, mk).reshape(b, 1, t * mq, t * mk)
        out = F.scaled_dot_product_attention(
            q.reshape(b, h, t * mq, d), k.reshape(b, h, t * mk, d), v.reshape(b, h, t * mk, d),
            attn_mask=mask, dropout_p=dropout_p,
        )
        return out.view(b, h, t, mq, d)

    block = max(1, min(_BLOCK, before + after + 1))
    n = -(-t // block)
    span = block + before + after  # key frames of one block: its own, ``before`` in front, ``after`` behind
    tail = n * block - t

    def key_blocks(x: Tensor) -> Tensor:  # [B, H, T, Mk, d] -> [B * n, H, span * Mk, d]
        padded = F.pad(x, (0, 0, 0, 0, before, tail + after))
        blocks = padded.unfold(2, span, block).permute(0, 2, 1, 5, 3, 4)  # [B, n, H, span, Mk, d]
        return blocks.reshape(b * n, h, span * mk, d)

    queries = F.pad(q, (0, 0, 0, 0, 0, tail)).unflatten(2, (n, block)).transpose(1, 2)
    queries = queries.reshape(b * n, h, block * mq, d)
    key_valid = F.pad(valid, (before, tail + after), value=False).unfold(1, span, block)  # [B, n, span]
    i = torch.arange(block, device=q.device)[:, None]  # query offset in its block
    j = torch.arange(span, device=q.device)[None, :]  # key offset from the block start - before
    band = (j >= i) & (j <= i + before + after)
    allowed = guard(band[None, None] & key_valid[:, :, None, :])  # [B, n, block, span]
    mask = allowed[:, :, :, None, :, None].expand(b, n, block, mq, span, mk).reshape(b * n, 1, block * mq, span * mk)
    out = F.scaled_dot_product_attention(queries, key_blocks(k), key_blocks(v), attn_mask=mask, dropout_p=dropout_p)
    out = out.view(b, n, h, block, mq, d).transpose(1, 2).reshape(b, h, n * block, mq, d)
    return out[:, :, :t]


def others(count: int, device: torch.device | None = None) -> Tensor:
    """``bool[count, count]``: each token attends to every other token but not to itself.

    A single token, which has no other, attends to itself instead of to nothing (NaN).
    """
    return guard(~torch.eye(count, dtype=torch.bool, device=device))


def dense(mask: Tensor | None = None) -> Attend:
    """Every query attends to every key that ``mask`` allows (True = may attend, broadcast to
    ``[N, H, L_q, L_k]``; None: all), over token grids flattened to one axis (``[N, H, L, d]``)."""

    def attend(q: Tensor, k: Tensor, v: Tensor, dropout_p: float) -> Tensor:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)

    return attend


def banded(valid: Tensor, before: int | None, after: int | None) -> Attend:
    """:func:`band_attention` over a grid ``[B, T, M, dim]`` of M tokens per frame: the tokens of
    frame t attend to the valid tokens of frames ``t - before .. t + after`` (None: unbounded)."""

    def attend(q: Tensor, k: Tensor, v: Tensor, dropout_p: float) -> Tensor:
        return band_attention(q, k, v, valid, before, after, dropout_p)

    return attend


class Attention(nn.Module):
    """Multi-head attention over token grids ``[N, *tokens, dim]``, self or cross.

    ``forward(x, attend, key=None, value=None)``: queries from ``x``, keys from ``key`` and values
    from ``value`` (each defaults to the one before it: ``x`` alone is self-attention, ``key`` alone
    cross-attention to it, both for DETR's positions on keys only). One ``qkv`` Linear holds the
    three projections (stacked q, k, v rows, as ``nn.MultiheadAttention``'s ``in_proj``), then
    heads are split, ``attend`` computes the attention (its grid layout and mask are its business;
    ``attn_dropout`` on the weights in training), heads are merged, projected (``proj``) and
    ``proj_dropout`` applied.

    ``init="multihead"`` initialises as ``nn.MultiheadAttention`` does, drawing the same random
    numbers in the same order (the output Linear's default init, then Xavier-uniform over the whole
    ``3·dim × dim`` in-projection; zero in-projection and output biases), so a model that moves
    off it keeps its weights under a seed; ``"linear"`` leaves ``nn.Linear``'s init.
    """

    def __init__(self, dim: int, heads: int, qkv_bias: bool = False, attn_dropout: float = 0.0,
                 proj_dropout: float = 0.0, init: str = "linear") -> None:
        super().__init__()
        if init not in ("linear", "multihead"):
            raise ValueError(f"init must be 'linear' or 'multihead', got {init!r}")
        self.heads = heads
        self.attn_dropout = attn_dropout
        if init == "multihead":
            self.qkv = skip_init(nn.Linear, dim, 3 * dim, bias=qkv_bias)
            self.proj = nn.Linear(dim, dim)
            nn.init.xavier_uniform_(self.qkv.weight)
            if self.qkv.bias is not None:
                nn.init.zeros_(self.qkv.bias)
            nn.init.zeros_(self.proj.bias)
        else:
            self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
            self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_dropout)

    def _split(self, x: Tensor) -> Tensor:  # [N, *S, H*d] -> [N, H, *S, d]
        return x.unflatten(-1, (self.heads, -1)).movedim(-2, 1)

    def _project(self, x: Tensor, first: int, count: int) -> Tensor:
        """``x`` through ``count`` of the three stacked projections, from number ``first`` (0 q, 1 k, 2 v)."""
        rows = slice(first * x.shape[-1], (first + count) * x.shape[-1])
        bias = None if self.qkv.bias is None else self.qkv.bias[rows]
        return F.linear(x, self.qkv.weight[rows], bias)

    def forward(self, x: Tensor, attend: Attend, key: Tensor | None = None, value: Tensor | None = None) -> Tensor:
        if key is None and value is None:
            q, k, v = self.qkv(x).chunk(3, dim=-1)
        else:
            key = x if key is None else key
            q = self._project(x, 0, 1)
            if value is None or value is key:
                k, v = self._project(key, 1, 2).chunk(2, dim=-1)
            else:
                k, v = self._project(key, 1, 1), self._project(value, 2, 1)
        out = attend(self._split(q), self._split(k), self._split(v), self.attn_dropout if self.training else 0.0)
        return self.proj_drop(self.proj(out.movedim(1, -2).flatten(-2)))


def _mlp(dim: int, mlp_ratio: float, hidden_dropout: float, dropout: float) -> nn.Module:
    """timm's ``Mlp``: Linear, GELU, Dropout(hidden_dropout), Linear, Dropout(dropout)."""
    from timm.layers import Mlp

    return Mlp(dim, int(dim * mlp_ratio), act_layer=nn.GELU, drop=(hidden_dropout, dropout))


def _drop_path(p: float) -> nn.Module:
    """timm's ``DropPath`` (stochastic depth: a residual branch dropped per sample), or nothing at 0."""
    from timm.layers import DropPath

    return DropPath(p) if p > 0 else nn.Identity()


class Block(nn.Module):
    """Encoder block: multi-head self-attention ``A`` and an MLP ``F`` (GELU, ``mlp_ratio`` wide), residual.

    ``norm`` places the LayerNorms (``eps``):

    - ``"pre"`` (timm, AFFT, our default): ``x = x + A(LN₁(x))``, then ``x + F(LN₂(x))``;
    - ``"paper"`` (R3D App. C, Eq. 53-54): ``x = LN₁(x)``, ``z = x + A(x)``, then ``LN₂(z + F(z))``;
    - ``"post"`` (the official R3D code): ``z = LN₁(x + A(x))``, then ``LN₂(z + F(z))``.

    ``dropout`` follows the attention projection and the MLP, ``attn_dropout`` acts on the
    attention weights, ``drop_path`` drops each residual branch per sample (dim 0).
    ``forward(x [N, *tokens, dim], attend)``; ``attend`` says which token sees which.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = False, dropout: float = 0.0,
                 attn_dropout: float = 0.0, drop_path: float = 0.0, norm: str = "pre", eps: float = 1e-5) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        self.placement = norm
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads, qkv_bias, attn_dropout, dropout)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = _mlp(dim, mlp_ratio, 0.0, dropout)
        self.drop_path = _drop_path(drop_path)

    def forward(self, x: Tensor, attend: Attend) -> Tensor:
        if self.placement == "pre":
            x = x + self.drop_path(self.attn(self.norm1(x), attend))
            return x + self.drop_path(self.mlp(self.norm2(x)))
        if self.placement == "paper":
            x = self.norm1(x)
            z = x + self.drop_path(self.attn(x, attend))
        else:
            z = self.norm1(x + self.drop_path(self.attn(x, attend)))
        return self.norm2(z + self.drop_path(self.mlp(z)))


class DecoderBlock(nn.Module):
    """Decoder block: self-attention ``A``, cross-attention ``C`` to a memory, MLP ``F``, each residual.

    - ``norm="pre"`` (AFFT's ``DecoderBlock``, pre-norm DETR): ``x = x + A(LN₁(x))``,
      ``x = x + C(LN₂(x), memory)``, then ``x + F(LN₃(x))``;
    - ``"post"`` (DETR, FUTR and the official R3D code): ``x = LN₁(x + A(x))``,
      ``x = LN₂(x + C(x, memory))``, then ``LN₃(x + F(x))``.

    ``forward(x, memory, attend, memory_attend=None, pos=None, memory_pos=None)``: as in DETR,
    ``pos`` is added to the queries and keys of the self-attention and to the queries of the
    cross-attention, ``memory_pos`` to the memory's keys, never to values. ``norm_memory`` puts a
    LayerNorm on the memory before the cross-attention (AFFT). ``memory_attend`` (default
    ``attend``) says which memory token each query sees. ``dropout`` follows each attention
    projection and the MLP, ``mlp_dropout`` its hidden layer (FUTR), ``attn_dropout`` acts on the
    attention weights, ``drop_path`` on every residual branch. ``attention_init`` is
    :class:`Attention`'s ``init`` of both attentions.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = False, dropout: float = 0.0,
                 attn_dropout: float = 0.0, mlp_dropout: float = 0.0, drop_path: float = 0.0, norm: str = "pre",
                 eps: float = 1e-5, norm_memory: bool = False, attention_init: str = "linear") -> None:
        super().__init__()
        if norm not in ("pre", "post"):
            raise ValueError(f"norm must be 'pre' or 'post', got {norm!r}")
        self.placement = norm
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads, qkv_bias, attn_dropout, dropout, attention_init)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.norm_memory = nn.LayerNorm(dim, eps=eps) if norm_memory else None
        self.cross_attn = Attention(dim, heads, qkv_bias, attn_dropout, dropout, attention_init)
        self.norm3 = nn.LayerNorm(dim, eps=eps)
        self.mlp = _mlp(dim, mlp_ratio, mlp_dropout, dropout)
        self.drop_path = _drop_path(drop_path)

    def _self_attention(self, x: Tensor, attend: Attend, pos: Tensor | None) -> Tensor:
        if pos is None:
            return self.attn(x, attend)
        query = x + pos
        return self.attn(query, attend, key=query, value=x)

    def forward(self, x: Tensor, memory: Tensor, attend: Attend, memory_attend: Attend | None = None,
                pos: Tensor | None = None, memory_pos: Tensor | None = None) -> Tensor:
        if self.norm_memory is not None:
            memory = self.norm_memory(memory)
        keys = memory if memory_pos is None else memory + memory_pos
        memory_attend = attend if memory_attend is None else memory_attend

        def cross(y: Tensor) -> Tensor:
            return self.drop_path(self.cross_attn(y if pos is None else y + pos, memory_attend, keys, memory))

        if self.placement == "pre":
            x = x + self.drop_path(self._self_attention(self.norm1(x), attend, pos))
            x = x + cross(self.norm2(x))
            return x + self.drop_path(self.mlp(self.norm3(x)))
        x = self.norm1(x + self.drop_path(self._self_attention(x, attend, pos)))
        x = self.norm2(x + cross(x))
        return self.norm3(x + self.drop_path(self.mlp(x)))
