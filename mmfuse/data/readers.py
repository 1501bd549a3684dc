"""Readers for the files of MS-TCN-style datasets, shared by file-based adapters.

Each reader returns what it read together with the ``Issue``s it found, and never raises on
bad data: adapters collect the issues, ``validate()`` returns them and ``videos()`` raises them
as one ``DataError`` (``raise_on_errors``). ``location`` is how a file is named in messages
(a path relative to the dataset root reads best).
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from mmfuse.data.feature_file import FeatureFile, first_bad_frames
from mmfuse.data.issues import Issue
from mmfuse.errors import ConfigError

Layout = Literal["channels_first", "time_first"]
LAYOUTS: tuple[str, ...] = ("channels_first", "time_first")


def check_options(sample_rate: object, length_tolerance: object, layout: object | None = None) -> None:
    """The options every file-based adapter shares; raises ``ConfigError`` naming the bad one."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate < 1:
        raise ConfigError(f"dataset.sample_rate must be an integer >= 1, got {sample_rate!r}")
    if isinstance(length_tolerance, bool) or not isinstance(length_tolerance, int) or length_tolerance < 0:
        raise ConfigError(f"dataset.length_tolerance must be an integer >= 0, got {length_tolerance!r}")
    if layout is not None and layout not in LAYOUTS:
        raise ConfigError(f"dataset.layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")


FIELD_BACKGROUND: tuple[str, ...] = ("background",)  # MS-TCN eval.py's bg_class


def resolve_background(background: Sequence[str] | str | None, classes: Collection[str]) -> list[str]:
    """Class names dropped from Edit and F1: ``background`` as given (one name or a list; ``[]``
    drops none), or, where it is ``None``, the field's default: MS-TCN's ``background`` where
    ``classes`` has it, so MS-TCN's outputs score as its ``eval.py`` scores them."""
    if background is None:
        return [name for name in FIELD_BACKGROUND if name in classes]
    return [background] if isinstance(background, str) else list(background)


def error(location: str, message: str) -> Issue:
    return Issue("error", location, message)


def warning(location: str, message: str) -> Issue:
    return Issue("warning", location, message)


def relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form, or as given when outside it."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _read_text(path: Path, location: str, what: str) -> tuple[str | None, list[Issue]]:
    if not path.is_file():
        return None, [error(location, f"missing; {what}")]
    try:
        return path.read_text(encoding="utf-8"), []
    except (OSError, UnicodeDecodeError) as exc:
        return None, [error(location, f"cannot be read as UTF-8 text ({exc}); {what}")]


def read_mapping(path: Path, location: str) -> tuple[list[str], list[Issue]]:
    """Class names indexed by id from ``<id> <name>`` lines; ids must be exactly ``0..K-1``."""
    what = "it needs one '<id> <class name>' line per class, ids 0..K-1"
    text, issues = _read_text(path, location, what)
    if text is None:
        return [], issues
    by_id: dict[int, str] = {}
    line_of_name: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or not parts[0].lstrip("-").isdigit():
            issues.append(error(
                f"{location}:{lineno}", f"malformed line {line!r}; expected '<integer id> <class name>'"
            ))
            continue
        class_id, name = int(parts[0]), parts[1].strip()
        if class_id in by_id:
            issues.append(error(
                f"{location}:{lineno}",
                f"duplicate id {class_id} (already {by_id[class_id]!r}); give every class its own id",
            ))
        elif name in line_of_name:
            issues.append(error(
                f"{location}:{lineno}",
                f"duplicate class name {name!r} (already on line {line_of_name[name]}); list every class once",
            ))
        else:
            by_id[class_id] = name
            line_of_name[name] = lineno
    if not by_id and not issues:
        issues.append(error(location, f"lists no classes; {what}"))
    if by_id and sorted(by_id) != list(range(len(by_id))):
        issues.append(error(
            location,
            f"ids must run 0..{len(by_id) - 1} without gaps, got {sorted(by_id)}; renumber the classes",
        ))
    return [by_id[i] for i in sorted(by_id)], issues


def read_split(path: Path, location: str) -> tuple[list[tuple[int, str]], list[Issue]]:
    """``(line number, video name)`` per non-blank line of a split file; a ``.txt`` suffix is dropped."""
    text, issues = _read_text(path, location, "it needs one '<video>.txt' line per video of the split")
    if text is None:
        return [], issues
    entries: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        name = line.strip()
        if not name:
            continue
        name = name[: -len(".txt")] if name.endswith(".txt") else name
        if name in first_line:
            issues.append(warning(
                f"{location}:{lineno}",
                f"video {name!r} is listed again (first on line {first_line[name]}); the repeat is ignored",
            ))
            continue
        first_line[name] = lineno
        entries.append((lineno, name))
    if not entries:
        issues.append(error(location, "lists no videos; add one '<video>.txt' line per video"))
    return entries, issues


def read_frame_labels(path: Path, location: str, class_index: dict[str, int]) -> tuple[np.ndarray | None, list[Issue]]:
    """``int64[T]`` class ids from a file with one class name per frame (MS-TCN ground truth)."""
    text, issues = _read_text(path, location, "it needs one class name per frame")
    if text is None:
        return None, issues
    names = [line.strip() for line in text.splitlines()]
    while names and not names[-1]:
        names.pop()
    if not names:
        return None, [error(location, "is empty; write one class name per frame, or remove the video from the splits")]
    ids = np.fromiter((class_index.get(name, -1) for name in names), dtype=np.int64, count=len(names))
    bad = np.flatnonzero(ids < 0)
    if bad.size == 0:
        return ids, issues
    frames_of: dict[str, list[int]] = {}
    for i in bad.tolist():
        frames_of.setdefault(names[i], []).append(i)
    for name, frames in frames_of.items():
        if name:
            count = f"{len(frames)} frame" + ("s" if len(frames) > 1 else "")
            message = f"unknown class {name!r} ({count}); add it to mapping.txt or fix the label"
        else:
            message = f"blank line ({len(frames)} in all); every frame needs a class name"
        issues.append(error(f"{location}:{frames[0] + 1}", message))
    return None, issues


def open_array(path: Path, location: str, needed_by: str) -> tuple[np.ndarray | None, list[Issue]]:
    """A memory-mapped, non-empty, numeric ``.npy`` array, read without pickle.

    A hostile or corrupt file cannot run code. ``needed_by`` names what lists the file, for the
    message when it is missing.
    """
    if not path.is_file():
        return None, [error(location, f"missing, but {needed_by} needs it; add the file or remove the video")]
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # corrupt files raise ValueError, OSError, EOFError, ... depending on the damage
        return None, [error(location, f"cannot be read as a .npy array ({exc}); re-save it with numpy.save")]
    if not isinstance(array, np.ndarray):
        return None, [error(location, "is not a single .npy array (an .npz archive?); save one array with numpy.save")]
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        return None, [error(location, f"has non-numeric dtype {array.dtype}; save real-valued features")]
    if 0 in array.shape:
        return None, [error(location, f"has shape {array.shape}, no values; re-extract the features")]
    return array, []


def read_features(
    path: Path, location: str, layout: Layout, needed_by: str = "a video of a split"
) -> tuple[FeatureFile | None, list[Issue]]:
    """``float32[T, D]`` features of a 2-D numeric ``.npy`` file stored ``(D, T)`` or, with
    ``time_first``, ``(T, D)``: checked a few thousand frames at a time, and left on disk
    (:class:`FeatureFile`), so checking and describing a split of any size holds no features."""
    array, issues = open_array(path, location, needed_by)
    if array is None:
        return None, issues
    expected = "(D, T)" if layout == "channels_first" else "(T, D)"
    if array.ndim != 2:
        return None, [error(location, f"has shape {array.shape}; expected a 2-D array {expected}")]
    channels_first = layout == "channels_first"
    count, bad_frames = first_bad_frames(array, channels_first)
    if count:
        return None, [error(
            location,
            f"{count} NaN/Inf values (after conversion to float32) in "
            f"{bad_frames.size} frames, first frame {int(bad_frames[0])}; repair or re-extract the features",
        )]
    stored, width = (array.shape[1], array.shape[0]) if channels_first else array.shape
    return FeatureFile(path, channels_first, stored, width, frames=stored), []


def check_width(dims: dict[str, int], modality: str, features: np.ndarray | FeatureFile, location: str) -> list[Issue]:
    """Record the first width seen for ``modality`` in ``dims``; a file of another width is an error."""
    width = dims.setdefault(modality, features.shape[1])
    if features.shape[1] == width:
        return []
    return [error(location, f"has {features.shape[1]} channels but other {modality!r} files have {width}; re-extract it")]


def read_modality_features(
    path: Path, location: str, layout: Layout, needed_by: str, dims: dict[str, int], modality: str
) -> tuple[FeatureFile | None, list[Issue]]:
    """``read_features``, then ``check_width`` against the other files of ``modality``."""
    features, issues = read_features(path, location, layout, needed_by)
    if features is None:
        return None, issues
    issues = check_width(dims, modality, features, location)
    return (None, issues) if issues else (features, [])


def fit_length(
    features: np.ndarray | FeatureFile,
    num_frames: int,
    tolerance: int,
    location: str,
    labels_location: str,
    layout: Layout | None = None,
) -> tuple[np.ndarray | FeatureFile | None, list[Issue]]:
    """Trim, or pad by repeating the last frame, ``features`` to ``num_frames`` rows within ``tolerance``.

    Given the ``layout`` the file was read with, a mismatch that the other layout would fix says so.
    """
    length = features.shape[0]
    if abs(length - num_frames) > tolerance:
        hint = ""
        if layout is not None and abs(features.shape[1] - num_frames) <= tolerance:
            other = LAYOUTS[1 - LAYOUTS.index(layout)]
            hint = f" (its other axis has {features.shape[1]}: set dataset.layout={other})"
        return None, [error(
            location,
            f"has {length} frames but {labels_location} has {num_frames} (tolerance {tolerance}){hint}; "
            "re-extract the features or fix the labels",
        )]
    if isinstance(features, FeatureFile):
        return features.fitted(num_frames), []
    if length >= num_frames:
        return features[:num_frames], []
    return np.concatenate([features, np.repeat(features[-1:], num_frames - length, axis=0)]), []
