"""``darai``: DARai, and R3D's UTKinect RGB + depth features, in the layout R3D's preprocessing writes.

Formats as olivesgatech/R3D reads them (``main_darai.py``, ``data/basedataset_darai_depth.py``,
``main_utkinects.py``, ``data/basedataset_utkinects.py``, ``data/utkinect-actionlabeltogt.py``)::

    layout darai
    ROOT/mapping_l2_changed.txt, mapping_l3_changed.txt  <id> <class name>, ids 0..K-1 (level coarse / fine)
    ROOT/splits/{train,val,test}_split.txt               one '<video>.<any extension>' line per video
    ROOT/groundTruth_img/<video>_<seq>.txt               '<image path>, <L2>, <L3>' per frame, seq = 1, 2, ...
    ROOT/features_img/<video>_<seq>.npy                  (T, D): row k <-> k-th kept ground-truth line
    ROOT/features_depth/<depth video>_1.npy              (N, ...) per video: row f <-> frame number f

    layout utkinect_r3d
    ROOT/mapping_l2_changed.txt                          <id> <class name> (UNDEFINED included)
    ROOT/splits/{train,val}_split.txt                    one 'sSS_eEE.txt' line per sequence (a path is dropped)
    ROOT/groundTruth/<video>.txt                         '<image path>, <label>, UNDEFINED' per image
    ROOT/features_img/<video>.npy, features_depth/<video>.npy   (T, ...): row k <-> k-th kept line

A DARai frame number is the number after the last '_' of the image name (``01_3_00042.jpg`` -> 42); a
UTKinect one is the first number of the image name (``colorImg190.jpg`` -> 190). The DARai depth file
of a video is named after it with ``camera_<c>_fps_<r>`` replaced by ``depth_<c>``, plus ``_1``.
Arrays with more than two axes (R3D's depth maps) are flattened to ``(frames, features)``.

A split line names a video by its stem, whatever its extension, as R3D's DARai loader reads it
(``base_name = os.path.splitext(vid)[0]`` after ``line.strip()``): ``<video>.mp4``, ``<video>.txt`` and
``<video>`` name the same video; blank lines are ignored. A name that still holds a '.' is an error, as
R3D reads a video's files at the name's first '.' (``vid_file.split('.')[0]``). In layout
``utkinect_r3d`` a line that is not ``<video>.txt`` reads the same video, with a warning: R3D's UTKinect
training loader opens ``groundTruth/<line>`` as written.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from mmfuse.data.base import FileDescribedDataset, check_split
from mmfuse.data.feature_file import CHECK_FRAMES, FeatureFile
from mmfuse.data.issues import Issue, raise_on_errors
from mmfuse.data.readers import check_options, error, open_array, read_mapping, relative, warning
from mmfuse.data.video import Video
from mmfuse.errors import ConfigError, DataError
from mmfuse.registry import register_dataset

LEVELS = {"coarse": ("mapping_l2_changed.txt", 1), "fine": ("mapping_l3_changed.txt", 2)}  # file, field
MODALITY_FOLDERS = {"rgb": "features_img", "depth": "features_depth"}
_DIGITS = re.compile(r"[0-9]+")
_SEQUENCE_FILE = re.compile(r"(.+)_([0-9]+)\.txt")
_CAMERA = re.compile(r"camera_([0-9]+)_fps_[0-9]+")


def darai_frame(image: str) -> int | None:
    """R3D's DARai frame number: the digits after the last '_' of the image name, before its first '.'."""
    stem = image.replace("\\", "/").rsplit("/", 1)[-1].split("_")[-1].split(".")[0]
    return int(stem) if _DIGITS.fullmatch(stem) else None


def utkinect_frame(image: str) -> int | None:
    """R3D's UTKinect frame number: the first run of digits in the image file name."""
    match = _DIGITS.search(image.replace("\\", "/").rsplit("/", 1)[-1])
    return int(match.group()) if match else None


def depth_file_name(video: str) -> str:
    """The DARai depth file R3D reads for ``video``: ``camera_<c>_fps_<r>`` -> ``depth_<c>``, plus ``_1.npy``."""
    return _CAMERA.sub(r"depth_\1", video) + "_1.npy"


def split_video(entry: str, drop_path: bool = False) -> str:
    """The video a split line names, as R3D reads it: the line without its last extension, whatever it is.

    ``01_3_camera_1_fps_15.mp4``, ``01_3_camera_1_fps_15.txt`` and ``01_3_camera_1_fps_15`` all name
    ``01_3_camera_1_fps_15`` (R3D's ``os.path.splitext(vid)[0]``); with ``drop_path`` a leading path is
    dropped first, as R3D's UTKinect loader does (``vid_file.split('/')[-1]``).
    """
    return posixpath.splitext(entry.rsplit("/", 1)[-1] if drop_path else entry)[0]


@dataclass(frozen=True)
class SplitEntry:
    """One line of a split file: its number, the line as written (stripped) and the video it names."""

    line: int
    entry: str
    video: str


def read_r3d_split(path: Path, location: str, layout: str) -> tuple[list[SplitEntry], list[Issue]]:
    """The videos a split file lists, one per non-blank line, read as R3D's loaders read them.

    Lines are stripped and blank ones ignored (``line.strip()`` in R3D's DARai loader); the extension is
    dropped whatever it is (``split_video``). A name that still has a '.' is an error: R3D cuts it at the first '.' when
    it reads the video's files (``vid_file.split('.')[0]``), so it would fail or read another video. A
    video listed again is a warning (the repeat is ignored). In layout ``utkinect_r3d``, lines that are
    not ``<video>.txt`` load, but get one warning: R3D's UTKinect loader opens ``groundTruth/<line>``.
    """
    what = "it needs one '<video>.<extension>' line per video of the split, e.g. '<video>.txt'"
    if not path.is_file():
        return [], [error(location, f"missing; {what}")]
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [error(location, f"cannot be read as UTF-8 text ({exc}); {what}")]
    entries: list[SplitEntry] = []
    issues: list[Issue] = []
    first_line: dict[str, int] = {}
    not_txt: list[int] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry:
            continue
        video = split_video(entry, drop_path=layout == "utkinect_r3d")
        if not video or "." in video:
            issues.append(error(
                f"{location}:{lineno}",
                f"{entry!r} names video {video!r}, which R3D cannot read: it drops only the extension to list "
                f"the video (os.path.splitext) but cuts the name at its first '.' to read its files "
                f"(vid_file.split('.')[0] -> {entry.rsplit('/', 1)[-1].split('.')[0]!r}); "
                "name the video and its files without '.', or remove the line",
            ))
            continue
        if video in first_line:
            issues.append(warning(
                f"{location}:{lineno}",
                f"video {video!r} is listed again (first on line {first_line[video]}); the repeat is ignored",
            ))
            continue
        if layout == "utkinect_r3d" and not entry.endswith(".txt"):
            not_txt.append(lineno)
        first_line[video] = lineno
        entries.append(SplitEntry(lineno, entry, video))
    if not_txt:
        issues.append(warning(
            f"{location}:{not_txt[0]}",
            f"{len(not_txt)} line(s) are not '<video>.txt' (lines {_line_list(not_txt)}); rule: read as "
            "'<video>' whatever the extension, as R3D's evaluation/predict_utkinects.py reads them, but R3D's "
            "training loader (data/basedataset_utkinects.py) opens groundTruth/<line> as written and would "
            "fail; write '<video>.txt' lines to train R3D on this split",
        ))
    if not entries and not any(issue.severity == "error" for issue in issues):
        issues.append(error(location, "lists no videos; add one '<video>.<extension>' line per video"))
    return entries, issues


@dataclass(frozen=True)
class LayoutSpec:
    """What differs between the two layouts, with R3D's defaults for each."""

    labels_dir: str
    frame_of: Callable[[str], int | None]
    frame_rule: str
    sample_rate: int
    background: tuple[str, ...]
    test_split: str
    levels: tuple[str, ...]


LAYOUTS = {
    "darai": LayoutSpec(
        "groundTruth_img", darai_frame, "the number after the last '_' of the image name", 15, (), "test",
        ("coarse", "fine"),
    ),
    "utkinect_r3d": LayoutSpec(
        "groundTruth", utkinect_frame, "the first number in the image file name", 1, ("UNDEFINED",), "val",
        ("coarse",),
    ),
}


@dataclass(frozen=True)
class GroundTruth:
    """The kept lines of one ground-truth file: their frame numbers, labels and line numbers."""

    frames: np.ndarray
    labels: list[str]
    lines: list[int]
    num_lines: int


def read_ground_truth(
    path: Path, location: str, frame_of: Callable[[str], int | None], frame_rule: str, field: int
) -> tuple[GroundTruth | None, list[Issue]]:
    """Lines ``<image>,<L2>,<L3>`` of ``path``, label ``field`` (1 or 2) of each; blank lines are ignored.

    A line that does not split into three comma-separated fields is skipped, as R3D does, and reported in
    one warning; an image name without a frame number or frames out of order are errors.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [error(location, f"cannot be read as UTF-8 text ({exc}); restore the file")]
    frames: list[int] = []
    labels: list[str] = []
    kept: list[int] = []
    malformed: list[int] = []
    no_frame: list[int] = []
    all_lines = text.splitlines()
    for lineno, line in enumerate(all_lines, start=1):
        if not line.strip():
            continue
        fields = line.strip().split(",")
        if len(fields) != 3:
            malformed.append(lineno)
            continue
        frame = frame_of(fields[0].strip())
        if frame is None:
            no_frame.append(lineno)
            continue
        frames.append(frame)
        labels.append(fields[field].strip())
        kept.append(lineno)
    issues = []
    if malformed:
        issues.append(warning(
            f"{location}:{malformed[0]}",
            f"{len(malformed)} line(s) do not split into three comma-separated fields '<image>,<L2>,<L3>' "
            f"(lines {_line_list(malformed)}); rule: skipped, as R3D does",
        ))
    if no_frame:
        issues.append(error(
            f"{location}:{no_frame[0]}",
            f"no frame number in the image name on {len(no_frame)} line(s) (lines {_line_list(no_frame)}); "
            f"the frame number is {frame_rule}",
        ))
    if not kept:
        issues.append(error(
            location, "has no '<image>,<label>,<label>' line; write one per frame, or remove the video"
        ))
    if no_frame or not kept:
        return None, issues
    array = np.asarray(frames, dtype=np.int64)
    back = np.flatnonzero(np.diff(array) <= 0)
    if back.size:
        i = int(back[0]) + 1
        issues.append(error(
            f"{location}:{kept[i]}",
            f"frame {frames[i]} does not come after frame {frames[i - 1]} (line {kept[i - 1]}); "
            "write the lines in increasing frame order, each frame once",
        ))
        return None, issues
    return GroundTruth(array, labels, kept, len(all_lines)), issues


def _line_list(lines: list[int], shown: int = 5) -> str:
    text = ", ".join(map(str, lines[:shown]))
    return text + (", ..." if len(lines) > shown else "")


def take_rows(
    array: np.ndarray, path: Path, rows: np.ndarray, location: str
) -> tuple[FeatureFile | None, list[Issue]]:
    """``float32[len(rows), D]`` features of the given rows of ``path`` (trailing axes flattened),
    left on disk (:class:`FeatureFile`) once the rows used are checked, ``CHECK_FRAMES`` at a time:
    NaN/Inf in them is an error."""
    width = int(np.prod(array.shape[1:]))
    count, bad = 0, np.zeros(0, dtype=np.int64)
    for start in range(0, len(rows), CHECK_FRAMES):
        part = rows[start:start + CHECK_FRAMES]
        with np.errstate(over="ignore"):
            finite = np.isfinite(np.asarray(array[part]).reshape(len(part), -1).astype(np.float32))
        if not finite.all():
            count += int(finite.size - finite.sum())
            bad = np.concatenate([bad, start + np.flatnonzero(~finite.all(axis=1))])
    if not count:
        return FeatureFile(path, False, array.shape[0], width, frames=len(rows), rows=np.asarray(rows)), []
    return None, [error(
        location,
        f"{count} NaN/Inf values (after conversion to float32) in {bad.size} of the "
        f"rows used, first row {int(rows[bad[0]])}; repair or re-extract the features",
    )]


@dataclass(frozen=True)
class Recording:
    """One unit that becomes a ``Video``: a DARai sequence or a UTKinect sequence."""

    name: str
    video: str
    labels: Path
    features: dict[str, Path]
    listed_at: str


@register_dataset("darai")
class DaraiDataset(FileDescribedDataset):
    """DARai (or R3D's UTKinect) RGB + depth features and frame labels, in R3D's layout."""

    def __init__(
        self,
        root: str | Path | None = None,
        layout: str = "darai",
        level: str = "coarse",
        modalities: Sequence[str] = ("rgb", "depth"),
        sample_rate: int | None = None,
        background: Sequence[str] | None = None,
        test_split: str | None = None,
        length_tolerance: int = 5,
    ) -> None:
        if root is None:
            raise ConfigError("dataset 'darai' needs a root folder: set dataset.root=/path/to/dataset")
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DataError(f"{self.root}: dataset root is not a directory; set dataset.root to the dataset folder")
        if layout not in LAYOUTS:
            raise ConfigError(f"dataset.layout must be darai or utkinect_r3d, got {layout!r}")
        self.layout = layout
        spec = LAYOUTS[layout]
        if level not in LEVELS:
            raise ConfigError(f"dataset.level must be one of {', '.join(LEVELS)}, got {level!r}")
        if level not in spec.levels:
            raise ConfigError(f"layout {self.layout} has one label level; set dataset.level=coarse")
        sample_rate = spec.sample_rate if sample_rate is None else sample_rate
        check_options(sample_rate, length_tolerance)
        test_split = spec.test_split if test_split is None else test_split
        if test_split not in ("test", "val"):
            raise ConfigError(f"dataset.test_split must be test or val, got {test_split!r}")
        modalities = [modalities] if isinstance(modalities, str) else list(modalities)
        if not modalities or len(set(modalities)) != len(modalities) or not set(modalities) <= set(MODALITY_FOLDERS):
            raise ConfigError(
                f"dataset.modalities must name one or both of rgb, depth, each once; got {modalities}"
            )
        background = list(spec.background) if background is None else background
        background = [background] if isinstance(background, str) else list(background)

        self.spec = spec
        self.level = level
        self.sample_rate = sample_rate
        self.test_split = test_split
        self.length_tolerance = length_tolerance
        self._modalities = modalities
        self._background = background
        self._dims: dict[str, int] = {}
        self._sequence_index: dict[str, list[int]] | None = None

        self._mapping_file, self._field = LEVELS[level]
        self._classes, issues = read_mapping(self.root / self._mapping_file, self._mapping_file)
        self._labels_readable = not issues
        for name in background:
            if name not in self._classes:
                issues.append(error(
                    self._mapping_file,
                    f"background class {name!r} (dataset.background) is not a class; fix dataset.background "
                    "or add the class",
                ))
        if not (self.root / spec.labels_dir).is_dir():
            self._labels_readable = False
            other = next(name for name in LAYOUTS if name != layout)
            hint = (
                f"; {LAYOUTS[other].labels_dir}/ is there: set dataset.layout={other}"
                if (self.root / LAYOUTS[other].labels_dir).is_dir() else ""
            )
            issues.append(error(spec.labels_dir, f"missing directory; it holds the ground-truth .txt files{hint}"))
        for modality in modalities:
            folder = MODALITY_FOLDERS[modality]
            if not (self.root / folder).is_dir():
                issues.append(error(folder, f"missing directory; it holds the {modality!r} features (.npy)"))
        self._setup_issues = issues
        self._class_index = {name: i for i, name in enumerate(self._classes)}

    def split_file(self, split: str) -> Path:
        check_split(split)
        return self.root / "splits" / f"{split if split == 'train' else self.test_split}_split.txt"

    def _read_widths(self, modalities: list[str]) -> None:
        """From the first train recording's feature files (reads only their headers)."""
        recordings, issues = self._recordings("train")
        raise_on_errors(issues)
        for modality in modalities:
            raise_on_errors(self._read_modality(recordings[0], modality, None)[1])

    def _sequences_of(self, video: str) -> list[int]:
        """Sequence numbers of ``video`` in ``groundTruth_img/`` (``<video>_<seq>.txt``), ascending."""
        if self._sequence_index is None:
            self._sequence_index = {}
            for path in (self.root / self.spec.labels_dir).iterdir():
                match = _SEQUENCE_FILE.fullmatch(path.name)
                if match:
                    self._sequence_index.setdefault(match.group(1), []).append(int(match.group(2)))
        return sorted(self._sequence_index.get(video, []))

    def _recordings(self, split: str) -> tuple[list[Recording], list[Issue]]:
        path = self.split_file(split)
        split_location = relative(path, self.root)
        entries, issues = read_r3d_split(path, split_location, self.layout)
        recordings = []
        for item in entries:
            listed_at = f"{split_location}:{item.line}"
            video = item.video
            extension = posixpath.splitext(item.entry)[1]
            read_as = (
                f" ({item.entry!r} is read as {video!r}: the extension is dropped, as R3D drops it)"
                if extension and extension != ".txt" else ""
            )
            if self.layout == "utkinect_r3d":
                labels = self.root / "groundTruth" / f"{video}.txt"
                if not labels.is_file():
                    issues.append(error(
                        listed_at,
                        f"names video {video!r} but groundTruth/{video}.txt does not exist; add it or remove "
                        f"the line{read_as}",
                    ))
                    continue
                files = {m: self.root / MODALITY_FOLDERS[m] / f"{video}.npy" for m in self._modalities}
                recordings.append(Recording(video, video, labels, files, listed_at))
                continue
            numbers = self._sequences_of(video)
            if not numbers:
                issues.append(error(
                    listed_at,
                    f"names video {video!r} but groundTruth_img/ has no '{video}_<seq>.txt' file; "
                    f"add them or remove the line{read_as}",
                ))
            for number in numbers:
                name = f"{video}_{number}"
                files = {"rgb": self.root / "features_img" / f"{name}.npy",
                         "depth": self.root / "features_depth" / depth_file_name(video)}
                recordings.append(Recording(
                    name, video, self.root / "groundTruth_img" / f"{name}.txt",
                    {m: files[m] for m in self._modalities}, listed_at,
                ))
        return recordings, issues

    def _read_modality(
        self, recording: Recording, modality: str, truth: GroundTruth | None, labels_location: str = ""
    ) -> tuple[FeatureFile | None, list[Issue]]:
        """Rows of the frames ``truth`` keeps (every ``sample_rate``-th); only checks the file without ``truth``."""
        path = recording.features[modality]
        location = relative(path, self.root)
        array, issues = open_array(path, location, f"video {recording.name!r} ({recording.listed_at})")
        if array is None:
            return None, issues
        if array.ndim < 2:
            return None, [error(location, f"has shape {array.shape}; expected (frames, features) or (frames, H, W, ...)")]
        width = int(np.prod(array.shape[1:]))
        known = self._dims.setdefault(modality, width)
        if width != known:
            return None, [error(
                location, f"has {width} features per frame but other {modality!r} files have {known}; re-extract it"
            )]
        if truth is None:
            return None, []
        available = array.shape[0]
        tolerance = self.length_tolerance
        if self.layout == "darai" and modality == "depth":
            needed = int(truth.frames[-1]) + 1
            if needed - available > tolerance:
                return None, [error(
                    location,
                    f"has {available} frames but {labels_location} needs frame {needed - 1} (row = frame number; "
                    f"tolerance {tolerance}); re-extract the depth features or fix the labels",
                )]
            rows = truth.frames[:: self.sample_rate]
        else:
            if abs(available - len(truth.frames)) > tolerance:
                return None, [error(
                    location,
                    f"has {available} frames but {labels_location} has {len(truth.frames)} (tolerance {tolerance}); "
                    "re-extract the features or fix the labels",
                )]
            rows = np.arange(len(truth.frames))[:: self.sample_rate]
        return take_rows(array, path, np.minimum(rows, available - 1), location)

    def _class_ids(self, truth: GroundTruth, location: str) -> tuple[np.ndarray | None, list[Issue]]:
        ids = np.fromiter((self._class_index.get(name, -1) for name in truth.labels), dtype=np.int64)
        unknown = np.flatnonzero(ids < 0)
        if unknown.size == 0:
            return ids, []
        lines_of: dict[str, list[int]] = {}
        for i in unknown.tolist():
            lines_of.setdefault(truth.labels[i], []).append(truth.lines[i])
        level = "L2" if self._field == 1 else "L3"
        issues = []
        for name, lines in lines_of.items():
            count = f"{len(lines)} line(s)"
            message = (
                f"unknown {level} class {name!r} ({count}); add it to {self._mapping_file} or fix the label"
                if name else f"empty {level} label ({count}); every frame needs a class name"
            )
            issues.append(error(f"{location}:{lines[0]}", message))
        return None, issues

    def _load(self, split: str, keep: bool = True) -> tuple[list[Video], list[Issue]]:
        """Videos of ``split`` (only checked, one at a time, when not ``keep``) and every problem found."""
        recordings, issues = self._recordings(split)
        videos = []
        for recording in recordings:
            location = relative(recording.labels, self.root)
            truth, truth_issues = read_ground_truth(
                recording.labels, location, self.spec.frame_of, self.spec.frame_rule, self._field
            )
            issues += truth_issues
            if truth is not None and self.layout == "darai" and truth.num_lines <= self.sample_rate:
                issues.append(warning(
                    location,
                    f"{recording.name}: {truth.num_lines} line(s), not more than sample_rate {self.sample_rate}; "
                    "rule: the sequence is skipped, as R3D skips it",
                ))
                continue
            labels = None
            if truth is not None:
                labels, label_issues = self._class_ids(truth, location)
                issues += label_issues
            features = {}
            for modality in self._modalities:
                array, feature_issues = self._read_modality(recording, modality, truth, location)
                issues += feature_issues
                if array is not None:
                    features[modality] = array
            if keep and labels is not None and len(features) == len(self._modalities):
                meta = {"split": split, "video": recording.video, "frames": truth.frames}
                videos.append(Video(recording.name, features, labels, sample_rate=self.sample_rate, meta=meta))
        return videos, issues

    def _split_videos(self, split: str) -> set[str]:
        return {item.video for item in read_r3d_split(self.split_file(split), "", self.layout)[0]}
