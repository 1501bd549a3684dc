"""Analyses recorded with every run: effective rank, robustness, cost."""
from mmfuse.analysis.effective_rank import effective_rank, masked_effective_rank

__all__ = ["effective_rank", "masked_effective_rank"]
