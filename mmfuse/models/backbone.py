"""Encoders -> fuser -> temporal model: the part of the network every task shares."""
from __future__ import annotations

import inspect
from typing import Any, Mapping, Sequence

from torch import Tensor, nn

from mmfuse.errors import ConfigError
from mmfuse.fusion.base import FusionOutput, Fuser
from mmfuse.registry import TEMPORAL_MODELS, create_encoder, create_fusion, create_temporal_model

STAGE_LOGITS = "stage_logits"  # key of a multi-stage temporal model's earlier-stage logits in FusionOutput.aux


class MultimodalBackbone(nn.Module):
    """``forward(feats, mask) -> (hidden [B, T, H], FusionOutput)``.

    Encodes each modality the fuser uses (``fuser.modalities``, one encoder each),
    fuses, then runs the temporal model on the fused tokens. ``out_dim`` is H. A multi-stage
    temporal model (one with ``forward_stages``, e.g. ``mstcn``) also hands back the class
    logits of its earlier stages, stored as ``fused.aux[STAGE_LOGITS]`` (``[S - 1, B, T, C]``)
    so the task can put a loss on every stage.
    """

    def __init__(self, encoders: nn.ModuleDict, fuser: Fuser, temporal: nn.Module) -> None:
        super().__init__()
        missing = [m for m in fuser.modalities if m not in encoders]
        if missing:
            raise ConfigError(f"no encoder for modalities {missing}; encoders exist for {list(encoders)}")
        self.encoders = encoders
        self.fuser = fuser
        self.temporal = temporal
        self.out_dim: int = temporal.out_dim

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> tuple[Tensor, FusionOutput]:
        missing = [m for m in self.fuser.modalities if m not in feats]
        if missing:
            raise ConfigError(f"the batch lacks modalities {missing} (it has {list(feats)})")
        encoded = {m: self.encoders[m](feats[m]) for m in self.fuser.modalities}
        fused = self.fuser(encoded, mask)
        forward_stages = getattr(self.temporal, "forward_stages", None)
        if forward_stages is None:
            return self.temporal(fused.tokens, mask), fused
        hidden, stage_logits = forward_stages(fused.tokens, mask)
        if stage_logits is not None:
            fused.aux[STAGE_LOGITS] = stage_logits
        return hidden, fused


def _split(cfg: Mapping[str, Any], kind: str, supplied: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """``{"name": n, **options}`` -> ``(n, options)``; keys the framework supplies are refused."""
    options = dict(cfg)
    name = options.pop("name", None)
    if name is None:
        raise ConfigError(f"the {kind} config has no `name`: {dict(cfg)}")
    clash = sorted(set(options) & set(supplied))
    if clash:
        raise ConfigError(f"the {kind} config sets {clash}, which the framework supplies; remove them")
    return name, options


def build_backbone(
    modalities: Sequence[str],
    feature_dims: Mapping[str, int],
    dim: int,
    hidden: int,
    encoder_cfg: Mapping[str, Any],
    fusion_cfg: Mapping[str, Any],
    temporal_cfg: Mapping[str, Any],
    shared_encoder: bool = False,
    num_classes: int | None = None,
) -> MultimodalBackbone:
    """Build encoders (width ``dim``), fuser and temporal model (width ``hidden``) from configs.

    Each cfg is ``{"name": <registered name>, **options}``. Only the modalities the
    fuser keeps get an encoder (``single`` keeps one). With ``shared_encoder`` one
    encoder serves every modality (R3D Table 9's shared projection), which needs
    modalities of equal width. ``num_classes`` goes to temporal models that take it
    (``mstcn``'s stages classify).
    """
    fusion_name, fusion_options = _split(fusion_cfg, "fusion", ("modalities", "dim"))
    fuser = create_fusion(fusion_name, modalities=list(modalities), dim=dim, **fusion_options)
    unknown = [m for m in fuser.modalities if m not in feature_dims]
    if unknown:
        raise ConfigError(f"no feature width for modalities {unknown}; the dataset has {dict(feature_dims)}")
    encoder_name, encoder_options = _split(encoder_cfg, "encoder", ("in_dim", "dim"))
    if shared_encoder:
        widths = {feature_dims[m] for m in fuser.modalities}
        if len(widths) > 1:
            raise ConfigError(
                f"model.shared_encoder=true needs modalities of equal width, got {dict(feature_dims)}"
            )
        shared = create_encoder(encoder_name, in_dim=widths.pop(), dim=dim, **encoder_options)
        encoders = nn.ModuleDict({m: shared for m in fuser.modalities})
    else:
        encoders = nn.ModuleDict(
            {m: create_encoder(encoder_name, in_dim=feature_dims[m], dim=dim, **encoder_options) for m in fuser.modalities}
        )
    temporal_name, temporal_options = _split(temporal_cfg, "temporal", ("in_dim", "dim", "num_classes"))
    if "num_classes" in inspect.signature(TEMPORAL_MODELS.get(temporal_name)).parameters:
        if num_classes is None:
            raise ConfigError(f"temporal {temporal_name!r} needs the number of classes; none was given")
        temporal_options["num_classes"] = num_classes
    temporal = create_temporal_model(temporal_name, in_dim=fuser.out_dim, dim=hidden, **temporal_options)
    return MultimodalBackbone(encoders, fuser, temporal)
