"""What each change to anticipation training and decoding does, measured (issue 10).

FUTR and R3D train with **one** end token after the future transcript (the queries after it are
padding, ignored by the loss) and on **every** training video at **every** training α each epoch;
R3D's prediction script falls back to the last query's class where the first query already
predicts the end. mmfuse used to fill every query after the transcript with an end target, draw
one α per video and epoch, and leave such a window "end" (every frame wrong). This script runs
the old behaviour and each change on top of it, cumulatively, with everything else fixed:

- ``before``: the old task (the three behaviours above restored by patching this process only);
- ``+end_once``: one end token, then padding;
- ``+every_alpha``: every video at every α each epoch;
- ``+fallback``: R3D's fallback;
- ``+epoch_scale``: the dataset's ``train.task_epoch_scale`` (``synthetic``'s anticipation runs
  0.3 of its epochs and `utkinect` 0.5, each epoch now three times as long). This is mmfuse now;
  every variant before it trains for the dataset's full epoch count, as the old task did;
- ``+length_pool``: on top, batches cut from pools of four batches' worth of shuffled samples
  sorted by length instead of FUTR's random batches (``task.length_pool=4``, the ``r3d``
  experiment's choice, where it saves a third of the CPU time; not the default).

on the default dataset (``synthetic``, the default method ``concat`` on ``tcn``) and on the real
UTKinect skeletons (``../shared/data/utkinect``, joint + bone streams), seeds 1, 10, 13452. It
reports the mean of the eight MoC values (mean ± std over seeds), the share of test windows
decoded as one constant class, and training seconds, and writes
``bench/results/anticipation_protocol.md``::

    python bench/anticipation_protocol.py [--work /tmp/anticipation_protocol] [--seeds 1 10 13452]
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import statistics
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

import mmfuse.tasks.anticipation as anticipation
from mmfuse.cli import main as mmfuse_main
from mmfuse.tasks.anticipation import AnticipationTask, observe

ROOT = Path(__file__).resolve().parents[1]
UTKINECT = ROOT.parent / "shared" / "data" / "utkinect"
RESULT = ROOT / "bench" / "results" / "anticipation_protocol.md"
DATASETS = {
    "synthetic (default)": [],
    "UTKinect skeletons": ["dataset=utkinect", f"dataset.root={UTKINECT}"],
}
VARIANTS = ("before", "+end_once", "+every_alpha", "+fallback", "+epoch_scale", "+length_pool")


def one_alpha_per_video(self, videos, batch_size, max_len, rng):  # the old plan
    alphas = rng.choice(self.train_observe, size=len(videos))
    observations = [o for v, a in zip(videos, alphas) if (o := observe(v, float(a), self.future, max_len))]
    order = rng.permutation(len(observations))
    return [[observations[i] for i in order[first : first + batch_size]] for first in range(0, len(order), batch_size)]


def end_in_every_free_query(self, observation):  # the old targets
    classes, durations = TARGETS(self, observation)
    classes[classes == -100] = self.end_class
    return classes, durations


def no_fallback(classes, durations, logits, length, end_class):  # the old decoding
    if classes[0] == end_class:
        return np.full(length, end_class, dtype=np.int64)
    return DECODE(classes, durations, logits, length, end_class)


DECODE = anticipation.decode
TARGETS = AnticipationTask._targets


@contextlib.contextmanager
def variant(name: str) -> Iterator[None]:
    """The task as it was, with the changes up to ``name`` applied."""
    level = min(VARIANTS.index(name), 3)
    patches: list[tuple[object, str, Callable]] = []
    if level < 1:
        patches.append((AnticipationTask, "_targets", end_in_every_free_query))
    if level < 2:
        patches.append((AnticipationTask, "plan", one_alpha_per_video))
    if level < 3:
        patches.append((anticipation, "decode", no_fallback))
    saved = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in patches]
    for owner, attr, value in patches:
        setattr(owner, attr, value)
    try:
        yield
    finally:
        for owner, attr, value in saved:
            setattr(owner, attr, value)


def run(work: Path, name: str, dataset: Sequence[str], seed: int) -> dict:
    runs = work / name.replace("+", "plus_")
    pool = ["task.length_pool=4"] if name == "+length_pool" else []
    epochs = [] if VARIANTS.index(name) >= VARIANTS.index("+epoch_scale") else ["++dataset.train.task_epoch_scale.anticipation=1.0"]
    with variant(name), contextlib.redirect_stdout(io.StringIO()):
        code = mmfuse_main(["run", "task=anticipation", f"seed={seed}", f"paths.runs={runs}", *pool, *epochs, *dataset])
    if code:
        raise SystemExit(f"{name} seed {seed}: mmfuse run failed ({code})")
    records = [json.loads(p.read_text()) for p in runs.rglob("result.json")]
    (record,) = [r for r in records if r["seed"] == seed and r["config"]["dataset"]["name"] == (dataset_name(dataset))]
    return record


def dataset_name(dataset: Sequence[str]) -> str:
    return next((o.split("=", 1)[1] for o in dataset if o.startswith("dataset=")), "synthetic")


def summary(records: list[dict]) -> tuple[str, str, str]:
    means = [statistics.mean(r["metrics"].values()) for r in records]
    spread = f" ± {statistics.stdev(means):.1f}" if len(means) > 1 else ""
    constant = statistics.mean(r["diagnostics"]["constant_windows"] for r in records)
    empty = statistics.mean(r["diagnostics"]["empty_transcript_windows"] for r in records)
    seconds = statistics.mean(r["train_seconds"] for r in records)
    return f"{statistics.mean(means):.1f}{spread}", f"{100 * constant:.0f} %", f"{100 * empty:.0f} %", f"{seconds:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/anticipation_protocol"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 10, 13452])
    args = parser.parse_args()
    rows = []
    for label, dataset in DATASETS.items():
        if dataset and not UTKINECT.is_dir():
            print(f"skipped {label}: {UTKINECT} is absent")
            continue
        for name in VARIANTS:
            records = [run(args.work, name, dataset, seed) for seed in args.seeds]
            rows.append((label, name, *summary(records)))
            print(" | ".join(rows[-1]), flush=True)
    lines = [
        "# Anticipation as FUTR and R3D train it: what each change does",
        "",
        f"Written by `bench/anticipation_protocol.py` ({dt.datetime.now():%Y-%m-%d %H:%M}), seeds "
        f"{', '.join(map(str, args.seeds))}, each dataset's own budget and the default method (`concat` on "
        "`tcn`, `task=anticipation`). Changes are cumulative, top to bottom; `+epoch_scale` is mmfuse now "
        "(every row above it trains for the dataset's full epoch count); `+length_pool` is the `r3d` "
        "experiment's batching on top of it. "
        "MoC: the mean of the eight (α, β) values, mean ± std over seeds. Constant: share of test "
        "(video, α) windows decoded as one class throughout. Empty: share of windows whose first query "
        "predicts the end (left \"end\" before `+fallback`, every frame wrong). Train s: seconds of "
        "training per run.",
        "",
        "| dataset | variant | mean MoC | constant windows | empty transcripts | train s |",
        "|---|---|---|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in rows),
        "",
    ]
    RESULT.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
