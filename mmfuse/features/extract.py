"""Per-frame features of raw videos, written in the ``folder`` dataset layout (``mmfuse extract``).

Each video becomes ``ROOT/features/<modality>/<video>.npy``: ``float32`` of shape ``(D, T)``
(the ``folder`` adapter's default ``channels_first`` layout), one column per kept frame. The
file is written only once the whole video is done, through a temporary file and a rename, so
an existing file is a finished video, and a rerun skips it.

Frames are scaled to [0, 1] by the maximum of their type (255 for 8-bit, 65535 for 16-bit
images), or, given ``depth_max``, divided by it and clipped (e.g. 10000 for depth in millimetres
up to 10 m). One-channel depth frames are then replicated to three channels by the encoder.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch
from rich.progress import Progress

from mmfuse.engine.device import autocast
from mmfuse.errors import ConfigError, DataError
from mmfuse.features.frames import FrameSource
from mmfuse.features.timm_backbone import FrameEncoder
from mmfuse.files import write_atomically


@dataclass
class ExtractionReport:
    """Videos written and failed (name -> message)."""

    written: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def feature_path(root: Path, modality: str, video: str) -> Path:
    return root / "features" / modality / f"{video}.npy"


def split_finished(sources: list[FrameSource], root: Path, modality: str) -> tuple[list[FrameSource], list[str]]:
    """Sources still to extract, and the names of those whose feature file exists (finished)."""
    todo, finished = [], []
    for source in sources:
        if feature_path(root, modality, source.name).exists():
            finished.append(source.name)
        else:
            todo.append(source)
    return todo, finished


def save_features(path: Path, features: np.ndarray) -> None:
    """Save ``(T, D)`` features as ``float32 (D, T)``: a temporary file, then a rename over ``path``."""
    array = np.ascontiguousarray(features.T, dtype=np.float32)
    write_atomically(path, lambda stream: np.save(stream, array), binary=True)


def batches(frames: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """``(N, H, W, C)`` stacks of at most ``size`` consecutive frames of one shape and type."""
    pending: list[np.ndarray] = []
    for frame in frames:
        if pending and (len(pending) == size or frame.shape != pending[0].shape or frame.dtype != pending[0].dtype):
            yield np.stack(pending)
            pending = []
        pending.append(frame)
    if pending:
        yield np.stack(pending)


def to_unit(batch: np.ndarray, device: torch.device, depth_max: float | None = None) -> torch.Tensor:
    """``[N, C, H, W]`` float32 on ``device`` in [0, 1] (scaling in the module docstring)."""
    scale = float(depth_max if depth_max is not None else np.iinfo(batch.dtype).max)
    frames = torch.from_numpy(batch).to(device).permute(0, 3, 1, 2).float() / scale
    return frames.clamp_(0.0, 1.0) if depth_max is not None else frames


def extract_frames(
    encoder: FrameEncoder,
    frames: Iterable[np.ndarray],
    device: torch.device,
    batch_size: int = 32,
    depth_max: float | None = None,
    progress: Progress | None = None,
    task: int | None = None,
) -> np.ndarray:
    """``float32 (T, D)`` features of ``frames``, ``batch_size`` frames per forward pass."""
    chunks = []
    with torch.inference_mode():
        for batch in batches(frames, batch_size):
            with autocast(device):
                features = encoder(to_unit(batch, device, depth_max))
            chunks.append(features.float().cpu().numpy())
            if progress is not None and task is not None:
                progress.advance(task, len(batch))
    return np.concatenate(chunks)


def extract_videos(
    encoder: FrameEncoder,
    sources: list[FrameSource],
    root: Path,
    modality: str,
    device: torch.device,
    *,
    batch_size: int = 32,
    depth: bool = False,
    depth_max: float | None = None,
    every: int = 1,
    fps: float | None = None,
    progress: Progress | None = None,
) -> ExtractionReport:
    """Extract and save every video of ``sources``, replacing existing feature files.

    A video that cannot be read is reported in ``failed`` and the others go on.
    """
    _check_options(modality, batch_size, depth, depth_max, every, fps)
    folders = [source.path.name for source in sources if not source.is_video_file]
    if fps is not None and folders:
        raise ConfigError(
            f"--fps resamples video files by their timestamps, but {folders[0]} is a frame folder; use --every"
        )
    report = ExtractionReport()
    encoder.to(device).eval()
    overall = progress.add_task(f"{modality} features", total=len(sources)) if progress is not None else None
    for source in sources:
        task = progress.add_task(source.name, total=None) if progress is not None else None
        try:
            if progress is not None:
                progress.update(task, total=source.length(every, fps))
            features = extract_frames(
                encoder, source.frames(depth, every, fps), device, batch_size, depth_max, progress, task
            )
        except DataError as error:
            report.failed[source.name] = str(error)
        else:
            save_features(feature_path(root, modality, source.name), features)
            report.written.append(source.name)
        if progress is not None:
            progress.remove_task(task)
            progress.advance(overall)
    return report


def _check_options(
    modality: str, batch_size: int, depth: bool, depth_max: float | None, every: int, fps: float | None
) -> None:
    if not modality or modality.startswith(".") or any(c in modality for c in "/\\"):
        raise ConfigError(f"modality {modality!r} must be a plain folder name, e.g. rgb or depth")
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    if every < 1:
        raise ConfigError(f"--every must be at least 1 (keep every frame), got {every}")
    if fps is not None and fps <= 0:
        raise ConfigError(f"--fps must be positive, got {fps}")
    if depth_max is not None and not depth:
        raise ConfigError("--depth-max scales depth maps; add --depth")
    if depth_max is not None and depth_max <= 0:
        raise ConfigError(f"--depth-max must be positive, got {depth_max}")
