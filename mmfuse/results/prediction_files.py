"""Ground-truth and prediction folders as ``mmfuse evaluate`` reads them.

Ground truth: ``GT/<video>.txt``, one class name per frame (MS-TCN / FUTR ``groundTruth``).
Segmentation predictions, either ``PRED/<video>.txt`` with one label per line, or MS-TCN's
own output ``PRED/<video>`` (no extension): a first line ``### Frame level recognition: ###``
and every frame's label on the next line, separated by spaces. Anticipation predictions:
``PRED/<video>.obs20.txt`` per observed fraction, line ``i`` holding the label of frame
``int(α * T) + i``.

Readers raise ``DataError`` naming the file; the loaders collect every problem of every
video and raise them together, one line each.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmfuse.data.issues import Issue, raise_on_errors
from mmfuse.data.readers import read_mapping, read_split
from mmfuse.errors import DataError
from mmfuse.metrics.functional.anticipation import moc_window

MSTCN_HEADER = "### Frame level recognition: ###"


def _read_lines(path: Path) -> list[str]:
    """Stripped lines of a text file, trailing blank lines dropped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def read_label_file(path: Path) -> list[str]:
    """One label per line; a blank line inside the file is an error."""
    lines = _read_lines(path)
    for lineno, line in enumerate(lines, start=1):
        if not line:
            raise DataError(f"{path}:{lineno}: blank line; write one label per frame")
        if len(line.split()) != 1:
            raise DataError(f"{path}:{lineno}: expected one label per line, got {line!r}")
    return lines


def read_segmentation_prediction(path: Path) -> tuple[list[str], int | None]:
    """Frame labels from either prediction format, recognised by MS-TCN's header line, and the
    line holding them all in MS-TCN's format (``None``: one label per line)."""
    lines = _read_lines(path)
    if not lines or lines[0] != MSTCN_HEADER:
        return read_label_file(path), None
    rest = [(lineno, line) for lineno, line in enumerate(lines[1:], start=2) if line]
    if len(rest) > 1:
        raise DataError(
            f"{path}: MS-TCN output must hold every label on the line after "
            f"{MSTCN_HEADER!r}, found {len(rest)} lines"
        )
    return (rest[0][1].split(), rest[0][0]) if rest else ([], None)


def unknown_labels(path: Path, labels: Sequence[str], classes: ClassIndex | None, line: int | None = None) -> list[str]:
    """A problem per distinct predicted label that is not one of ``classes`` (``None``: no class
    list, every label counts), at its first line (``line``: the one line holding every label)."""
    if classes is None:
        return []
    problems, seen = [], set()
    for index, name in enumerate(labels):
        if name not in classes and name not in seen:
            seen.add(name)
            close = difflib.get_close_matches(name, classes.classes, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            where = f"{line}: frame {index + 1}" if line is not None else f"{index + 1}"
            problems.append(f"{path}:{where}: predicted label {name!r} is not a class of the mapping file{hint}")
    return problems


def ground_truth_files(gt_dir: Path) -> dict[str, Path]:
    """``{video: path}`` of every ``<video>.txt`` in ``gt_dir``, sorted by video name."""
    if not gt_dir.is_dir():
        raise DataError(f"{gt_dir}: ground-truth folder does not exist")
    files = {path.stem: path for path in sorted(gt_dir.glob("*.txt")) if path.is_file()}
    if not files:
        raise DataError(f"{gt_dir}: no ground-truth files; expected one <video>.txt per video")
    return files


def segmentation_prediction_file(pred_dir: Path, video: str) -> Path:
    """``PRED/<video>.txt`` or MS-TCN's ``PRED/<video>``; exactly one must exist."""
    found = [path for path in (pred_dir / f"{video}.txt", pred_dir / video) if path.is_file()]
    if not found:
        raise DataError(
            f"{pred_dir / video}.txt: missing prediction for video {video!r} "
            f"(expected {video}.txt, or MS-TCN's output file {video})"
        )
    if len(found) > 1:
        raise DataError(
            f"{found[0]}: ambiguous prediction for video {video!r}: {found[1]} exists too; "
            "keep one of them"
        )
    return found[0]


def anticipation_prediction_file(pred_dir: Path, video: str, alpha: float) -> Path:
    return pred_dir / f"{video}.obs{round(alpha * 100)}.txt"


@dataclass
class LabelledVideos:
    """Label names per video: ground truth, and predictions (a list, or one list per α)."""

    videos: list[str] = field(default_factory=list)
    truths: list[list[str]] = field(default_factory=list)
    predictions: list = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)  # ground-truth file per video
    left_out: list[str] = field(default_factory=list)  # ground-truth videos without any prediction, not scored


def read_ground_truth(path: Path) -> list[str]:
    """One class name per frame; an empty file is an error."""
    truth = read_label_file(path)
    if not truth:
        raise DataError(f"{path}: empty ground truth; write one class name per frame")
    return truth


# Reads one video's prediction: (video, ground-truth file, truth) -> prediction, or None with the problems.
PredictionReader = Callable[[str, Path, list[str]], tuple[Any, list[str]]]


def split_videos(path: Path) -> list[str]:
    """The videos a split file lists (MS-TCN's ``<video>.txt`` per line)."""
    entries, issues = read_split(path, str(path))
    raise_on_errors(issues)
    return [video for _, video in entries]


def _load(
    gt_dir: Path,
    pred_dir: Path,
    read_prediction: PredictionReader,
    has_prediction: Callable[[str], bool],
    videos: Sequence[str] | None,
    classes: ClassIndex | None,
) -> LabelledVideos:
    """The ground-truth videos ``videos`` (``None``: those with a prediction, the others left out)
    with the predictions ``read_prediction`` reads, the ground truth's labels each one of ``classes``
    (when given); every problem of every video raised together, one line each."""
    if not pred_dir.is_dir():
        raise DataError(f"{pred_dir}: prediction folder does not exist")
    truth_files = ground_truth_files(gt_dir)
    loaded = LabelledVideos()
    problems = [f"{gt_dir / video}.txt: no ground truth for video {video!r} of the split" for video in videos or [] if video not in truth_files]
    if videos is None:
        loaded.left_out = [video for video in truth_files if not has_prediction(video)]
        if len(loaded.left_out) == len(truth_files):
            raise DataError(f"{pred_dir}: no prediction for any of the {len(truth_files)} videos of {gt_dir}")
    chosen = [video for video in videos or truth_files if video in truth_files and video not in loaded.left_out]
    for video in chosen:
        gt_path = truth_files[video]
        try:
            truth = read_ground_truth(gt_path)
            if classes is not None:
                classes.truth(truth, gt_path)
        except DataError as error:
            problems.append(str(error))
            continue
        prediction, found = read_prediction(video, gt_path, truth)
        problems += found
        if prediction is not None:
            loaded.videos.append(video)
            loaded.truths.append(truth)
            loaded.predictions.append(prediction)
            loaded.files[video] = gt_path
    if problems:
        raise DataError("\n".join(problems))
    return loaded


def load_segmentation(
    gt_dir: Path, pred_dir: Path, classes: ClassIndex | None = None, videos: Sequence[str] | None = None
) -> LabelledVideos:
    """The ground-truth videos ``videos`` (``None``: every one with a prediction) with their
    predictions, each label one of ``classes`` (a mapping file's, when given); all problems raised together."""

    def read(video: str, gt_path: Path, truth: list[str]) -> tuple[list[str] | None, list[str]]:
        try:
            pred_path = segmentation_prediction_file(pred_dir, video)
            prediction, line = read_segmentation_prediction(pred_path)
            if len(prediction) != len(truth):
                raise DataError(
                    f"{pred_path}: {len(prediction)} predicted frames, but the ground truth "
                    f"{gt_path} has {len(truth)}"
                )
        except DataError as error:
            return None, [str(error)]
        problems = unknown_labels(pred_path, prediction, classes, line)
        return (None if problems else prediction), problems

    def has_prediction(video: str) -> bool:
        return (pred_dir / f"{video}.txt").is_file() or (pred_dir / video).is_file()

    return _load(gt_dir, pred_dir, read, has_prediction, videos, classes)


def load_anticipation(
    gt_dir: Path,
    pred_dir: Path,
    observe: Sequence[float],
    predict: Sequence[float],
    classes: ClassIndex | None = None,
    videos: Sequence[str] | None = None,
) -> LabelledVideos:
    """The ground-truth videos ``videos`` (``None``: every one with a prediction) with their
    ``{α: window labels}``, each label one of ``classes`` (when given); all problems raised together.

    A window file must cover the longest horizon: ``int((α + max β) * T) - int(α * T)``
    lines; extra lines are ignored.
    """

    def read(video: str, gt_path: Path, truth: list[str]) -> tuple[dict[float, list[str]] | None, list[str]]:
        windows: dict[float, list[str]] = {}
        problems: list[str] = []
        for alpha in observe:
            path = anticipation_prediction_file(pred_dir, video, alpha)
            start = moc_window(len(truth), alpha, 0.0)[0]
            needed = max(moc_window(len(truth), alpha, beta)[1] for beta in predict) - start
            try:
                if not path.is_file():
                    raise DataError(
                        f"{path}: missing prediction for video {video!r} observed at {alpha:g}"
                    )
                window = read_label_file(path)
                if len(window) < needed:
                    raise DataError(
                        f"{path}: {len(window)} predicted frames, need at least {needed} "
                        f"(frames {start}..{start + needed - 1} of the {len(truth)}-frame "
                        f"ground truth {gt_path})"
                    )
            except DataError as error:
                problems.append(str(error))
                continue
            unknown = unknown_labels(path, window[:needed], classes)
            problems += unknown
            if not unknown:
                windows[alpha] = window[:needed]
        return (windows if len(windows) == len(observe) else None), problems

    def has_prediction(video: str) -> bool:
        return any(anticipation_prediction_file(pred_dir, video, alpha).is_file() for alpha in observe)

    return _load(gt_dir, pred_dir, read, has_prediction, videos, classes)


class ClassIndex:
    """Class names to indices: from a mapping file, or the sorted names seen.

    Prediction labels are checked against a mapping file's classes as they are read
    (``unknown_labels``), so every label met here is a class.
    """

    def __init__(self, classes: Sequence[str], from_mapping: bool) -> None:
        self.classes = list(classes)
        self.from_mapping = from_mapping
        self._index = {name: i for i, name in enumerate(self.classes)}

    @classmethod
    def from_mapping_file(cls, path: Path) -> ClassIndex:
        classes, issues = read_mapping(path, str(path))
        raise_on_errors(issues)
        return cls(classes, from_mapping=True)

    @classmethod
    def from_names(cls, *label_lists: Sequence[str]) -> ClassIndex:
        return cls(sorted({name for labels in label_lists for name in labels}), from_mapping=False)

    def __len__(self) -> int:
        return len(self.classes)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def truth(self, names: Sequence[str], location: Path) -> list[int]:
        """Indices of ground-truth labels; an unknown class is an error."""
        unknown = sorted({name for name in names if name not in self._index})
        if unknown:
            raise DataError(
                f"{location}: unknown class(es) {', '.join(map(repr, unknown))}; "
                "add them to the mapping file or fix the labels"
            )
        return [self._index[name] for name in names]

    def prediction(self, names: Sequence[str]) -> list[int]:
        """Indices of predicted labels (each a class: see ``unknown_labels``)."""
        return [self._index[name] for name in names]

    def background(self, names: Collection[str]) -> tuple[list[int], list[Issue]]:
        """Indices of the background names that are classes, and an issue per other name.

        An unknown name is an error against a mapping file, a warning otherwise (the class
        may simply not occur in these videos).
        """
        if self.from_mapping:
            severity, message = "error", "not a class of the mapping file"
        else:
            severity, message = "warning", "not a label of the ground truth or predictions"
        issues = [
            Issue(severity, f"--background {name}", message)
            for name in names
            if name not in self._index
        ]
        return [self._index[name] for name in names if name in self._index], issues
