"""``utkinect``: the real files where present (``tests/real_data.py``), small written copies always."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from real_data import UTKINECT, needs_utkinect
from utkinect_fixtures import FRAMES, LABELS, joints_for, make_utkinect_dataset

from mmfuse.cli import main
from mmfuse.data.utkinect import ACTIONS, PARENTS, read_joints
from mmfuse.errors import ConfigError, DataError
from mmfuse.registry import create_dataset


def _warnings(issues: list, *words: str) -> list:
    return [i for i in issues if i.severity == "warning" and all(w in f"{i.location} {i.message}" for w in words)]


def _label_of(video, frame: int, classes: list[str]) -> str:
    return classes[int(video.labels[list(video.meta["frames"]).index(frame)])]


# --- the real dataset ---------------------------------------------------------------------------


@needs_utkinect
def test_real_dataset_reports_every_documented_irregularity_as_a_warning() -> None:
    issues = create_dataset("utkinect", root=UTKINECT).validate()
    assert [i for i in issues if i.severity == "error"] == []
    assert _warnings(issues, "joints_s01_e01.txt", "s01_e01", "appear on two consecutive lines")
    assert _warnings(issues, "s01_e01", "irregularly spaced")
    assert _warnings(issues, "s01_e01", "'pull' (1640-1686)", "listed after 'push'")
    assert _warnings(issues, "s03_e01", "'push' (2556-3622) overlaps 'throw' (3226-3282)", "('throw') keeps them")
    assert _warnings(issues, "actionLabel.txt:215", "s10_e02", "'carry'", "NaN NaN")
    assert _warnings(issues, "s10_e02", "stray whitespace")
    sequences = {f"s{s:02d}_e{e:02d}" for s in range(1, 11) for e in (1, 2)}
    assert {s for s in sequences if _warnings(issues, s, "irregularly spaced")} == sequences


@needs_utkinect
def test_real_duplicate_index_keeps_its_first_line() -> None:
    path = UTKINECT / "joints" / "joints_s01_e01.txt"
    frames, joints, _ = read_joints(path, "x", "s01_e01")
    rows = [line.split() for line in path.read_text().splitlines()]
    first_214 = next(row for row in rows if row[0] == "214")
    assert (frames == 214).sum() == 1 and sum(row[0] == "214" for row in rows) == 2
    assert np.allclose(joints[list(frames).index(214)].ravel(), np.array(first_214[1:], dtype=float), atol=1e-6)
    assert (np.diff(frames) > 0).all()


@needs_utkinect
def test_real_labels_follow_the_intervals_with_the_first_listed_winning() -> None:
    dataset = create_dataset("utkinect", root=UTKINECT)
    videos = {v.name: v for v in dataset.videos("train") + dataset.videos("test")}
    assert sorted(videos) == sorted(f"s{s:02d}_e{e:02d}" for s in range(1, 11) for e in (1, 2))
    assert all(int(v.name[1:3]) % 2 == 1 for v in dataset.videos("train"))
    s01, s03, s10 = videos["s01_e01"], videos["s03_e01"], videos["s10_e02"]
    assert _label_of(s01, 190, dataset.classes) == "background"
    frames = s01.meta["frames"]
    inside_walk = frames[(frames >= 252) & (frames <= 390)]
    assert all(_label_of(s01, int(f), dataset.classes) == "walk" for f in inside_walk)
    assert _label_of(s01, 1686, dataset.classes) == "push"  # pull 1640-1686 is listed after push 1686-1748
    frames3 = s03.meta["frames"]
    throw = frames3[(frames3 >= 3226) & (frames3 <= 3282)]
    push_only = frames3[(frames3 >= 2556) & (frames3 < 3226)]
    assert len(throw) and all(_label_of(s03, int(f), dataset.classes) == "throw" for f in throw)
    assert all(_label_of(s03, int(f), dataset.classes) == "push" for f in push_only)
    assert "carry" not in {dataset.classes[i] for i in np.unique(s10.labels)}
    for video in videos.values():
        assert video.features["joint"].shape == (video.num_frames, 60)
        assert np.isfinite(video.features["bone"]).all()


@needs_utkinect
def test_real_validate_command_exits_zero_with_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "dataset=utkinect", f"dataset.root={UTKINECT}"]) == 0
    out = capsys.readouterr().out
    assert "warning:" in out and "s10_e02" in out and "utkinect: no errors." in out


# --- written copies -----------------------------------------------------------------------------


def test_skeleton_streams_follow_the_kinect_tree(tmp_path: Path) -> None:
    root = make_utkinect_dataset(tmp_path)
    dataset = create_dataset(
        "utkinect", root=root, train_subjects=[1], modalities=["joint", "bone", "joint_motion", "bone_motion"]
    )
    video = dataset.videos("train")[0]
    joints = joints_for(FRAMES["s01_e01"], 0)
    keep = [0, 1, *range(3, len(FRAMES["s01_e01"]))]  # index 4 appears twice: the first line is kept
    joints = joints[keep]
    features = {m: video.features[m].reshape(-1, 20, 3) for m in video.features}
    assert np.allclose(features["joint"], joints, atol=1e-6)
    left_elbow, left_shoulder, hip_centre = 5, 4, 0
    assert np.allclose(features["bone"][:, left_elbow], joints[:, left_elbow] - joints[:, left_shoulder], atol=1e-6)
    assert np.allclose(features["bone"][:, hip_centre], 0)
    assert np.allclose(features["joint_motion"][3], joints[4] - joints[3], atol=1e-6)
    assert np.allclose(features["joint_motion"][-1], 0) and np.allclose(features["bone_motion"][-1], 0)
    bone = joints - joints[:, list(PARENTS)]
    assert np.allclose(features["bone_motion"][:-1], bone[1:] - bone[:-1], atol=1e-5)


def test_labels_background_overlap_and_nan_rules(tmp_path: Path) -> None:
    dataset = create_dataset("utkinect", root=make_utkinect_dataset(tmp_path), train_subjects=[1, 3])
    videos = {v.name: v for v in dataset.videos("train") + dataset.videos("test")}
    classes = dataset.classes
    assert classes == ["background", *ACTIONS]
    names = lambda video: [classes[i] for i in video.labels]  # noqa: E731
    s01 = dict(zip(videos["s01_e01"].meta["frames"].tolist(), names(videos["s01_e01"])))
    assert s01 == {
        2: "background", 4: "background", 8: "background", 12: "walk", 14: "walk", 20: "walk", 26: "walk",
        30: "walk", 34: "background", 40: "sitDown", 46: "sitDown", 52: "sitDown", 60: "sitDown", 64: "pull",
        66: "pull", 70: "push", 74: "push", 80: "push", 90: "push", 96: "background",
    }
    s03 = dict(zip(videos["s03_e01"].meta["frames"].tolist(), names(videos["s03_e01"])))
    assert [s03[f] for f in (44, 48, 50, 56, 60, 70, 80)] == ["push", "push", "throw", "throw", "throw", "push", "push"]
    assert "carry" not in names(videos["s02_e01"])


def test_fixture_quirks_are_warnings_naming_the_sequence(tmp_path: Path) -> None:
    issues = create_dataset("utkinect", root=make_utkinect_dataset(tmp_path), train_subjects=[1, 3]).validate()
    assert [i for i in issues if i.severity == "error"] == []
    assert _warnings(issues, "joints_s01_e01.txt", "1 frame index(es)", "first 4, line 3")
    assert _warnings(issues, "actionLabel.txt:3", "s01_e01", "stray whitespace", "line(s) 3, 5")
    assert _warnings(issues, "actionLabel.txt:5", "s01_e01", "'pull' (64-70)", "listed after 'push'")
    assert _warnings(issues, "s01_e01", "'pull' (64-70) overlaps 'push' (70-90) on frames 70-70")
    assert _warnings(issues, "actionLabel.txt:8", "s02_e01", "'carry'", "NaN NaN")
    assert _warnings(issues, "s03_e01", "'push' (44-80) overlaps 'throw' (50-60)")


@pytest.mark.parametrize(
    ("lines", "location", "words"),
    [
        (["walk 10 30"], "actionLabel.txt:2", "expected 'action: start end'"),
        (["jump: 10 30"], "actionLabel.txt:2", "unknown action 'jump'"),
        (["walk: 30 10"], "actionLabel.txt:2", "starts at 30 after it ends at 10"),
        (["walk: 10 x"], "actionLabel.txt:2", "needs two frame numbers"),
        (["walk: 10 20", "walk: 30 40"], "actionLabel.txt:3", "labels 'walk' twice"),
    ],
)
def test_malformed_label_lines_are_errors_with_their_line(
    tmp_path: Path, lines: list[str], location: str, words: str
) -> None:
    root = make_utkinect_dataset(tmp_path, {"s01_e01": lines, "s02_e01": LABELS["s02_e01"]})
    dataset = create_dataset("utkinect", root=root, train_subjects=[1])
    errors = [i for i in dataset.validate() if i.severity == "error"]
    assert len(errors) == 1 and errors[0].location.endswith(location) and words in errors[0].message
    with pytest.raises(DataError, match=words.replace("(", r"\(").replace(")", r"\)")):
        dataset.videos("train")


def test_broken_joint_files_are_errors(tmp_path: Path) -> None:
    root = make_utkinect_dataset(tmp_path, {"s01_e01": LABELS["s01_e01"], "s02_e01": LABELS["s02_e01"]})
    path = root / "joints" / "joints_s01_e01.txt"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:3] + [" ".join(lines[3].split()[:-1])] + lines[4:]) + "\n")
    [issue] = [i for i in create_dataset("utkinect", root=root, train_subjects=[1]).validate() if i.severity == "error"]
    assert "joints_s01_e01.txt" in issue.location and "restore the original file" in issue.message
    path.write_text("\n".join([lines[1], lines[0], *lines[2:]]) + "\n")
    [issue] = [i for i in create_dataset("utkinect", root=root, train_subjects=[1]).validate() if i.severity == "error"]
    assert issue.location.endswith("joints_s01_e01.txt:2") and "goes back in time" in issue.message
    path.write_text("\n".join(lines) + "\n")
    (root / "joints" / "actionLabel.txt").write_text("s01_e01\nwalk: 10 30\n")
    [issue] = [i for i in create_dataset("utkinect", root=root, train_subjects=[1]).validate() if i.severity == "error"]
    assert "has no block for s02_e01" in issue.message


def test_rgb_features_are_read_at_the_skeleton_frames(tmp_path: Path) -> None:
    root = make_utkinect_dataset(tmp_path, {"s01_e01": LABELS["s01_e01"], "s02_e01": LABELS["s02_e01"]})
    (root / "features" / "rgb").mkdir(parents=True)
    for name in ("s01_e01", "s02_e01"):
        first, last = FRAMES[name][0], FRAMES[name][-1]
        rows = np.arange(first, last + 1, dtype=np.float32)[:, None] * np.ones((1, 7), dtype=np.float32)
        np.save(root / "features" / "rgb" / f"{name}.npy", rows.T)
    dataset = create_dataset("utkinect", root=root, train_subjects=[1], modalities=["joint", "rgb"])
    assert dataset.feature_dims == {"joint": 60, "rgb": 7}
    video = dataset.videos("train")[0]
    assert np.array_equal(video.features["rgb"][:, 0], video.meta["frames"].astype(np.float32))
    np.save(root / "features" / "rgb" / "s01_e01.npy", np.zeros((7, 50), dtype=np.float32))
    [issue] = [i for i in dataset.validate() if i.severity == "error"]
    assert issue.location == "features/rgb/s01_e01.npy" and "has 50 frames" in issue.message
    for name in ("s01_e01", "s02_e01"):
        path = root / "features" / "rgb" / f"{name}.npy"
        np.save(path, np.arange(FRAMES[name][0], FRAMES[name][-1] + 1, dtype=np.float32)[:, None].repeat(7, 1))
    time_first = create_dataset("utkinect", root=root, train_subjects=[1], modalities=["rgb"], layout="time_first")
    assert np.array_equal(time_first.videos("train")[0].features["rgb"][:, 0], video.meta["frames"].astype(np.float32))


def test_options_are_checked(tmp_path: Path) -> None:
    root = make_utkinect_dataset(tmp_path)
    with pytest.raises(ConfigError, match="dataset.root"):
        create_dataset("utkinect")
    with pytest.raises(ConfigError, match="joint, bone, joint_motion, bone_motion, rgb, depth"):
        create_dataset("utkinect", root=root, modalities=["bones"])
    with pytest.raises(ConfigError, match="dataset.layout"):
        create_dataset("utkinect", root=root, layout="frames_first")
    with pytest.raises(ConfigError, match="not classes"):
        create_dataset("utkinect", root=root, background=["idle"])
    with pytest.raises(DataError, match="no joints/ folder"):
        create_dataset("utkinect", root=tmp_path / "nowhere")
    with pytest.raises(DataError, match="no test sequence"):
        create_dataset("utkinect", root=root, train_subjects=[1, 2, 3]).videos("test")


def test_bench_on_a_written_copy_counts_the_warnings_and_runs(
    tmp_path: Path, tiny_paths: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_utkinect_dataset(tmp_path / "utkinect")
    overrides = [
        "dataset=utkinect", f"dataset.root={root}", "dataset.train_subjects=[1,3]", "dataset.train.epochs=1",
        "fusion=concat,single", "task=segmentation", "seed=1", "model.max_len=16", *tiny_paths,
    ]
    assert main(["bench", *overrides]) == 0
    out = capsys.readouterr().out
    warnings = [i for i in create_dataset("utkinect", root=root, train_subjects=[1, 3]).validate()]
    assert f"utkinect: {len(warnings)} warning(s)" in out and "stray whitespace" not in out
    assert "single[modality=joint," in out and "single[modality=bone," in out and "0 failed" in out
