"""Model parts the plugins share: the backbone that chains them, attention, the anticipation decoder."""
from mmfuse.models.anticipation_decoder import AnticipationDecoder
from mmfuse.models.backbone import MultimodalBackbone, build_backbone

__all__ = ["AnticipationDecoder", "MultimodalBackbone", "build_backbone"]
