"""`mmfuse evaluate` on prediction folders, against the reference metrics on label names."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from mmfuse.commands import evaluate

sys.path.insert(0, str(Path(__file__).parent))
import reference_metrics as ref  # noqa: E402

CLASSES = ["background", "take_cup", "pour_milk", "stir", "open_lid", "add_sugar"]
MSTCN_HEADER = "### Frame level recognition: ###"
OBSERVE = (0.2, 0.3)
PREDICT = (0.1, 0.2, 0.3, 0.5)


def call(capsys: pytest.CaptureFixture, *argv: str | Path) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    evaluate.add_arguments(parser)
    code = evaluate.run(parser.parse_args([str(a) for a in argv]))
    out, err = capsys.readouterr()
    return code, out, err


def random_names(rng: np.random.Generator, num_frames: int, classes: list[str]) -> list[str]:
    names: list[str] = []
    while len(names) < num_frames:
        names += [classes[int(rng.integers(len(classes)))]] * int(rng.integers(1, 40))
    return names[:num_frames]


def noisy(rng: np.random.Generator, names: list[str], classes: list[str]) -> list[str]:
    shift = int(rng.integers(-4, 5))
    out = names[shift:] + names[:shift] if names else []
    return [classes[int(rng.integers(len(classes)))] if rng.random() < 0.03 else n for n in out]


def write_lines(path: Path, labels: list[str]) -> None:
    path.write_text("".join(f"{label}\n" for label in labels), encoding="utf-8")


def write_mapping(path: Path, classes: list[str]) -> None:
    path.write_text("".join(f"{i} {name}\n" for i, name in enumerate(classes)), encoding="utf-8")


def assert_json_matches(out: str, expected: dict[str, float]) -> None:
    scores = json.loads(out)
    assert list(scores) == list(expected)
    for key, value in expected.items():
        assert scores[key] == pytest.approx(value, abs=1e-6), key


def folders(root: Path) -> tuple[Path, Path]:
    """New ground-truth and prediction folders under ``root``."""
    gt_dir, pred_dir = root / "groundTruth", root / "results"
    gt_dir.mkdir()
    pred_dir.mkdir()
    return gt_dir, pred_dir


def make_segmentation(
    root: Path, seed: int, pred_classes: list[str], mstcn_format: bool = False, truth_classes: list[str] = CLASSES
) -> tuple[Path, Path, list, list]:
    """Ground truth and predictions in both formats (plain .txt and MS-TCN output), or MS-TCN's only."""
    rng = np.random.default_rng(seed)
    gt_dir, pred_dir = folders(root)
    truths, preds = [], []
    for v in range(int(rng.integers(3, 9))):
        truth = random_names(rng, int(rng.integers(1, 300)), truth_classes)
        pred = noisy(rng, truth, pred_classes)
        video = f"P{v:02d}_cam01_coffee"
        write_lines(gt_dir / f"{video}.txt", truth)
        if rng.random() < 0.5 or mstcn_format:
            (pred_dir / video).write_text(f"{MSTCN_HEADER}\n{' '.join(pred)}", encoding="utf-8")
        else:
            write_lines(pred_dir / f"{video}.txt", pred)
        truths.append(truth)
        preds.append(pred)
    return gt_dir, pred_dir, truths, preds


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("background", [[], ["background"], ["background", "stir"]])
def test_segmentation_matches_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture, seed: int, background: list[str]
) -> None:
    """Explicit ``--background NAME ...``; with no names, every class counts."""
    gt_dir, pred_dir, truths, preds = make_segmentation(tmp_path, seed, CLASSES)
    code, out, err = call(
        capsys, "segmentation", "--gt", gt_dir, "--pred", pred_dir, "--background", *background, "--json"
    )
    assert code == 0, err
    assert_json_matches(out, ref.segmentation_scores(preds, truths, set(background)))
    assert f"note: Edit and F1 {'leave out' if background else 'count every class'}" in err


def mstcn_eval(gt_dir: Path, pred_dir: Path) -> dict[str, float]:
    """MS-TCN's eval.py: its file reading and its ``bg_class=["background"]``, on the reference metrics."""
    truths, recognized = [], []
    for gt_file in sorted(gt_dir.glob("*.txt")):
        truths.append(gt_file.read_text().split("\n")[0:-1])
        recognized.append((pred_dir / gt_file.stem).read_text().split("\n")[1].split())
    return ref.segmentation_scores(recognized, truths, bg_class=["background"])


def mapping_flags(tmp_path: Path, with_mapping: bool, classes: list[str] = CLASSES) -> list[str | Path]:
    """``--mapping FILE`` over ``classes``, or nothing."""
    if not with_mapping:
        return []
    write_mapping(tmp_path / "mapping.txt", classes)
    return ["--mapping", tmp_path / "mapping.txt"]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("with_mapping", [False, True])
def test_no_flags_gives_mstcns_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture, seed: int, with_mapping: bool
) -> None:
    """MS-TCN's output folders, ground truth with a ``background`` class, no flags: eval.py's scores."""
    gt_dir, pred_dir, truths, preds = make_segmentation(tmp_path, seed, CLASSES, mstcn_format=True)
    extra = mapping_flags(tmp_path, with_mapping)
    code, out, err = call(capsys, "segmentation", "--gt", gt_dir, "--pred", pred_dir, *extra, "--json")
    assert code == 0, err
    expected = mstcn_eval(gt_dir, pred_dir)
    assert_json_matches(out, expected)
    assert err == "note: Edit and F1 leave out background class(es): background\n"
    assert expected != ref.segmentation_scores(preds, truths)  # dropping it changes the numbers

    code, out, _ = call(capsys, "segmentation", "--gt", gt_dir, "--pred", pred_dir, *extra, "--background")
    assert code == 0 and "Edit and F1 count every class" in out
    code, out, _ = call(capsys, "segmentation", "--gt", gt_dir, "--pred", pred_dir, *extra, "--json", "--background")
    assert_json_matches(out, ref.segmentation_scores(preds, truths, set()))


def test_no_background_class_drops_none_by_default(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    classes = ["SIL", *CLASSES[1:]]
    gt_dir, pred_dir, truths, preds = make_segmentation(tmp_path, 12, classes, truth_classes=classes)
    code, out, err = call(capsys, "segmentation", "--gt", gt_dir, "--pred", pred_dir, "--json")
    assert code == 0 and "count every class" in err
    assert_json_matches(out, ref.segmentation_scores(preds, truths, set()))


def test_a_predicted_label_not_in_the_mapping_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """With a mapping, a label outside it (a typo such as 'stri') is an error at its first line."""
    gt_dir, pred_dir, _, preds = make_segmentation(tmp_path, 11, CLASSES)
    videos = sorted(p.stem for p in gt_dir.glob("*.txt"))
    for video, pred in zip(videos[:2], preds):
        for old in pred_dir.glob(f"{video}*"):
            old.unlink()
        pred[3:5] = ["stri", "junk"]
    write_lines(pred_dir / f"{videos[0]}.txt", preds[0])
    (pred_dir / videos[1]).write_text(f"{MSTCN_HEADER}\n{' '.join(preds[1])}", encoding="utf-8")
    mapping = tmp_path / "mapping.txt"
    write_mapping(mapping, CLASSES)
    code, out, err = call(capsys, "segmentation", "--gt", gt_dir, "--pred", pred_dir, "--mapping", mapping)
    lines = assert_fails(code, err)
    assert out == "" and len(lines) == 4
    assert lines[0] == f"error: {pred_dir / videos[0]}.txt:4: predicted label 'stri' is not a class of the mapping file; did you mean 'stir'?"
    assert lines[1] == f"error: {pred_dir / videos[0]}.txt:5: predicted label 'junk' is not a class of the mapping file"
    assert lines[2].startswith(f"error: {pred_dir / videos[1]}:2: frame 4: predicted label 'stri'")


def test_predictions_for_the_test_videos_only_score_the_split_or_the_intersection(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    gt_dir, pred_dir, truths, preds = make_segmentation(tmp_path, 5, CLASSES)
    videos = sorted(p.stem for p in gt_dir.glob("*.txt"))
    for video in videos[:2]:  # MS-TCN writes the test videos' predictions only
        for path in pred_dir.glob(f"{video}*"):
            path.unlink()
    expected = ref.segmentation_scores(preds[2:], truths[2:], {"background"})
    split = tmp_path / "test.split1.bundle"
    split.write_text("".join(f"{video}.txt\n" for video in videos[2:]))
    code, out, err = call(capsys, "segmentation", "--gt", gt_dir, "--pred", pred_dir, "--split", split, "--json")
    assert code == 0 and f"scored the {len(videos) - 2} video(s) of {split}" in err
    assert_json_matches(out, expected)
    code, out, err = call(capsys, "segmentation", "--gt", gt_dir, "--pred", pred_dir, "--json")
    assert code == 0 and f"scored {len(videos) - 2} video(s)" in err and f"2 ground-truth video(s) without any left out ({videos[0]}, {videos[1]})" in err
    assert_json_matches(out, expected)
    split.write_text("".join(f"{video}.txt\n" for video in videos[1:]) + "P99_unknown.txt\n")
    code, out, err = call(capsys, "segmentation", "--gt", gt_dir, "--pred", pred_dir, "--split", split)
    assert len(assert_fails(code, err, f"video {videos[1]!r}", "P99_unknown")) == 2 and out == ""


def test_a_missing_prediction_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gt_dir, _, _, _ = make_segmentation(tmp_path, 6, CLASSES)
    for task in ("segmentation", "anticipation"):
        code, out, err = call(capsys, task, "--gt", gt_dir, "--pred", tmp_path / "nowhere")
        assert assert_fails(code, err) == [f"error: {tmp_path / 'nowhere'}: prediction folder does not exist"]


def make_anticipation(root: Path, seed: int, end_label: str) -> tuple[Path, Path, list, list]:
    rng = np.random.default_rng(seed)
    gt_dir, pred_dir = folders(root)
    truths, preds = [], []
    for v in range(int(rng.integers(3, 8))):
        num_frames = int(rng.choice([9, 90, 170, rng.integers(1, 600)]))  # 90, 170: short windows
        truth = random_names(rng, num_frames, CLASSES)
        video = f"rgb-{v:02d}"
        write_lines(gt_dir / f"{video}.txt", truth)
        by_alpha = {}
        for alpha in OBSERVE:
            start = int(alpha * num_frames)
            needed = int((alpha + 0.5) * num_frames) - start
            window = noisy(rng, truth[start : start + needed], CLASSES + [end_label])
            window += [end_label] * int(rng.integers(0, 3))  # extra lines are ignored
            write_lines(pred_dir / f"{video}.obs{round(alpha * 100)}.txt", window)
            by_alpha[alpha] = window
        truths.append(truth)
        preds.append(by_alpha)
    return gt_dir, pred_dir, truths, preds


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("with_mapping", [False, True])
def test_anticipation_matches_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture, seed: int, with_mapping: bool
) -> None:
    gt_dir, pred_dir, truths, preds = make_anticipation(tmp_path, seed, "END")
    extra = mapping_flags(tmp_path, with_mapping, CLASSES + ["END"])  # a label a predictor writes must be a class
    code, out, err = call(capsys, "anticipation", "--gt", gt_dir, "--pred", pred_dir, *extra, "--json")
    assert code == 0, err
    assert_json_matches(out, ref.moc_scores(preds, truths, OBSERVE, PREDICT))


def test_default_output_is_a_table_naming_metrics_and_background(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    gt_dir, pred_dir, _, _ = make_segmentation(tmp_path, 0, CLASSES)
    code, out, err = call(capsys, "segmentation", "--gt", gt_dir, "--pred", pred_dir)
    assert code == 0 and err == ""
    for text in ("accuracy", "edit", "f1@10", "f1@25", "f1@50", "frame accuracy", "edit score", "IoU"):
        assert text in out
    assert "Edit and F1 leave out background class(es): background" in out
    (tmp_path / "anticipation").mkdir()
    gt_dir, pred_dir, _, _ = make_anticipation(tmp_path / "anticipation", 0, "END")
    code, out, err = call(capsys, "anticipation", "--gt", gt_dir, "--pred", pred_dir)
    assert code == 0 and err == "" and "MoC: mean over classes" in out and "Edit" not in out


# --- bad input: exit 2, one line per problem naming the file, no traceback ------------


def assert_fails(code: int, err: str, *names: str) -> list[str]:
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    for name in names:
        assert any(name in line for line in lines), (name, err)
    return lines


def test_missing_and_mismatched_predictions_are_each_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    gt_dir, pred_dir, _, _ = make_segmentation(tmp_path, 3, CLASSES)
    videos = sorted(p.stem for p in gt_dir.glob("*.txt"))
    for path in pred_dir.glob(f"{videos[0]}*"):
        path.unlink()
    write_lines(pred_dir / f"{videos[1]}.txt", ["stir"] * 400)
    for path in pred_dir.glob(f"{videos[1]}"):
        path.unlink()
    split = tmp_path / "all.bundle"
    split.write_text("".join(f"{video}.txt\n" for video in videos))
    code, out, err = call(capsys, "segmentation", "--gt", gt_dir, "--pred", pred_dir, "--split", split, "--json")
    lines = assert_fails(code, err, videos[0], f"{videos[1]}.txt")
    assert len(lines) == 2 and out == ""
    assert "missing" in lines[0] and "400 predicted frames" in lines[1]


def test_ambiguous_prediction_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gt_dir, pred_dir, truths, _ = make_segmentation(tmp_path, 4, CLASSES)
    video = sorted(p.stem for p in gt_dir.glob("*.txt"))[0]
    write_lines(pred_dir / f"{video}.txt", truths[0])
    (pred_dir / video).write_text(f"{MSTCN_HEADER}\n{' '.join(truths[0])}", encoding="utf-8")
    code, _, err = call(capsys, "segmentation", "--gt", gt_dir, "--pred", pred_dir)
    assert_fails(code, err, "ambiguous")


def test_too_short_anticipation_window_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    gt_dir, pred_dir, truths, preds = make_anticipation(tmp_path, 5, "END")
    video = sorted(p.stem for p in gt_dir.glob("*.txt"))[0]
    num_frames = len(truths[0])
    needed = min(int(0.8 * num_frames) - int(0.3 * num_frames), int(0.5 * num_frames))  # R3D's decoded window caps it
    short = pred_dir / f"{video}.obs30.txt"
    write_lines(short, preds[0][0.3][: needed - 1])
    code, _, err = call(capsys, "anticipation", "--gt", gt_dir, "--pred", pred_dir, "--json")
    lines = assert_fails(code, err, str(short))
    assert f"need at least {needed}" in err and len(lines) == 1
    (pred_dir / f"{video}.obs20.txt").unlink()
    code, _, err = call(capsys, "anticipation", "--gt", gt_dir, "--pred", pred_dir)
    assert len(assert_fails(code, err, f"{video}.obs20.txt", str(short))) == 2


def test_unknown_ground_truth_label_with_mapping(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gt_dir, pred_dir, _, _ = make_segmentation(tmp_path, 6, CLASSES)
    mapping = tmp_path / "mapping.txt"
    write_mapping(mapping, CLASSES[:-1])  # "add_sugar" left out
    code, _, err = call(capsys, "segmentation", "--gt", gt_dir, "--pred", pred_dir, "--mapping", mapping)
    bad = [p.name for p in gt_dir.glob("*.txt") if "add_sugar" in p.read_text()]
    assert bad
    lines = assert_fails(code, err, *bad)  # and any prediction of another video holding it
    assert len([line for line in lines if str(gt_dir) in line]) == len(bad) and all("add_sugar" in line for line in lines)


def test_unknown_background_with_mapping(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gt_dir, pred_dir, _, _ = make_segmentation(tmp_path, 7, CLASSES)
    write_mapping(tmp_path / "mapping.txt", CLASSES)
    code, _, err = call(
        capsys, "segmentation", "--gt", gt_dir, "--pred", pred_dir,
        "--mapping", tmp_path / "mapping.txt", "--background", "SIL",
    )
    assert_fails(code, err, "SIL")


def test_empty_or_missing_ground_truth_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "gt").mkdir()
    code, _, err = call(capsys, "segmentation", "--gt", tmp_path / "gt", "--pred", tmp_path)
    assert_fails(code, err, str(tmp_path / "gt"))
    code, _, err = call(capsys, "anticipation", "--gt", tmp_path / "nowhere", "--pred", tmp_path)
    assert_fails(code, err, str(tmp_path / "nowhere"))


def test_unreadable_and_malformed_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gt_dir, pred_dir, _, _ = make_segmentation(tmp_path, 8, CLASSES)
    videos = sorted(p.stem for p in gt_dir.glob("*.txt"))
    for path in pred_dir.glob(f"{videos[0]}*"):
        path.unlink()
    (pred_dir / f"{videos[0]}.txt").write_bytes(b"\xff\xfe\x00garbage")
    (gt_dir / f"{videos[1]}.txt").write_text("stir\n\nstir\n", encoding="utf-8")
    (gt_dir / f"{videos[2]}.txt").write_text("\n", encoding="utf-8")
    code, _, err = call(capsys, "segmentation", "--gt", gt_dir, "--pred", pred_dir)
    lines = assert_fails(code, err, f"{videos[0]}.txt", f"{videos[1]}.txt:2", f"{videos[2]}.txt")
    assert len(lines) == 3
    assert "UTF-8" in lines[0] and "blank line" in lines[1] and "empty" in lines[2]


def test_missing_mapping_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gt_dir, pred_dir, _, _ = make_segmentation(tmp_path, 9, CLASSES)
    missing = tmp_path / "mapping.txt"
    code, _, err = call(capsys, "segmentation", "--gt", gt_dir, "--pred", pred_dir, "--mapping", missing)
    assert_fails(code, err, str(missing))


def test_unseen_background_without_mapping_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    gt_dir, pred_dir, truths, preds = make_segmentation(tmp_path, 10, CLASSES)
    code, out, err = call(
        capsys, "segmentation", "--gt", gt_dir, "--pred", pred_dir,
        "--background", "background", "SIL", "--json",
    )
    assert code == 0 and "warning: --background SIL" in err
    assert_json_matches(out, ref.segmentation_scores(preds, truths, {"background"}))
