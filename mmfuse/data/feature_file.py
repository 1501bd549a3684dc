"""Features that stay on disk until a batch needs them."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

CHECK_FRAMES = 4096  # frames read at a time when a file is checked: memory bounded by the width, not T


@dataclass(frozen=True)
class FeatureFile:
    """``float32[T, D]`` features of one video, read from their ``.npy`` file only when indexed.

    Row ``i`` is frame ``i * step`` of the video; frames past the ``stored`` ones repeat the file's
    last frame and frames past ``frames`` do not exist (a file within the length tolerance of its
    labels, trimmed or padded as ``fit_length`` does). With ``rows``, row ``i`` is the file's row
    ``rows[i]`` instead (an adapter that picks frames by number); axes after the first are flattened. Each read maps the file, copies the rows asked
    for as float32 and unmaps it, so a split of any size holds no feature values in memory between
    batches; the operating system's page cache keeps recently read files fast. Indexing (a slice, an
    index array) and ``numpy.asarray`` give arrays; ``len``, ``shape`` and ``ndim`` behave like the
    array's.
    """

    path: Path
    channels_first: bool  # stored (D, T) rather than (T, D)
    stored: int  # frames in the file
    width: int
    frames: int  # frames of the video (after fitting to its labels)
    step: int = 1
    rows: np.ndarray | None = field(default=None, compare=False)  # the file's row of each row, if picked

    ndim = 2
    dtype = np.dtype(np.float32)

    @property
    def shape(self) -> tuple[int, int]:
        if self.rows is not None:
            return len(self.rows), self.width
        return -(-self.frames // self.step), self.width

    def __len__(self) -> int:
        return self.shape[0]

    def fitted(self, frames: int) -> "FeatureFile":
        """These features trimmed, or padded with the last frame, to ``frames`` frames."""
        return replace(self, frames=frames)

    def every(self, step: int) -> "FeatureFile":
        """Every ``step``-th row (a sample rate on top of this one)."""
        return replace(self, step=self.step * step, frames=self.frames)

    def __getitem__(self, rows: Any) -> np.ndarray:
        if isinstance(rows, tuple):  # rows and columns: the rows asked for, then numpy's indexing of them
            return self[rows[0]][(slice(None),) * (not np.isscalar(rows[0])) + rows[1:]]
        wanted = np.arange(len(self))[rows]
        source = self.rows[wanted] if self.rows is not None else np.minimum(wanted * self.step, self.stored - 1)
        array = np.load(self.path, mmap_mode="r", allow_pickle=False)
        if source.ndim == 1 and source.size and np.all(np.diff(source) == 1):
            window = slice(int(source[0]), int(source[-1]) + 1)  # contiguous rows: a plain slice reads fastest
            picked = array[:, window].T if self.channels_first else array[window]
        else:
            picked = array[:, source].T if self.channels_first else array[source]
        return np.array(picked, dtype=np.float32).reshape(*source.shape, self.width)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        values = self[:]
        return values if dtype is None else values.astype(dtype, copy=False)


def every(features: np.ndarray | FeatureFile, step: int) -> np.ndarray | FeatureFile:
    """Every ``step``-th row of an array, or of features on disk (still on disk)."""
    return features.every(step) if isinstance(features, FeatureFile) else features[::step]


def first_bad_frames(array: np.ndarray, channels_first: bool) -> tuple[int, np.ndarray]:
    """NaN/Inf values (after conversion to float32) of a ``.npy`` array and the frames holding them,
    read ``CHECK_FRAMES`` frames at a time."""
    frames = array.shape[1] if channels_first else array.shape[0]
    count, bad = 0, []
    for start in range(0, frames, CHECK_FRAMES):
        chunk = array[:, start:start + CHECK_FRAMES].T if channels_first else array[start:start + CHECK_FRAMES]
        with np.errstate(over="ignore"):
            finite = np.isfinite(np.asarray(chunk, dtype=np.float32))
        if not finite.all():
            count += int(finite.size - finite.sum())
            bad.append(start + np.flatnonzero(~finite.all(axis=1)))
    return count, np.concatenate(bad) if bad else np.zeros(0, dtype=np.int64)
