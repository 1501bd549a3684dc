"""Score prediction files against ground truth (segmentation or anticipation metrics).

Ground truth: GT/<video>.txt, one class name per frame. Segmentation predictions:
PRED/<video>.txt with one label per line, or MS-TCN's output file PRED/<video>.
Anticipation predictions: PRED/<video>.obs20.txt and PRED/<video>.obs30.txt, line i
holding the label of frame int(alpha*T)+i, covering at least int((alpha+0.5)*T) frames.
Scores are in percent. Edit and F1 leave out background classes, by default MS-TCN's: the
class named 'background', where the class list has one, so MS-TCN's output folders score as
its eval.py scores them; the output says which. Videos scored: those of `--split FILE` (MS-TCN's
split bundle, one <video>.txt per line; each must have a prediction), else every ground-truth
video with a prediction (MS-TCN writes the test videos' only), saying how many were left out.
With `--mapping`, a predicted label that is not a class is an error naming its file and line.
Every problem is reported on its own line, with exit code 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mmfuse.data.issues import raise_on_errors
from mmfuse.data.readers import resolve_background
from mmfuse.errors import DataError
from mmfuse.metrics.functional.anticipation import DEFAULT_OBSERVE, DEFAULT_PREDICT, moc_scores
from mmfuse.metrics.functional.segmentation import segmentation_scores
from mmfuse.results.metric_notes import background_note, metric_notes
from mmfuse.results.prediction_files import (
    ClassIndex,
    LabelledVideos,
    load_anticipation,
    load_segmentation,
    split_videos,
)

TASKS = ("segmentation", "anticipation")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "example: mmfuse evaluate segmentation --gt data/groundTruth --pred results --json"
    )
    parser.add_argument("task", choices=TASKS, help="which metrics to compute")
    parser.add_argument(
        "--gt", type=Path, required=True, metavar="DIR", help="folder of <video>.txt ground truth"
    )
    parser.add_argument(
        "--pred", type=Path, required=True, metavar="DIR", help="folder of prediction files"
    )
    parser.add_argument(
        "--mapping", type=Path, metavar="FILE",
        help="'<id> <class name>' per line; default: the sorted labels seen",
    )
    parser.add_argument(
        "--split", type=Path, metavar="FILE",
        help="score the videos this split file lists ('<video>.txt' per line, MS-TCN's bundle); "
        "default: every ground-truth video with a prediction",
    )
    parser.add_argument(
        "--background", nargs="*", metavar="NAME",
        help="class names dropped from Edit and F1 (accuracy keeps every frame); default: MS-TCN's, "
        "the class named 'background' where the --mapping file (else the labels seen) has one; "
        "--background with no names: none",
    )
    parser.add_argument(
        "--json", action="store_true",
        help="print the scores as a JSON object (the background classes dropped go to stderr)",
    )


def _class_index(args: argparse.Namespace, loaded: LabelledVideos) -> ClassIndex:
    if args.task == "segmentation":
        return ClassIndex.from_names(*loaded.truths, *loaded.predictions)
    return ClassIndex.from_names(
        *loaded.truths, *(window for windows in loaded.predictions for window in windows.values())
    )


def _truths(classes: ClassIndex, loaded: LabelledVideos) -> list[list[int]]:
    truths, problems = [], []
    for video, names in zip(loaded.videos, loaded.truths):
        try:
            truths.append(classes.truth(names, loaded.files[video]))
        except DataError as error:
            problems.append(str(error))
    if problems:
        raise DataError("\n".join(problems))
    return truths


def evaluate(args: argparse.Namespace) -> tuple[dict[str, float], list[str]]:
    """The scores of ``args.task`` and the background classes left out of Edit and F1 (none for
    anticipation); raises ``DataError`` listing every problem found."""
    mapped = ClassIndex.from_mapping_file(args.mapping) if args.mapping is not None else None
    videos = split_videos(args.split) if args.split is not None else None
    if args.task == "segmentation":
        loaded = load_segmentation(args.gt, args.pred, mapped, videos)
    else:
        loaded = load_anticipation(args.gt, args.pred, DEFAULT_OBSERVE, DEFAULT_PREDICT, mapped, videos)
    report_scored(args, loaded)
    classes = mapped if mapped is not None else _class_index(args, loaded)
    truths = _truths(classes, loaded)
    if args.task == "segmentation":
        background, issues = classes.background(resolve_background(args.background, classes.classes))
        for issue in issues:
            if issue.severity == "warning":
                print(str(issue), file=sys.stderr)
        raise_on_errors(issues)
        predictions = [classes.prediction(names) for names in loaded.predictions]
        dropped = [classes.classes[index] for index in background]
        return segmentation_scores(predictions, truths, background=background), dropped
    if args.background:
        print("warning: --background: ignored, MoC counts every class", file=sys.stderr)
    windows = [
        {alpha: classes.prediction(names) for alpha, names in by_alpha.items()}
        for by_alpha in loaded.predictions
    ]
    return moc_scores(windows, truths, DEFAULT_OBSERVE, DEFAULT_PREDICT, num_classes=len(classes)), []


def report_scored(args: argparse.Namespace, loaded: LabelledVideos) -> None:
    """Say on stderr which videos were scored, when not simply every ground-truth video."""
    if args.split is not None:
        print(f"note: scored the {len(loaded.videos)} video(s) of {args.split}", file=sys.stderr)
    elif loaded.left_out:
        shown = ", ".join(loaded.left_out[:5]) + (", …" if len(loaded.left_out) > 5 else "")
        print(
            f"note: scored {len(loaded.videos)} video(s) with predictions in {args.pred}; {len(loaded.left_out)} "
            f"ground-truth video(s) without any left out ({shown}); --split FILE scores a split's videos",
            file=sys.stderr,
        )


def run(args: argparse.Namespace) -> int:
    try:
        scores, background = evaluate(args)
    except DataError as error:
        for line in str(error).splitlines():
            prefixed = line.startswith(("error:", "warning:"))
            print(line if prefixed else f"error: {line}", file=sys.stderr)
        return 2
    if args.json:  # scores only, keyed as run records' metrics; what was dropped goes to stderr
        print(json.dumps(scores, indent=2))
        if args.task == "segmentation":
            print(f"note: {background_note(background)}", file=sys.stderr)
        return 0
    table = Table(title=f"{args.task} ({args.pred})")
    table.add_column("metric")
    table.add_column("%", justify="right")
    for key, value in scores.items():
        table.add_row(key, f"{value:.2f}")
    console = Console()
    console.print(table)
    for note in metric_notes({key: key for key in scores}, background):  # under the table: too wide for a caption
        console.print(escape(note))
    return 0
