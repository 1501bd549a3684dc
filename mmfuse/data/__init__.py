"""Dataset adapters; importing this package registers the built-in ones."""
from mmfuse.data import folder, synthetic
from mmfuse.data.base import DatasetAdapter
from mmfuse.data.issues import Issue, raise_on_errors
from mmfuse.data.video import Video

__all__ = ["DatasetAdapter", "Issue", "Video", "folder", "raise_on_errors", "synthetic"]
