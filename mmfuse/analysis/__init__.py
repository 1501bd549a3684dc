"""Effective rank (R3D Eq. 1): of a token matrix here, of a trained model's representations over
test videos in ``mmfuse.analysis.representations`` (recorded with every run)."""
from mmfuse.analysis.effective_rank import effective_rank, masked_effective_rank

__all__ = ["effective_rank", "masked_effective_rank"]
