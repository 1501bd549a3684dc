"""Built-in tasks; importing this package registers them."""
from mmfuse.tasks import anticipation, segmentation

__all__ = ["anticipation", "segmentation"]
