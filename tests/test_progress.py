"""A grid's progress line (issue 16): [k/N], time elapsed, an estimate of the time left."""
from __future__ import annotations

from mmfuse.commands.hydra_app import count_jobs
from mmfuse.engine.progress import duration, progress_line, write_progress
from mmfuse.results.metric_notes import named_header


def test_progress_line_counts_jobs_of_earlier_sweeps_and_estimates_the_rest(tmp_path):
    assert progress_line(tmp_path, 0) is None
    write_progress(tmp_path, first=4, total=10, started=1000.0)
    assert progress_line(tmp_path, 0, now=1080.0) == "[5/10] 1 min 20 s elapsed, about 2 min 0 s left"
    write_progress(tmp_path, first=0, total=3, started=1000.0)
    assert progress_line(tmp_path, 0, now=1002.0) == "[1/3] 2 s elapsed"
    assert duration(3 * 3600 + 125) == "3 h 2 min"


def test_count_jobs_is_the_product_of_the_axes_a_later_override_replacing_an_earlier():
    assert count_jobs(["fusion=concat,rtf", "seed=1,2,3", "task=segmentation"]) == 6
    assert count_jobs(["seed=1,2,3", "seed=4,5", "experiment=default"]) == 2
    assert count_jobs(["seed=range(0,4)", "model.dim=32"]) == 4


def test_named_header_says_the_metric_where_the_header_does_not():
    assert named_header("moc_obs20_pred10", "α=0.2 β=0.1") == "MoC α=0.2 β=0.1"
    assert named_header("f1@10", "F1@10") == "F1@10" and named_header("accuracy", "Acc") == "Acc"
