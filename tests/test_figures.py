"""Figures of run records: every kind the records allow, as PNG and PDF, byte-identical when drawn again."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from mmfuse.cli import main
from mmfuse.figures import draw_figures
from mmfuse.figures.board import boards, level_rows, spread
from mmfuse.figures.robustness import primary

NEW_FIELDS = ("corruption", "trained_cell", "representation", "train_curves")


def record(cell: str = "rtf", seed: int = 0, value: float = 80.0, corruption: tuple | None = None) -> dict:
    """A finished run of the schema the figures read; ``corruption``: (name, modality, level)."""
    spectrum = [0.5, 0.3, 0.15, 0.05]
    streams = {f"{m}/blended": [0.4, 0.3, 0.2, 0.1] for m in ("m0", "m1")} if cell == "rtf" else {}
    gains = {"m0": 1.2 + seed / 10, "m1": 1.5 - (corruption or (0, 0, 0))[2] / 2} if cell == "rtf" else {}
    found = {"name": "none"}
    if corruption:
        name, modality, level = corruption
        found = {"name": name, "modality": modality, "level": level, "fill": "mean", "seed": 0}
    return {
        "status": "finished", "task": "segmentation", "dataset": "synthetic", "seed": seed, "method": cell,
        "cell": cell if not corruption else f"{cell}[corruption={name},corruption.level={level},corruption.modality={modality}]",
        "trained_cell": cell, "corruption": found,
        "metrics": {"accuracy": value, "edit": value / 2},
        "columns": [{"key": "accuracy", "header": "Acc", "higher_is_better": True},
                    {"key": "edit", "header": "Edit", "higher_is_better": True}],
        "representation": {"spectra": {"m0": spectrum, "m1": spectrum, "fused": spectrum, **streams},
                           "rank_gain": gains, "rank_gain_harmonic_mean": 1.3 if gains else None},
        "train_curves": {"loss": [2.0, 1.0, 0.5 + seed / 10], "dagr_dispersion": [0.3, 0.2, 0.1]},
    }


def bench() -> list[dict]:
    """Two cells, two seeds, clean and under noise on m1 and a missing m0."""
    corruptions = [None, ("noise", "m1", 0.5), ("noise", "m1", 1.0), ("missing", "m0", 0.5)]
    return [
        record(cell, seed, 80.0 - 20 * (c[2] if c else 0) + seed, c)
        for cell in ("rtf", "concat") for seed in (0, 1) for c in corruptions
    ]


def test_every_figure_is_written_as_png_and_pdf_and_again_byte_identical(tmp_path):
    written = draw_figures(bench(), tmp_path / "a")
    kinds = ["robustness-noise", "robustness-missing", "spectra", "rank-gains", "rank-gain-under-noise", "training-curves"]
    assert sorted(p.name for p in written) == sorted(f"{k}-segmentation-synthetic.{s}" for k in kinds for s in ("png", "pdf"))
    again = draw_figures(list(reversed(bench())), tmp_path / "b")
    assert [p.name for p in again] == [p.name for p in written]
    for first, second in zip(written, again):
        assert first.stat().st_size > 1000
        assert first.read_bytes() == second.read_bytes(), first.name
        assert b"CreationDate" not in first.read_bytes()


def test_figures_are_skipped_where_the_records_lack_their_data(tmp_path):
    old = [{k: v for k, v in r.items() if k not in NEW_FIELDS} for r in bench() if r["corruption"]["name"] == "none"]
    assert draw_figures(old, tmp_path / "old") == []
    assert not (tmp_path / "old").exists()
    concat = [r for r in bench() if r["trained_cell"] == "concat"]  # no streams, so no rank gains
    for r in concat:
        del r["train_curves"]
    names = {p.stem for p in draw_figures(concat, tmp_path / "concat")}
    assert names == {"robustness-noise-segmentation-synthetic", "robustness-missing-segmentation-synthetic",
                     "spectra-segmentation-synthetic"}


def test_figure_files_are_named_by_a_path_safe_dataset_label(tmp_path):
    runs = [dict(r, dataset="utkinect[root=a b/c]") for r in bench()[:1]]
    assert {p.name for p in draw_figures(runs, tmp_path)} == {"spectra-segmentation-utkinect[root=ab_c].png",
                                                               "spectra-segmentation-utkinect[root=ab_c].pdf",
                                                               "rank-gains-segmentation-utkinect[root=ab_c].png",
                                                               "rank-gains-segmentation-utkinect[root=ab_c].pdf",
                                                               "training-curves-segmentation-utkinect[root=ab_c].png",
                                                               "training-curves-segmentation-utkinect[root=ab_c].pdf"}


def test_robustness_curve_is_the_mean_over_seeds_with_the_clean_runs_at_level_zero():
    clean, noisy = [80.0, 90.0, 73.0, 10.0], [60.0, 64.0, 71.0]  # seed 3 has no noisy run, so no say
    runs = [record("rtf", seed, value) for seed, value in enumerate(clean)]
    runs += [record("rtf", seed, value, ("noise", "m1", 0.5)) for seed, value in enumerate(noisy)]
    [board] = boards(runs)
    curve = spread(level_rows(board, "noise", lambda run: primary(board, run)), ["cell", "level"])
    assert curve["level"].tolist() == [0.0, 0.5]
    assert curve["mean"].tolist() == pytest.approx([81.0, 65.0])
    assert curve["std"].tolist() == pytest.approx([np.std(clean[:3], ddof=1), np.std(noisy, ddof=1)])
    assert curve["n"].tolist() == [3, 3]


def test_plot_command_writes_the_figures_and_names_a_missing_folder(tmp_path, capsys):
    for index, run in enumerate(bench()):
        (tmp_path / "runs" / str(index)).mkdir(parents=True)
        (tmp_path / "runs" / str(index) / "result.json").write_text(json.dumps(run))
    assert main(["plot", str(tmp_path / "runs"), "--out", str(tmp_path / "figures")]) == 0
    assert "spectra-segmentation-synthetic.pdf" in capsys.readouterr().out
    assert len(list((tmp_path / "figures").glob("*.png"))) == 6
    assert main(["plot", str(tmp_path / "nothing")]) == 2
    assert "nothing: no such directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["plot", str(tmp_path / "empty")]) == 2
    assert "no finished run records" in capsys.readouterr().err


def test_importing_mmfuse_and_its_figures_loads_no_matplotlib():
    code = "import sys, mmfuse, mmfuse.figures; print('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_cells_are_named_by_what_sets_them_apart():
    from mmfuse.figures.board import short_names

    setup = "model.dim=128,train_observe=[0.2,0.3]"
    cells = [f"concat[{setup}]", f"rtf[{setup}]", f"rtf[{setup},preset=official]"]
    assert short_names(cells) == dict(zip(cells, ["concat", "rtf", "rtf[preset=official]"]))
    assert short_names([f"rtf[{setup}]"]) == {f"rtf[{setup}]": f"rtf[{setup}]"}


def test_anticipation_boards_plot_moc_averaged_over_their_columns():
    from mmfuse.figures.board import Board
    from mmfuse.metrics.columns import Column

    columns = [Column("moc_a", "α=0.2 β=0.1"), Column("moc_b", "α=0.2 β=0.5")]
    run = {"metrics": {"moc_a": 10.0, "moc_b": 30.0}}
    assert Board("anticipation", "d", [], columns).value(run) == 20.0
    assert Board("segmentation", "d", [], columns).value(run) == 10.0
    assert Board("anticipation", "d", [], columns).value({"metrics": {"moc_a": 1.0}}) is None


def test_a_long_dataset_label_wraps_inside_the_figures_title():
    from mmfuse.figures import style
    from mmfuse.figures.board import Board
    from mmfuse.metrics.columns import Column

    board = Board("segmentation", "synthetic[max_frames=120,min_frames=60,num_test=3,num_train=6]", [], [Column("a", "A")])
    with style.context():
        figure, _ = style.new_figure(1, "Robustness to noise", board)
    lines = figure.get_suptitle().splitlines()
    assert len(lines) > 2 and max(map(len, lines)) <= figure.get_figwidth() * style.TITLE_CHARACTERS_PER_INCH
