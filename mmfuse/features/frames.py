"""Frames of raw videos, for feature extraction: folders of images and video files (PyAV).

A frame is a ``(H, W, C)`` array as stored: ``C`` is 3 (RGB, ``uint8``) or, for depth maps,
1 (``uint8`` or ``uint16``). A folder's frames are ordered naturally, by the numbers in their
file names (``frame_2.png`` before ``frame_10.png``).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np
from PIL import Image

from mmfuse.errors import DataError

if TYPE_CHECKING:
    import av

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
_DEEP_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def natural_key(name: str) -> tuple:
    """Sort key comparing the runs of digits in ``name`` as numbers: ``f2`` < ``f10``."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name))


def _visible(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: natural_key(p.name))


def image_files(folder: Path) -> list[Path]:
    """The images of a frame folder in natural order; two images with the same stem are an error."""
    images = [p for p in _visible(folder) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    seen: dict[str, Path] = {}
    for path in images:
        if path.stem in seen:
            raise DataError(f"{folder}: {seen[path.stem].name} and {path.name} are the same frame; keep one of them")
        seen[path.stem] = path
    return images


def read_image(path: Path, depth: bool = False) -> np.ndarray:
    """One image as ``(H, W, 3) uint8`` or, with ``depth``, ``(H, W, 1)`` ``uint8``/``uint16``."""
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            if depth:
                if mode in _DEEP_MODES:
                    array = np.asarray(image)
                elif mode in ("L", "LA", "1"):
                    array = np.asarray(image.convert("L"))
                else:
                    array = np.asarray(image.convert("RGB"))
            elif mode in _DEEP_MODES:
                array = None
            else:
                array = np.asarray(image.convert("RGB"))
    except Exception as exc:  # PIL raises OSError, ValueError, DecompressionBombError, ... depending on the damage
        raise DataError(f"{path}: cannot be read as an image ({exc}); replace or remove the file") from exc
    if array is None:
        raise DataError(f"{path}: is a {mode} single-channel image (a depth map?); extract it with --depth")
    if depth:
        return _depth_channel(array, path, mode)
    return array


def _depth_channel(array: np.ndarray, path: Path, mode: str) -> np.ndarray:
    if array.ndim == 3:
        if not (np.array_equal(array[..., 0], array[..., 1]) and np.array_equal(array[..., 0], array[..., 2])):
            raise DataError(f"{path}: is a colour image; --depth expects single-channel (8- or 16-bit) depth maps")
        array = array[..., 0]
    if array.dtype.kind == "f":
        raise DataError(f"{path}: holds floating-point depth ({mode}); save depth as 8- or 16-bit integers")
    if array.dtype != np.uint8 and array.dtype != np.uint16:
        if array.min() < 0 or array.max() > 65535:
            raise DataError(f"{path}: depth values outside 0..65535 ({mode}); save depth as 16-bit integers")
        array = array.astype(np.uint16)
    return array[..., None]


@dataclass(frozen=True)
class FrameSource:
    """One video to extract: a folder of frame images, or a video file; ``name`` names its features."""

    name: str
    path: Path

    @property
    def is_video_file(self) -> bool:
        return self.path.is_file()

    def frames(self, depth: bool = False, every: int = 1, fps: float | None = None) -> Iterator[np.ndarray]:
        """Every ``every``-th frame, in order; a video file is first resampled to at most ``fps``.

        Frame folders have no timestamps, so ``fps`` does not apply to them.
        """
        if not self.is_video_file:
            images = image_files(self.path)
            if not images:
                raise DataError(
                    f"{self.path}: holds no images ({', '.join(IMAGE_SUFFIXES)}); add the frames or remove the folder"
                )
            return (read_image(path, depth) for path in images[::every])
        return self._video_frames(depth, every, fps)

    def length(self, every: int = 1, fps: float | None = None) -> int | None:
        """How many frames ``frames`` yields, where known without decoding (for progress bars)."""
        if not self.is_video_file:
            return len(image_files(self.path)[::every]) if self.path.is_dir() else None
        import av  # PyAV only once a video file is read

        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]
                count = stream.frames
                if fps is not None and stream.average_rate and count:
                    count = math.ceil(count * min(1.0, fps / float(stream.average_rate)))
        except (av.FFmpegError, IndexError, OSError):
            return None
        return math.ceil(count / every) if count else None

    def _video_frames(self, depth: bool, every: int, fps: float | None) -> Iterator[np.ndarray]:
        import av  # PyAV only once a video file is decoded

        try:
            container = av.open(str(self.path))
        except (av.FFmpegError, OSError) as exc:
            raise DataError(f"{self.path}: cannot be opened as a video ({exc}); replace or remove the file") from exc
        with container:
            if not container.streams.video:
                raise DataError(f"{self.path}: has no video stream; remove it from the input folder")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = float(stream.average_rate) if stream.average_rate else None
            kept, last_bucket, index = 0, -1, -1
            try:
                for index, frame in enumerate(container.decode(stream)):
                    if fps is not None:
                        seconds = frame.time if frame.time is not None else index / (rate or fps)
                        bucket = math.floor(seconds * fps + 1e-6)
                        if bucket <= last_bucket:
                            continue
                        last_bucket = bucket
                    if kept % every == 0:
                        yield _video_frame(frame, depth)
                    kept += 1
            except av.FFmpegError as exc:
                raise DataError(
                    f"{self.path}: cannot decode frame {index + 1} ({exc}); re-encode or remove the video"
                ) from exc
            if index < 0:
                raise DataError(f"{self.path}: holds no frames; re-encode or remove the video")


def _video_frame(frame: av.VideoFrame, depth: bool) -> np.ndarray:
    """RGB, or for depth the luma plane: 16-bit where the stream stores more than 8 bits."""
    if not depth:
        return frame.to_ndarray(format="rgb24")
    deep = max(component.bits for component in frame.format.components) > 8
    return frame.to_ndarray(format="gray16le" if deep else "gray")[..., None]


def find_sources(input_path: Path) -> list[FrameSource]:
    """The videos under ``input_path``, in natural order of their names.

    ``input_path`` is a video file (one video), a folder holding one sub-folder of frames per
    video and/or video files (each named after its folder or file stem), or a folder of images
    (one video, named after the folder).
    """
    if input_path.is_file():
        if input_path.suffix.lower() not in VIDEO_SUFFIXES:
            raise DataError(f"{input_path}: not a video file ({', '.join(VIDEO_SUFFIXES)}) nor a folder of videos")
        return [FrameSource(input_path.stem, input_path)]
    if not input_path.is_dir():
        raise DataError(f"{input_path}: no such file or folder; give a folder of frame folders or video files")
    entries = _visible(input_path)
    sources = [
        FrameSource(p.name if p.is_dir() else p.stem, p)
        for p in entries
        if p.is_dir() or p.suffix.lower() in VIDEO_SUFFIXES
    ]
    images = [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if images and sources:
        raise DataError(
            f"{input_path}: holds both images ({images[0].name}, ...) and videos ({sources[0].path.name}, ...); "
            "put each video's frames in its own sub-folder"
        )
    if images:
        return [FrameSource(input_path.name, input_path)]
    if not sources:
        raise DataError(
            f"{input_path}: holds no frame folders, video files ({', '.join(VIDEO_SUFFIXES)}) or images; "
            "give one sub-folder of frames or one video file per video"
        )
    by_name: dict[str, Path] = {}
    for source in sources:
        if source.name in by_name:
            raise DataError(
                f"{input_path}: {by_name[source.name].name} and {source.path.name} would both be video "
                f"{source.name!r}; rename one"
            )
        by_name[source.name] = source.path
    return sources
