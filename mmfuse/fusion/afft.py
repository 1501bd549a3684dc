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
all dropout rates 0.1, modality embeddings off for SA and on for T-SA). The blocks are the shared
:class:`~mmfuse.models.attention.Block` and :class:`~mmfuse.models.attention.DecoderBlock` (pre-norm,
the CA-Fuser's with a LayerNorm on the attended modality), with timm's MLP and stochastic depth as
in the official code; the four fusers share one constructor for the options of their blocks
(:class:`_AFFTFuser`), the temporal two another for positions and the causal window.

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

import inspect
from typing import Any, Mapping, Sequence

import torch
from torch import Tensor, nn

from mmfuse.errors import ConfigError
from mmfuse.fusion.base import FusionOutput, Fuser
from mmfuse.models.attention import Attend, Block, DecoderBlock, banded, dense, others
from mmfuse.models.positions import KINDS, Positions
from mmfuse.registry import register_fusion

_EPS = 1e-6  # LayerNorm eps of the official code


def _init_weights(module: nn.Module) -> None:
    """The official (timm ViT) init: truncated normal(0.02) Linear weights, zero biases."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def _check(name: str, dim: int, heads: int | None = None, depth: int | None = None, window: int | None = None,
           position_embedding: str | None = None, max_positions: int | None = None) -> None:
    if heads is not None and (heads < 1 or dim % heads):
        raise ConfigError(f"fusion {name!r}: dim={dim} is not divisible by heads={heads}")
    if depth is not None and depth < 0:
        raise ConfigError(f"fusion {name!r}: depth must be >= 0, got {depth}")
    if window is not None and window < 1:
        raise ConfigError(f"fusion {name!r}: window must be a positive number of frames or null, got {window}")
    if position_embedding is not None and position_embedding not in KINDS:
        raise ConfigError(
            f"fusion {name!r}: position_embedding must be 'sinusoidal' or 'learned', got {position_embedding!r}"
        )
    if position_embedding == "learned" and (max_positions is None or max_positions < 1):
        raise ConfigError(f"fusion {name!r}: max_positions must be >= 1, got {max_positions}")


def _stack(feats: Mapping[str, Tensor], modalities: Sequence[str]) -> tuple[dict[str, Tensor], Tensor]:
    embeddings = {m: feats[m] for m in modalities}
    return embeddings, torch.stack([embeddings[m] for m in modalities], dim=2)  # [B, T, M, D]


def _signature(cls: type) -> inspect.Signature:
    """The options of ``cls``: those named by the ``__init__`` of each class from :class:`_AFFTFuser`
    down to ``cls``, in that order, a subclass's default replacing its base's."""
    parameters: dict[str, inspect.Parameter] = {}
    for klass in reversed(cls.__mro__[: cls.__mro__.index(_AFFTFuser) + 1]):
        if "__init__" in vars(klass):
            for parameter in list(inspect.signature(klass.__init__).parameters.values())[1:]:
                if parameter.kind is not inspect.Parameter.VAR_KEYWORD:
                    parameters[parameter.name] = parameter
    return inspect.Signature(sorted(parameters.values(), key=lambda parameter: parameter.kind))


class _AFFTFuser(Fuser):
    """What the four AFFT fusers share: the options of their blocks, the embedding dropout, the
    stack of blocks with its final LayerNorm, and the official init.

    A subclass's ``__init__`` names its own options (and any default it changes) and passes the
    rest on. Its signature, against which the registry checks options and whose defaults the
    configs list, is assembled from every ``__init__`` up to this one, so each option is written once.
    """

    registered_name: str = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__signature__ = _signature(cls)

    def __init__(
        self,
        modalities: Sequence[str],
        dim: int,
        *,
        heads: int = 4,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = False,
        dropout: float = 0.1,
        attn_dropout: float = 0.1,
        embed_dropout: float = 0.1,
        drop_path: float = 0.1,
    ) -> None:
        super().__init__(modalities, dim)
        _check(self.registered_name, dim, heads)
        self.block_options = dict(
            heads=heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, dropout=dropout, attn_dropout=attn_dropout, eps=_EPS
        )
        self.drop_path_rate = drop_path
        self.embed_drop = nn.Dropout(embed_dropout)

    def _build(self, block: type[Block] | type[DecoderBlock], depth: int, **options: Any) -> None:
        """``depth`` blocks, stochastic depth rising linearly from 0 to ``drop_path``, a final
        LayerNorm; then the official init of every Linear."""
        rates = torch.linspace(0, self.drop_path_rate, depth).tolist() if depth else []
        self.blocks = nn.ModuleList(
            block(self.dim, drop_path=rate, **self.block_options, **options) for rate in rates
        )
        self.norm = nn.LayerNorm(self.dim, eps=_EPS)
        self.apply(_init_weights)


# --------------------------------------------------------------------------- per-frame fusers


class _FrameSelfAttention(_AFFTFuser):
    """Shared body of ``afft_sa`` and ``afft_sa_notoken``: per-frame attention over modality tokens."""

    use_token: bool = True

    def __init__(
        self,
        modalities: Sequence[str],
        dim: int,
        *,
        depth: int = 6,
        modality_embeddings: bool = False,
        cross_modal_mask: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(modalities, dim, **options)
        _check(self.registered_name, dim, depth=depth)
        self.cross_modal_mask = cross_modal_mask
        n_tokens = len(self.modalities) + int(self.use_token)
        self.token = nn.Parameter(torch.zeros(1, 1, dim)) if self.use_token else None
        self.modality_embedding = nn.Parameter(torch.zeros(1, n_tokens, dim)) if modality_embeddings else None
        self._build(Block, depth)
        for p in (self.token, self.modality_embedding):
            if p is not None:
                nn.init.trunc_normal_(p, std=0.02)

    def encode(self, x: Tensor) -> Tensor:
        """``[N, M, D]`` modality tokens of N frames -> ``[N, M (+1), D]`` normalised block outputs."""
        if self.token is not None:
            x = torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=1)
        if self.modality_embedding is not None:
            x = x + self.modality_embedding
        x = self.embed_drop(x)
        # the official eye mask: no token attends to itself
        attend = dense(others(x.shape[1], x.device) if self.cross_modal_mask else None)
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


class _TemporalFuser(_AFFTFuser):
    """Shared by ``afft_tsa`` and ``afft_ca``: frame positions and the causal band of frames."""

    def __init__(
        self,
        modalities: Sequence[str],
        dim: int,
        *,
        attn_dropout: float = 0.0,
        position_embedding: str = "sinusoidal",
        max_positions: int = 512,
        window: int | None = 512,
        **options: Any,
    ) -> None:
        super().__init__(modalities, dim, attn_dropout=attn_dropout, **options)
        name = self.registered_name
        _check(name, dim, window=window, position_embedding=position_embedding, max_positions=max_positions)
        self.window = window
        self.max_positions = max_positions
        self.positions = Positions(dim, position_embedding, max_positions)
        if self.positions.table is not None:  # AFFT's init of its learned table
            nn.init.trunc_normal_(self.positions.table, std=0.02)

    def _inputs(self, feats: Mapping[str, Tensor], mask: Tensor) -> tuple[dict[str, Tensor], Tensor]:
        """The embeddings and the stacked streams ``[B, T, M, D]`` plus frame positions, zero at padded frames."""
        embeddings, x = _stack(feats, self.modalities)
        x = torch.where(mask[:, :, None, None], x, 0.0)  # padded inputs (even NaN) never enter a product
        t = x.shape[1]
        if self.positions.table is not None and t > self.max_positions:
            raise ConfigError(
                f"fusion {self.registered_name!r}: an input of {t} steps exceeds max_positions={self.max_positions}; "
                f"raise max_positions to at least the longest video, or use position_embedding=sinusoidal"
            )
        return embeddings, x + self.positions(t, x)[:, None]

    def _causal(self, mask: Tensor) -> Attend:
        """Frame t sees the valid frames ``<= t`` (``t-window+1 .. t``), every token of each."""
        return banded(mask, None if self.window is None else self.window - 1, 0)


@register_fusion("afft_tsa")
class AFFTTSAFuser(_TemporalFuser):
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

    registered_name = "afft_tsa"

    def __init__(
        self, modalities: Sequence[str], dim: int, *, depth: int = 6, modality_embeddings: bool = True, **options: Any
    ) -> None:
        super().__init__(modalities, dim, **options)
        _check(self.registered_name, dim, depth=depth)
        self.modality_embedding = (
            nn.Parameter(torch.zeros(len(self.modalities), dim)) if modality_embeddings else None
        )
        self._build(Block, depth)
        if self.modality_embedding is not None:
            nn.init.trunc_normal_(self.modality_embedding, std=0.02)

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> FusionOutput:
        embeddings, x = self._inputs(feats, mask)  # [B, T, M, D]
        if self.modality_embedding is not None:
            x = x + self.modality_embedding
        x = self.embed_drop(x)
        attend = self._causal(mask)
        for block in self.blocks:
            x = block(x, attend)
        return FusionOutput(tokens=self.norm(x).mean(dim=2), embeddings=embeddings)


@register_fusion("afft_ca")
class AFFTCAFuser(_TemporalFuser):
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

    registered_name = "afft_ca"
    min_modalities = 2

    def __init__(self, modalities: Sequence[str], dim: int, **options: Any) -> None:
        if len(list(modalities)) < 2:
            raise ConfigError(
                f"fusion 'afft_ca' needs at least 2 modalities (the first is the query, each other one is "
                f"cross-attended by one decoder block), got {list(modalities)}; use another fuser for one modality"
            )
        super().__init__(modalities, dim, **options)
        self._build(DecoderBlock, len(self.modalities) - 1, norm_memory=True)

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> FusionOutput:
        embeddings, x = self._inputs(feats, mask)  # [B, T, M, D]
        streams = self.embed_drop(x).unbind(dim=2)
        query = streams[0].unsqueeze(2)  # [B, T, 1, D]: one token per frame
        attend = self._causal(mask)
        for block, memory in zip(self.blocks, streams[1:]):
            query = block(query, memory.unsqueeze(2), attend)
        return FusionOutput(tokens=self.norm(query.squeeze(2)), embeddings=embeddings)
