"""``matt``: RULSTM's modality attention (MATT), as AFFT uses it, applied to modality tokens.

Furnari & Farinella (RULSTM, ICCV 2019 / TPAMI 2020; fpv-iplab/rulstm ``RULSTM/models.py``,
``RULSTMFusion``) and AFFT (zeyun-zhong/AFFT ``models/fusion.py``, ``MATT``) compute per-frame
modality weights with a 3-layer MLP over the concatenated modality features:
``Linear(M*D, M*D/4) - ReLU - Dropout - Linear(M*D/4, M*D/8) - ReLU - Dropout - Linear(M*D/8, M)``
followed by a softmax over the M modalities, dropout 0.8 in both.

Difference, by design: RULSTM and AFFT multiply each modality's *class scores* by its weight
and sum (late fusion: every modality has its own classifier). mmfuse's fusers must hand the
temporal model one token per frame, so here the weights multiply the *modality tokens*
(the encoders' outputs): ``fused_t = sum_m w_{t,m} x_{t,m}``. RULSTM feeds the MLP the
branches' LSTM hidden and cell states (input 2*M*hidden); AFFT and mmfuse feed it the
per-frame features (input M*D).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import Tensor, nn

from mmfuse.errors import ConfigError
from mmfuse.fusion.base import FusionOutput, Fuser
from mmfuse.registry import register_fusion


@register_fusion("matt")
class MATTFuser(Fuser):
    """RULSTM's MATT: an MLP gives softmax weights over modalities per frame; tokens are weighted and summed.

    Fused token of frame t = ``sum_m w_{t,m} x_{t,m}`` with ``w_t = softmax(MLP([x_{t,1}, ..., x_{t,M}]))``
    (modalities in config order). RULSTM/AFFT weight per-modality class scores with ``w``;
    here ``w`` weights the modality tokens. The weights are returned in
    ``aux["modality_weights"]`` (``[B, T, M]``, summing to 1 over M). Frames are independent.
    With one modality the weight is 1 and the fuser is the identity.

    Options: ``dropout`` 0.8 (RULSTM's and AFFT's default, after both hidden layers).
    Hidden widths are ``M*D // 4`` and ``M*D // 8`` as in RULSTM (at least 1).
    """

    def __init__(self, modalities: Sequence[str], dim: int, dropout: float = 0.8) -> None:
        super().__init__(modalities, dim)
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"fusion 'matt': dropout must be in [0, 1), got {dropout}")
        in_size = len(self.modalities) * dim
        h1, h2 = max(1, in_size // 4), max(1, in_size // 8)
        self.mlp = nn.Sequential(
            nn.Linear(in_size, h1),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(h1, h2),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(h2, len(self.modalities)),
        )

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> FusionOutput:
        embeddings = {m: feats[m] for m in self.modalities}
        x = torch.stack([embeddings[m] for m in self.modalities], dim=2)  # [B, T, M, D]
        weights = self.mlp(x.flatten(2)).softmax(dim=-1)  # [B, T, M]
        tokens = (weights.unsqueeze(-1) * x).sum(dim=2)
        return FusionOutput(tokens=tokens, embeddings=embeddings, aux={"modality_weights": weights})
