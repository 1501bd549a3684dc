"""``rtf``: R3D's Rank-enhancing Token Fuser (Kim et al., WACV 2026, arXiv 2511.06450).

Per modality, every channel gets an informativeness score; the ``k'`` least informative
channels are blended with the same channels of the other modality,
``x'_c = α_c x_c + (1 − α_c) y_c``, in both directions, and the blended streams are
combined. The paper and the official code (olivesgatech/R3D, ``model/futr_safuser_*.py``)
differ; both are offered and documented side by side in :class:`RankEnhancingTokenFuser`.

The channel scorers are also plain functions (:func:`svd_informativeness`,
:func:`topk_svd_informativeness`, :func:`activation_magnitude`), so their math lives once.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmfuse.errors import ConfigError
from mmfuse.fusion.base import FusionOutput, Fuser
from mmfuse.models.attention import Block, dense, others
from mmfuse.registry import register_fusion

MODES = ("adaptive", "static")
SCORERS = ("svd", "topk_svd", "activation", "bn_gamma", "grad")
COMBINES = ("stack", "attention")
PRESETS = ("official",)

# Defaults of the options a preset may set; an option left at None takes the preset's
# value when a preset is chosen, otherwise the paper's default below.
PAPER_DEFAULTS = dict(
    ratio=0.1, mode="adaptive", scorer="svd", combine="stack", shared_alpha=False, clamp_alpha=True, dropout=0.0
)
# The official code's UTKinect configuration (``futr_safuser_batchnormalization.py``).
PRESET_VALUES = {
    "official": dict(
        ratio=0.1,
        mode="adaptive",
        scorer="bn_gamma",
        combine="attention",
        shared_alpha=True,
        clamp_alpha=False,
        dropout=0.1,
    )
}


def _token_matrix(x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """``x [B, T, D]`` as ``[N, D]`` and the 0/1 weight ``[N]`` of its valid tokens."""
    flat = x.reshape(-1, x.shape[-1])
    if mask is None:
        weight = flat.new_ones(flat.shape[0])
    else:
        weight = mask.reshape(-1).to(flat.dtype)
    return flat, weight


def svd_informativeness(x: Tensor, mask: Tensor | None = None) -> Tensor:
    """R3D Def. 1 with every singular value: ``I_c = Σ_i σ_i² v_{i,c}²`` of the valid tokens.

    With ``X = U Σ Vᵀ`` over all ``r`` singular values, ``Σ_i σ_i² v_{i,c}² = (V Σ² Vᵀ)_cc =
    (XᵀX)_cc``: the squared norm of column ``c``. No SVD is computed. ``x [B, T, D]`` or
    ``[N, D]``; ``mask [B, T]`` (True = valid), padded tokens are excluded. Returns ``[D]``.
    """
    flat, weight = _token_matrix(x, mask)
    return weight @ flat.square()


def topk_svd_informativeness(x: Tensor, mask: Tensor | None, top_k: int) -> Tensor:
    """``I_c = Σ_{i ≤ k} σ_i² v_{i,c}²`` over the ``top_k`` largest singular values only.

    Computed from the ``D × D`` Gram matrix ``XᵀX = V Σ² Vᵀ`` of the valid tokens (its
    eigenvalues are ``σ_i²``, its eigenvectors the right singular vectors), in float64.
    """
    flat, weight = _token_matrix(x, mask)
    gram = (flat * weight[:, None]).T @ flat
    eigenvalues, eigenvectors = torch.linalg.eigh(gram.double())  # ascending
    top_values = eigenvalues[-top_k:].clamp_min(0)
    top_vectors = eigenvectors[:, -top_k:]
    return (top_vectors.square() @ top_values).to(x.dtype)


def activation_magnitude(x: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean ``|x_c|`` over the valid tokens (the official code's activation score). ``[D]``."""
    flat, weight = _token_matrix(x, mask)
    return (weight @ flat.abs()) / weight.sum().clamp_min(1)


class _MaskedBatchNorm(nn.Module):
    """One BatchNorm per stream whose batch statistics cover valid tokens only.

    Like ``nn.BatchNorm1d`` (affine, biased variance to normalise, unbiased variance in the
    running estimate, ``momentum`` as in PyTorch), except that padded tokens never enter the
    statistics, so they cannot change a valid output. ``weight`` is γ, ``[S, D]``.
    """

    def __init__(self, streams: int, dim: int, momentum: float, track_running_stats: bool, eps: float = 1e-5):
        super().__init__()
        self.momentum = momentum
        self.eps = eps
        self.track_running_stats = track_running_stats
        self.weight = nn.Parameter(torch.ones(streams, dim))
        self.bias = nn.Parameter(torch.zeros(streams, dim))
        self.register_buffer("running_mean", torch.zeros(streams, dim))
        self.register_buffer("running_var", torch.ones(streams, dim))

    def forward(self, xs: list[Tensor], mask: Tensor) -> list[Tensor]:
        out = []
        for s, x in enumerate(xs):
            if self.training or not self.track_running_stats:
                flat, weight = _token_matrix(x, mask)
                count = weight.sum().clamp_min(1)
                mean = (weight @ flat) / count
                var = (weight @ (flat - mean).square()) / count
                if self.training and self.track_running_stats:
                    with torch.no_grad():
                        unbiased = var * count / (count - 1).clamp_min(1)
                        self.running_mean[s].lerp_(mean.detach(), self.momentum)
                        self.running_var[s].lerp_(unbiased.detach(), self.momentum)
            else:
                mean, var = self.running_mean[s], self.running_var[s]
            out.append((x - mean) * torch.rsqrt(var + self.eps) * self.weight[s] + self.bias[s])
        return out


@register_fusion("rtf")
class RankEnhancingTokenFuser(Fuser):
    """R3D's Rank-enhancing Token Fuser: blend each modality's least informative channels with the others'.

    **What it does.** Per modality ``m`` the stream ``x_m [B, T, D]`` gets a score ``s_c``
    per channel; the ``k' = max(1, floor(ratio·D))`` lowest-scoring channels (ties broken
    by the lower channel index, a stable sort; ``floor`` as the official ``int(C * ratio)``)
    are blended with the same channels of the other modality ``y``:
    ``x'_c = α_c x_c + (1 − α_c) y_c``, in both directions, one ``α`` per channel and
    direction (``[M, D]``), learnable, initialised U(0, 1) (``mode="adaptive"``), or a hard
    swap ``x'_c = y_c`` without parameters (``mode="static"``; the official static variant,
    ``futr_safuser_tokenfusion.py``, swaps ``C // 4`` channels — ``ratio=0.25`` here).
    With more than two modalities (not in the paper), ``y`` is the mean of the *other*
    modalities' streams. The streams are then combined:

    - ``combine="stack"`` (paper): channel stacking + ``Linear(M·D → D)``, the projection
      ``concat`` uses. The blend is linear per channel, so it is folded into the Linear's
      weight (``W'_n = W_n diag(1−β_n) + Σ_{m≠n} W_m diag(β_m) / (M−1)``, ``β = 1−α`` on
      the selected channels, 0 elsewhere): a ``D × M·D`` operation per step instead of a
      ``B·T × D`` one, with the same output as the plain blend (:meth:`streams`, tested).
    - ``combine="attention"`` (official code): the M blended tokens of each frame go
      through one pre-LayerNorm self-attention block in which each modality attends only
      to the others (+ MLP), a LayerNorm and a mean over modalities. No output Linear
      (as in the official code), so its parameter count differs from ``concat``'s.
      ``dropout`` (official 0.1) is applied to the stacked tokens first; unused by ``stack``.

    **Scorers** (``scorer``), lowest score = blended:

    - ``svd`` (paper, Def. 1): ``I_c = Σ_i σ_i² v_{i,c}²`` over the SVD of the valid
      ``(B·T, D)`` token matrix; with all singular values this is the squared norm of column
      ``c``, so no SVD is computed (:func:`svd_informativeness`, tested against one).
    - ``topk_svd``: only the ``top_k`` largest singular directions, from the ``D × D`` Gram
      matrix; ``top_k=None`` uses ``max(1, D − k')`` (the dimension of the kept subspace).
    - ``activation`` (official code): mean ``|x_c|`` over valid tokens.
    - ``bn_gamma`` (official UTKinect / DARai entry points): a BatchNorm per stream, whose
      normalised output is the stream used downstream, scored by ``|γ_c|``. Its batch
      statistics cover valid tokens only (the official ``BatchNorm1d`` also counts padded
      frames). At initialisation every γ is 1, so the tie selects channels ``0..k'−1``.
    - ``grad``: a real gradient score: the running mean (EMA, ``momentum``) of
      ``|∂loss/∂x_c|`` over valid tokens, ``x`` the stream before blending, captured by a
      backward hook in training (through the fuser's output). The official "gradient" score
      differentiates ``rgb.mean() + depth.mean()``, whose gradient is the constant ``1/N``
      in every channel, so all its channels tie; it is not reproduced. Before the first
      backward it uses the activation magnitude; in evaluation the gradient EMA (running
      statistics on) or, with ``running_stats=False`` or before any backward, the batch's
      activation magnitude as the official code does. (With ``combine="attention"``,
      ``mode="static"`` and inputs that require no gradient, nothing is captured.)

    ``ratio=0`` blends nothing: under ``combine="attention"`` (``fusion.preset=official
    fusion.ratio=0``) that is the official code's "W/O RTF" of Table 2, its own attention block
    with blending switched off; under ``stack`` it is ``concat``. Scores are computed in
    float32 with autocast off (in bf16 the bottom-k' set differs in about one batch in seven).

    **Running statistics.** The paper scores channels over the current batch, so a
    video's prediction depends on which videos share its batch. With ``running_stats=True``
    (default) training uses the batch scores and gathers them (per valid token, e.g.
    ``I_c / N``) in an exponential moving average, like BatchNorm
    (``ema ← (1 − momentum)·ema + momentum·batch``, the first batch initialises it), and
    evaluation uses that average: the evaluation output of a video does not depend on its
    batch. A fuser evaluated before any training step falls back to batch scores. With
    ``running_stats=False``, evaluation scores the batch (the paper), and ``bn_gamma``'s
    BatchNorm normalises with batch statistics in evaluation too.

    **α.** ``shared_alpha`` uses one ``α [D]`` for both directions (official code);
    ``clamp_alpha`` clamps α to [0, 1] in the forward pass with a straight-through gradient
    (the gradient reaches α even outside [0, 1], so it can come back); the official code
    does not clamp.

    **Preset.** ``preset="official"`` (``fusion=rtf fusion.preset=official``) reproduces the
    official code's UTKinect configuration: ``scorer="bn_gamma"``, ``ratio=0.1``,
    ``shared_alpha=True``, ``clamp_alpha=False``, ``combine="attention"``, ``dropout=0.1``,
    ``mode="adaptive"``. A preset fills only the options left unset (``None``), so
    ``fusion.preset=official fusion.ratio=0.2`` is the official DARai configuration (the
    published ``futr_safuser_batchnormalization.py`` computes ``k = int(C * 0.2)``, the paper's
    DARai ratio; the paper uses 0.1 on UTKinect). ``heads`` is not part of the preset (the
    official code passes its ``n_head`` argument), nor is the official ``BatchNorm1d``'s
    counting of padded frames (here masked, see ``bn_gamma``).

    **Outputs.** ``embeddings`` are the per-modality inputs (before BatchNorm and blending),
    so regularizers see the encoders' outputs; ``aux["rtf_scores"] [M, D]`` holds the scores
    used and ``aux["rtf_selected"] [M, k']`` the blended channels of each modality, in
    ``self.modalities`` order. Needs at least two modalities.
    """

    min_modalities = 2

    def __init__(
        self,
        modalities: Sequence[str],
        dim: int,
        ratio: float | None = None,
        mode: str | None = None,
        scorer: str | None = None,
        top_k: int | None = None,
        combine: str | None = None,
        shared_alpha: bool | None = None,
        clamp_alpha: bool | None = None,
        running_stats: bool = True,
        momentum: float = 0.1,
        heads: int = 4,
        dropout: float | None = None,
        preset: str | None = None,
    ) -> None:
        super().__init__(modalities, dim)
        if preset is not None and preset not in PRESETS:
            raise ConfigError(f"fusion 'rtf': unknown preset {preset!r}; choose one of {list(PRESETS)} or null")
        given = dict(
            ratio=ratio, mode=mode, scorer=scorer, combine=combine, shared_alpha=shared_alpha,
            clamp_alpha=clamp_alpha, dropout=dropout,
        )
        base = PRESET_VALUES[preset] if preset is not None else PAPER_DEFAULTS
        resolved = {key: base[key] if value is None else value for key, value in given.items()}
        self.preset = preset
        self.ratio = float(resolved["ratio"])
        self.mode = resolved["mode"]
        self.scorer = resolved["scorer"]
        self.combine = resolved["combine"]
        self.shared_alpha = bool(resolved["shared_alpha"])
        self.clamp_alpha = bool(resolved["clamp_alpha"])
        self.dropout = float(resolved["dropout"])
        self.running_stats = bool(running_stats)
        self.momentum = float(momentum)
        self.heads = int(heads)
        for option, value, allowed in (
            ("mode", self.mode, MODES), ("scorer", self.scorer, SCORERS), ("combine", self.combine, COMBINES)
        ):
            if value not in allowed:
                raise ConfigError(f"fusion 'rtf': unknown {option} {value!r}; choose one of {list(allowed)}")
        if not 0 <= self.ratio <= 1:
            raise ConfigError(f"fusion 'rtf': ratio must be in [0, 1] (0: no channel blended), got {self.ratio}")
        if not 0 < self.momentum <= 1:
            raise ConfigError(f"fusion 'rtf': momentum must be in (0, 1], got {self.momentum}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"fusion 'rtf': dropout must be in [0, 1), got {self.dropout}")
        self.num_blended = max(1, int(self.ratio * dim)) if self.ratio > 0 else 0
        self.top_k = max(1, dim - self.num_blended) if top_k is None else int(top_k)
        if not 1 <= self.top_k <= dim:
            raise ConfigError(f"fusion 'rtf': top_k must be in [1, dim={dim}], got {self.top_k}")

        count = len(self.modalities)
        if self.mode == "adaptive":
            self.alpha = nn.Parameter(torch.rand(1 if self.shared_alpha else count, dim))
        else:
            self.register_parameter("alpha", None)
        self.bn = _MaskedBatchNorm(count, dim, self.momentum, self.running_stats) if self.scorer == "bn_gamma" else None
        if self.combine == "stack":
            self.proj = nn.Linear(count * dim, dim)
            self.block = self.norm = None
        else:
            if dim % self.heads:
                raise ConfigError(f"fusion 'rtf': dim={dim} is not divisible by heads={self.heads}")
            self.proj = None
            # The official fusion block: timm's pre-norm Block (qkv without bias, MLP ratio 4, no
            # dropout) over the M modality tokens of a frame, each attending only to the others; a LayerNorm.
            self.block = Block(dim, self.heads)
            self.norm = nn.LayerNorm(dim)
        self.register_buffer("score_ema", torch.zeros(count, dim))
        self.register_buffer("score_steps", torch.zeros((), dtype=torch.long))
        if self.scorer == "grad":
            self.register_buffer("grad_ema", torch.zeros(count, dim))
            self.register_buffer("grad_steps", torch.zeros((), dtype=torch.long))

    def extra_repr(self) -> str:
        return (
            f"modalities={self.modalities}, dim={self.dim}, ratio={self.ratio} (k'={self.num_blended}), "
            f"mode={self.mode}, scorer={self.scorer}, combine={self.combine}, running_stats={self.running_stats}"
        )

    def no_weight_decay(self) -> set[str]:
        """α and the BatchNorm's γ and β (|γ| is the ``bn_gamma`` score) stay out of weight decay
        (timm's convention; ``engine.schedule.build_optimizer`` reads it)."""
        return {name for name, _ in self.named_parameters() if name in ("alpha", "bn.weight", "bn.bias")}

    # -- scores ---------------------------------------------------------------------------

    def _batch_scores(self, xs: list[Tensor], mask: Tensor, joined: Tensor | None = None) -> Tensor:
        """Scores of this batch, ``[M, D]``, per valid token (so batches of any size average).

        ``joined`` (the streams concatenated on channels, when the caller has it) lets the
        column-wise scorers run once over all modalities instead of once per modality.
        """
        # float32 with autocast off: a bf16 score picks another bottom-k' set about one batch in seven
        with torch.no_grad(), torch.autocast(xs[0].device.type, enabled=False):
            xs = [x.float() for x in xs]
            joined = None if joined is None else joined.float()
            count = mask.sum().clamp_min(1).to(xs[0].dtype)
            if self.scorer == "topk_svd":
                rows = [topk_svd_informativeness(x.detach(), mask, self.top_k) / count for x in xs]
                return torch.stack(rows)
            score = svd_informativeness if self.scorer == "svd" else activation_magnitude  # grad: its fallback
            if joined is not None:
                values = score(joined.detach(), mask).view(len(xs), -1)
            else:
                values = torch.stack([score(x.detach(), mask) for x in xs])
            return values / count if self.scorer == "svd" else values

    @staticmethod
    def _track(ema: Tensor, steps: Tensor, value: Tensor, momentum: float) -> None:
        """``ema ← (1 − momentum)·ema + momentum·value``; the first value initialises it (no host sync)."""
        with torch.no_grad():
            weight = torch.where(steps > 0, momentum, 1.0).to(ema.dtype)
            ema.lerp_(value.to(ema.dtype), weight)
            steps += 1

    def _scores(self, xs: list[Tensor], mask: Tensor, joined: Tensor | None = None) -> Tensor:
        if self.scorer == "bn_gamma":
            assert self.bn is not None
            return self.bn.weight.detach().abs().clone()
        batch = self._batch_scores(xs, mask, joined)
        if self.training:
            self._track(self.score_ema, self.score_steps, batch, self.momentum)
            if self.scorer == "grad":
                return torch.where(self.grad_steps > 0, self.grad_ema, batch)
            return batch
        if not self.running_stats:
            return batch
        running = torch.where(self.score_steps > 0, self.score_ema, batch)
        if self.scorer == "grad":
            return torch.where(self.grad_steps > 0, self.grad_ema, running)
        return running

    # -- blending ---------------------------------------------------------------------------

    def _prepare(
        self, feats: Mapping[str, Tensor], mask: Tensor, join: bool = False
    ) -> tuple[list[Tensor], Tensor | None, Tensor, Tensor, Tensor]:
        """Streams (and, with ``join``, their channel concatenation), scores ``[M, D]``,
        selected channels ``[M, k']`` and β ``[M, D]``.

        ``β_m,c = 1 − α_m,c`` on the selected channels of modality m, 0 elsewhere, so that
        ``x'_m = (1 − β_m) ⊙ x_m + β_m ⊙ y_m``.
        """
        mask = mask.to(device=feats[self.modalities[0]].device, dtype=torch.bool)
        xs = [feats[m] for m in self.modalities]
        if self.bn is not None:
            xs = self.bn(xs, mask)
        joined = torch.cat(xs, dim=-1) if join else None
        scores = self._scores(xs, mask, joined)
        selected = torch.sort(scores, dim=1, stable=True).indices[:, : self.num_blended]
        chosen = torch.zeros_like(scores).scatter_(1, selected, 1.0).to(xs[0].dtype)
        if self.alpha is None:
            beta = chosen
        else:
            alpha = self.alpha
            if self.clamp_alpha:  # clamp forward, straight-through gradient
                alpha = alpha + (alpha.clamp(0, 1) - alpha).detach()
            beta = chosen * (1 - alpha)
        return xs, joined, scores, selected, beta

    def _blend(self, xs: list[Tensor], beta: Tensor) -> list[Tensor]:
        """The plain blend ``x'_m = (1 − β_m) ⊙ x_m + β_m ⊙ y_m``, ``y_m`` = mean of the others."""
        count = len(xs)
        total = torch.stack(xs).sum(0) if count > 2 else None
        out = []
        for m, x in enumerate(xs):
            other = xs[1 - m] if count == 2 else (total - x) / (count - 1)
            out.append(x * (1 - beta[m]) + other * beta[m])
        return out

    def _folded_weight(self, beta: Tensor) -> Tensor:
        """``proj.weight`` with the blend folded in: ``W'_n = W_n (1 − β_n) + Σ_{m≠n} W_m β_m / (M−1)``."""
        assert self.proj is not None
        count, dim = beta.shape[0], self.dim
        weight = self.proj.weight.view(dim, count, dim)
        moved = weight * beta  # [D_out, M, D]: A_m = W_m diag(β_m)
        if count == 2:
            folded = weight - moved + moved.flip(1)
        else:
            folded = weight - moved + (moved.sum(1, keepdim=True) - moved) / (count - 1)
        return folded.reshape(dim, count * dim)

    def streams(self, feats: Mapping[str, Tensor], mask: Tensor) -> dict[str, Tensor]:
        """The blended per-modality streams ``{m: x'_m [B, T, D]}`` (plain, unfolded blend).

        For analysis (e.g. effective rank after blending) and tests; a call in training
        mode updates the running statistics like a forward pass.
        """
        xs, _, _, _, beta = self._prepare(feats, mask)
        return dict(zip(self.modalities, self._blend(xs, beta)))

    # -- forward ----------------------------------------------------------------------------

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> FusionOutput:
        embeddings = {m: feats[m] for m in self.modalities}
        xs, joined, scores, selected, beta = self._prepare(feats, mask, join=self.combine == "stack")
        valid = mask.reshape(-1).to(device=scores.device, dtype=torch.bool)
        capture = self.scorer == "grad" and self.training and torch.is_grad_enabled()
        if self.combine == "stack":
            assert self.proj is not None
            weight = self._folded_weight(beta)
            tokens = F.linear(joined, weight, self.proj.bias)
            if capture and tokens.requires_grad:
                folded = weight.detach()
                # ∂L/∂x_n = ∂L/∂tokens · W'_n for every modality n at once.
                tokens.register_hook(lambda g: self._record_grad(g.reshape(-1, g.shape[-1])[valid] @ folded))
        else:
            assert self.block is not None and self.norm is not None
            z = torch.stack(self._blend(xs, beta), dim=2)  # [B, T, M, D]
            if capture and z.requires_grad:
                b = beta.detach()
                z.register_hook(lambda g: self._record_grad(self._unblend_grad(g.flatten(0, 1)[valid], b)))
            batch, frames, count, dim = z.shape
            z = F.dropout(z.reshape(-1, count, dim), self.dropout, self.training)
            fused = self.norm(self.block(z, dense(others(count, z.device))))
            tokens = fused.mean(dim=1).view(batch, frames, dim)
        aux = {"rtf_scores": scores, "rtf_selected": selected}
        return FusionOutput(tokens=tokens, embeddings=embeddings, aux=aux)

    # -- the gradient score -------------------------------------------------------------------

    @staticmethod
    def _unblend_grad(grad: Tensor, beta: Tensor) -> Tensor:
        """``∂L/∂x [N, M·D]`` from ``∂L/∂x' [N, M, D]``: the blend's transpose."""
        count = grad.shape[1]
        kept = grad * (1 - beta)
        given = grad * beta
        if count == 2:
            spread = given.flip(1)
        else:
            spread = (given.sum(1, keepdim=True) - given) / (count - 1)
        return (kept + spread).flatten(1)

    def _record_grad(self, grad_x: Tensor) -> None:
        """EMA of the mean ``|∂L/∂x_c|`` over valid tokens; ``grad_x [N_valid, M·D]``."""
        with torch.no_grad():
            value = grad_x.abs().mean(0).view(len(self.modalities), self.dim) if grad_x.shape[0] else None
            if value is not None:
                self._track(self.grad_ema, self.grad_steps, value.to(self.grad_ema.dtype), self.momentum)
