"""``dagr``: Disperse-and-Anchor Geometric Regularization, and its two ablations.

Xia, Wang, Weng, Qian, Xu, Dan, Wang, "Diverse via bounded Agreement: Geometric
Regularization for Multimodal Fusion" (v1 title: "When Gradient Optimization Is Not
Enough: Dispersive and Anchoring Geometric Regularizer for Multimodal Learning"),
arXiv:2601.21670, 2026. DAGR adds two terms on the fuser's intermediate per-modality
embeddings: an intra-modal *dispersion* term against representation collapse and an
inter-modal *agreement-band anchoring* term that penalises only the part of the paired
cross-modal drift that exceeds an admissible band. No official code exists, so every
choice below is ours and is stated with its reason.

Definition (mmfuse DESIGN §4). With ``z_i^m = e_i^m / ‖e_i^m‖₂`` the ℓ2-normalised
embedding of valid token ``i`` in modality ``m``::

    L_disp = Σ_m log mean_{i≠j} exp(−‖z_i^m − z_j^m‖² / t)
    L_anc  = Σ_{m<n} mean_i max(0, ‖z_i^m − z_i^n‖² − τ)
    loss   = weight · (λ_d · L_disp + λ_a · L_anc)

Choices and their sources:

- **Embeddings**: the fuser's ``FusionOutput.embeddings`` (the per-modality tokens each
  fuser exposes), never the fused tokens; ``tokens`` only fixes the returned dtype and
  device. The paper regularizes "intermediate embeddings" of each modality branch; in
  mmfuse that is the per-modality embedding every fuser returns, so DAGR composes with
  every fuser (``fusion=rtf regularizer=dagr``).
- **What a sample is**: one valid frame token. A batch's valid tokens (``mask`` True) of
  all its videos are pooled, per modality, into one set, and the pairwise means run over
  that set. The paper's samples are clips/images; ours are frames because every mmfuse
  fuser and task works per frame. Padded frames never enter either term.
- **ℓ2 normalisation**: ``torch.nn.functional.normalize`` (eps 1e-12), as in the paper and
  DESIGN §4; squared distances then lie in [0, 4] and are computed as ``2 − 2 z_iᵀz_j``
  (clamped at 0), which has a well-defined gradient at zero distance (``cdist`` has not).
- **Dispersion**: the log-mean-exp of a Gaussian kernel over *distinct* pairs ``i≠j`` —
  Wang & Isola's uniformity loss (ICML 2020) / the "InfoNCE-L2" dispersive loss of Wang &
  He (arXiv:2506.09027) without positives. It is evaluated stably as
  ``logsumexp_{i≠j}(−d²_ij / t) − log(n(n−1))``. A modality with fewer than two tokens
  has no pair and contributes 0. Its value is ≤ 0; only its gradient matters.
- **temperature t = 0.5** (divides the squared distance): equals Wang & Isola's
  recommended ``t = 2`` in their parameterisation ``exp(−t‖x−y‖²)``. The paper's value
  could not be retrieved, so we take this well-tested default.
- **Anchoring**: token ``i`` of modality ``m`` is paired with token ``i`` of modality ``n``
  (same video, same frame); the hinge ``max(0, d² − τ)`` is averaged over valid tokens and
  summed over unordered modality pairs ``m<n``. With one modality (``fusion=single``)
  there is no pair and ``L_anc = 0``. Modalities must share the embedding width.
- **τ = 1.0**: the band allows cosine similarity ≥ 0.5 between paired modality
  embeddings (``d² = 2 − 2cos``), the midpoint between identical (d² = 0) and orthogonal
  (d² = 2) — loose enough to keep modality-specific diversity (the paper's "bounded
  agreement", not rigid alignment). Our choice; the paper's value could not be retrieved.
- **λ_d = λ_a = 0.1, weight = 1.0**: our choice, keeping the regularizer an order of
  magnitude below the frame-wise cross-entropy (≈ log #classes) at initialisation; sweep
  with ``regularizer.lambda_dispersion=…``. ``weight`` scales the whole loss, as for every
  mmfuse regularizer.
- **Token subsampling** (``max_tokens = 1024``): the dispersion term is O(n²) in time and
  memory, and a batch of long videos can hold tens of thousands of valid frames. When a
  batch has more than ``max_tokens`` valid tokens, ``max_tokens`` of them are drawn
  uniformly without replacement by ``torch.randperm`` on torch's default CPU generator
  (so ``seed_everything`` makes it reproducible on any device), and the **same** indices
  are used for every modality so anchoring pairs stay aligned. Anchoring (O(n)) uses the
  same subset, so both terms are unbiased estimates over one sample. At 1024 tokens the
  kernel matrix is 4 MiB per modality. No random numbers are drawn when no subsampling
  is needed (``max_tokens = None`` or 0 disables it).
- **Precision**: both terms are computed in float32 with autocast disabled (a
  log-sum-exp of bf16 distances loses the small differences dispersion acts on); the
  returned loss is cast to ``tokens.dtype`` as the regularizer contract requires.
- **Logs**: ``dagr_dispersion`` and ``dagr_anchoring`` are the *unweighted* terms
  ``L_disp`` and ``L_anc`` (detached floats). A term switched off (λ = 0) is not computed
  and is logged as 0.0.
- **Ablations**: ``dagr_dispersion`` is DAGR with ``λ_a = 0`` (dispersion only) and
  ``dagr_anchoring`` is DAGR with ``λ_d = 0`` (anchoring only), as in the paper's
  component ablation.
- **Inference cost**: none. The engine calls the regularizer only in training steps and
  it adds no parameter, buffer or hook to the model.
"""
from __future__ import annotations

import math
from itertools import combinations

import torch
import torch.nn.functional as F
from torch import Tensor

from mmfuse.registry import register_regularizer
from mmfuse.regularizers.base import Regularizer

__all__ = [
    "DAGR",
    "DAGRAnchoring",
    "DAGRDispersion",
    "anchoring_loss",
    "dispersion_loss",
    "subsample_indices",
]


def _squared_distances(z: Tensor) -> Tensor:
    """``[n, n]`` squared Euclidean distances between rows of unit-norm ``z``."""
    return (2.0 - 2.0 * (z @ z.T)).clamp_min(0.0)


def dispersion_loss(z: Tensor, temperature: float) -> Tensor:
    """``log mean_{i≠j} exp(−‖z_i − z_j‖² / t)`` over the rows of unit-norm ``z`` ``[n, D]``.

    Zero when ``n < 2`` (no distinct pair).
    """
    n = z.shape[0]
    if n < 2:
        return z.new_zeros(())
    logits = -_squared_distances(z) / temperature
    eye = torch.eye(n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(eye, float("-inf"))
    return torch.logsumexp(logits.flatten(), dim=0) - math.log(n * (n - 1))


def anchoring_loss(z_m: Tensor, z_n: Tensor, tau: float) -> Tensor:
    """``mean_i max(0, ‖z_m[i] − z_n[i]‖² − τ)`` over paired rows; zero when there are none."""
    if z_m.shape[0] == 0:
        return z_m.new_zeros(())
    if z_m.shape[-1] != z_n.shape[-1]:
        raise ValueError(
            f"dagr anchoring needs modality embeddings of one width, got {z_m.shape[-1]} and {z_n.shape[-1]}"
        )
    return (torch.relu((z_m - z_n).square().sum(-1) - tau)).mean()


def subsample_indices(count: int, max_tokens: int | None) -> Tensor | None:
    """Indices of at most ``max_tokens`` of ``count`` tokens, or ``None`` to keep them all.

    Drawn with ``torch.randperm`` on the default CPU generator, so a seeded run subsamples
    identically on every device; no random numbers are drawn when nothing is dropped.
    """
    if not max_tokens or count <= max_tokens:
        return None
    return torch.randperm(count)[:max_tokens]


@register_regularizer("dagr")
class DAGR(Regularizer):
    """DAGR (arXiv 2601.21670): dispersion within, agreement-band anchoring across modalities.

    Args:
        weight: scales the whole loss (every regularizer's common option).
        lambda_dispersion: λ_d, weight of ``L_disp`` (0 switches it off).
        lambda_anchoring: λ_a, weight of ``L_anc`` (0 switches it off).
        temperature: t, dividing the squared distance in the dispersion kernel.
        tau: τ, the agreement band on the squared paired distance (in [0, 4]).
        max_tokens: at most this many valid tokens per batch enter both terms (the same
            ones for every modality); ``None`` or 0 keeps all.

    The module docstring states each choice and its source.
    """

    def __init__(
        self,
        weight: float = 1.0,
        lambda_dispersion: float = 0.1,
        lambda_anchoring: float = 0.1,
        temperature: float = 0.5,
        tau: float = 1.0,
        max_tokens: int | None = 1024,
    ) -> None:
        super().__init__(weight=weight)
        if temperature <= 0:
            raise ValueError(f"dagr temperature must be > 0, got {temperature}")
        if not 0 <= tau <= 4:
            raise ValueError(f"dagr tau bounds a squared distance between unit vectors: 0 <= tau <= 4, got {tau}")
        if lambda_dispersion < 0 or lambda_anchoring < 0:
            raise ValueError("dagr lambda_dispersion and lambda_anchoring must be >= 0")
        if max_tokens is not None and max_tokens < 0:
            raise ValueError(f"dagr max_tokens must be >= 0 (0 or None: no subsampling), got {max_tokens}")
        self.lambda_dispersion = float(lambda_dispersion)
        self.lambda_anchoring = float(lambda_anchoring)
        self.temperature = float(temperature)
        self.tau = float(tau)
        self.max_tokens = int(max_tokens) if max_tokens else None

    def extra_repr(self) -> str:
        return (
            f"weight={self.weight}, lambda_dispersion={self.lambda_dispersion}, "
            f"lambda_anchoring={self.lambda_anchoring}, temperature={self.temperature}, "
            f"tau={self.tau}, max_tokens={self.max_tokens}"
        )

    def forward(
        self, embeddings: dict[str, Tensor], tokens: Tensor, mask: Tensor
    ) -> tuple[Tensor, dict[str, float]]:
        with torch.autocast(device_type=tokens.device.type, enabled=False):
            dispersion, anchoring = self.terms(embeddings, mask)
            total = self.lambda_dispersion * dispersion + self.lambda_anchoring * anchoring
            loss = (self.weight * total).to(dtype=tokens.dtype, device=tokens.device)
        logs = {"dagr_dispersion": float(dispersion.detach()), "dagr_anchoring": float(anchoring.detach())}
        return loss, logs

    def terms(self, embeddings: dict[str, Tensor], mask: Tensor) -> tuple[Tensor, Tensor]:
        """The unweighted ``(L_disp, L_anc)`` in float32; a term with λ = 0 is a constant 0."""
        if not embeddings:
            raise ValueError("dagr needs at least one modality embedding")
        first = next(iter(embeddings.values()))
        valid = mask.to(device=first.device, dtype=torch.bool)
        keep = subsample_indices(int(valid.sum()), self.max_tokens)
        if keep is not None:
            keep = keep.to(first.device)
        z = {}
        for name, emb in embeddings.items():
            flat = emb[valid].float()  # [n, D], valid tokens only
            if keep is not None:
                flat = flat[keep]
            z[name] = F.normalize(flat, dim=-1)

        zero = first.new_zeros((), dtype=torch.float32)
        dispersion = zero
        if self.lambda_dispersion > 0:
            dispersion = sum((dispersion_loss(v, self.temperature) for v in z.values()), zero)
        anchoring = zero
        if self.lambda_anchoring > 0:
            pairs = combinations(z.values(), 2)
            anchoring = sum((anchoring_loss(a, b, self.tau) for a, b in pairs), zero)
        return dispersion, anchoring


@register_regularizer("dagr_dispersion")
class DAGRDispersion(DAGR):
    """DAGR ablation: the dispersion term only (λ_a = 0)."""

    def __init__(
        self,
        weight: float = 1.0,
        lambda_dispersion: float = 0.1,
        temperature: float = 0.5,
        max_tokens: int | None = 1024,
    ) -> None:
        super().__init__(
            weight=weight,
            lambda_dispersion=lambda_dispersion,
            lambda_anchoring=0.0,
            temperature=temperature,
            max_tokens=max_tokens,
        )


@register_regularizer("dagr_anchoring")
class DAGRAnchoring(DAGR):
    """DAGR ablation: the agreement-band anchoring term only (λ_d = 0)."""

    def __init__(
        self,
        weight: float = 1.0,
        lambda_anchoring: float = 0.1,
        tau: float = 1.0,
        max_tokens: int | None = 1024,
    ) -> None:
        super().__init__(
            weight=weight,
            lambda_dispersion=0.0,
            lambda_anchoring=lambda_anchoring,
            tau=tau,
            max_tokens=max_tokens,
        )
