"""Score prediction files against ground truth (segmentation or anticipation metrics).

Ground truth: GT/<video>.txt, one class name per frame. Segmentation predictions:
PRED/<video>.txt with one label per line, or MS-TCN's output file PRED/<video>.
Anticipation predictions: PRED/<video>.obs20.txt and PRED/<video>.obs30.txt, line i
holding the label of frame int(alpha*T)+i, covering at least int((alpha+0.5)*T) frames.
Scores are in percent. Every problem is reported on its own line, with exit code 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from mmfuse.data.issues import raise_on_errors
from mmfuse.errors import DataError
from mmfuse.metrics.functional.anticipation import DEFAULT_OBSERVE, DEFAULT_PREDICT, moc_scores
from mmfuse.metrics.functional.segmentation import segmentation_scores
from mmfuse.results.prediction_files import (
    ClassIndex,
    LabelledVideos,
    load_anticipation,
    load_segmentation,
)

TASKS = ("segmentation", "anticipation")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "example: mmfuse evaluate segmentation --gt data/groundTruth --pred results "
        "--background background"
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
        "--background", nargs="+", default=[], metavar="NAME",
        help="class names dropped from Edit and F1 (default: none)",
    )
    parser.add_argument("--json", action="store_true", help="print the scores as a JSON object")


def _class_index(args: argparse.Namespace, loaded: LabelledVideos) -> ClassIndex:
    if args.mapping is not None:
        return ClassIndex.from_mapping_file(args.mapping)
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


def evaluate(args: argparse.Namespace) -> dict[str, float]:
    """The scores of ``args.task``; raises ``DataError`` listing every problem found."""
    if args.task == "segmentation":
        loaded = load_segmentation(args.gt, args.pred)
    else:
        loaded = load_anticipation(args.gt, args.pred, DEFAULT_OBSERVE, DEFAULT_PREDICT)
    classes = _class_index(args, loaded)
    truths = _truths(classes, loaded)
    if args.task == "segmentation":
        background, issues = classes.background(args.background)
        for issue in issues:
            if issue.severity == "warning":
                print(str(issue), file=sys.stderr)
        raise_on_errors(issues)
        predictions = [classes.prediction(names) for names in loaded.predictions]
        return segmentation_scores(predictions, truths, background=background)
    if args.background:
        print("warning: --background: ignored, MoC counts every class", file=sys.stderr)
    windows = [
        {alpha: classes.prediction(names) for alpha, names in by_alpha.items()}
        for by_alpha in loaded.predictions
    ]
    return moc_scores(windows, truths, DEFAULT_OBSERVE, DEFAULT_PREDICT, num_classes=len(classes))


def run(args: argparse.Namespace) -> int:
    try:
        scores = evaluate(args)
    except DataError as error:
        for line in str(error).splitlines():
            prefixed = line.startswith(("error:", "warning:"))
            print(line if prefixed else f"error: {line}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(scores, indent=2))
        return 0
    table = Table(title=f"{args.task} ({args.pred})")
    table.add_column("metric")
    table.add_column("%", justify="right")
    for key, value in scores.items():
        table.add_row(key, f"{value:.2f}")
    Console().print(table)
    return 0
