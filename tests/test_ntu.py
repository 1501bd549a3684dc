"""The ``ntu`` adapter: the .skeleton format, the main-body rule, streams, published splits, validation."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from ntu_fixtures import (
    EMPTY_SAMPLE,
    SAMPLES,
    TWO_BODY_SAMPLE,
    body_line,
    joint_line,
    make_ntu_dataset,
    random_body,
    skeleton_text,
    write_skeleton,
)

from mmfuse.cli import main
from mmfuse.data.ntu import CLASSES, PARENTS, Sample, main_body, parse_skeleton, read_skeleton
from mmfuse.errors import ConfigError, DataError
from mmfuse.registry import create_dataset

SKELETONS = "nturgb+d_skeletons"


def _body(offset: float) -> np.ndarray:
    """(25, 3) joints with distinct, exactly written values: joint j = (j + offset, -j, 3 + j / 100)."""
    j = np.arange(25, dtype=np.float64)
    return np.stack([j + offset, -j, 3 + j / 100], axis=1)


def _errors(dataset) -> list:
    return [issue for issue in dataset.validate() if issue.severity == "error"]


# --- the file format ------------------------------------------------------------------------------


def test_parses_the_documented_format_exactly() -> None:
    lines = ["2", "1", body_line(72057594037931101), "25"]
    lines += [f"{j}.5 -{j}.25 3.{j:02d} 1 2 3 4 0.5 0.5 0.5 0.5 2" for j in range(25)]
    lines += ["2", body_line(1), "25", *[joint_line(*row) for row in _body(0.0)]]
    lines += [body_line(2), "25", *[joint_line(*row) for row in _body(10.0)], ""]
    skeleton = parse_skeleton("\r\n".join(lines))  # Windows line ends, as Kinect tools write them
    assert skeleton.num_frames == 2
    assert skeleton.frame.tolist() == [0, 1, 1] and skeleton.slot.tolist() == [0, 0, 1]
    j = np.arange(25)
    np.testing.assert_array_equal(skeleton.joints[0], np.stack([j + 0.5, -j - 0.25, 3 + j / 100], axis=1))
    np.testing.assert_array_equal(skeleton.joints[1], _body(0.0))
    np.testing.assert_array_equal(skeleton.joints[2], _body(10.0))


def test_frames_without_a_body_are_zero(tmp_path: Path) -> None:
    path = write_skeleton(tmp_path / "S001C001P001R001A001.skeleton", [[_body(0.0)], [], [_body(1.0)]])
    joints, facts, issues = read_skeleton(path, "x")
    assert issues == [] and facts == {"max_bodies": 1, "frames_without_body": 1}
    np.testing.assert_array_equal(joints, np.stack([_body(0.0), np.zeros((25, 3)), _body(1.0)]))


def test_main_body_is_the_slot_with_the_most_energy(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    still, moving = random_body(rng, 6, 0.001, size=0.01), random_body(rng, 6, 0.05)
    frames = [[still[t], moving[t]] for t in range(5)] + [[still[5]]]
    joints, facts, _ = read_skeleton(write_skeleton(tmp_path / "a.skeleton", frames), "a")
    np.testing.assert_array_equal(joints[:5], moving[:5])  # listed second, chosen for its motion
    np.testing.assert_array_equal(joints[5], np.zeros((25, 3)))  # absent from the last frame
    assert facts["max_bodies"] == 2

    skeleton = parse_skeleton(skeleton_text([[moving[t], still[t]] for t in range(6)]))
    np.testing.assert_array_equal(main_body(skeleton), moving)  # listed first this time: still chosen
    energy = {s: skeleton.joints[skeleton.slot == s].reshape(-1, 3).std(axis=0).sum() for s in (0, 1)}
    assert energy[0] > energy[1]

    twins = parse_skeleton(skeleton_text([[_body(0.0), _body(5.0)], [_body(1.0), _body(6.0)]]))
    np.testing.assert_array_equal(main_body(twins), np.stack([_body(0.0), _body(1.0)]))  # tie: lower slot


def test_all_zero_bodies_do_not_count_towards_energy() -> None:
    rng = np.random.default_rng(1)
    main, small = random_body(rng, 4, 0.01), random_body(rng, 4, 0.001, size=0.01)
    # slot 0 alternates between a small body and an all-zero (occluded) one, which would inflate its spread
    skeleton = parse_skeleton(skeleton_text([[np.zeros((25, 3)) if t % 2 else small[t], main[t]] for t in range(4)]))
    spread = {s: skeleton.joints[skeleton.slot == s].reshape(-1, 3).std(axis=0).sum() for s in (0, 1)}
    assert spread[0] > spread[1]
    np.testing.assert_array_equal(main_body(skeleton), main)


def test_parents_are_the_kinect_v2_tree_rooted_at_the_spine_shoulder() -> None:
    assert len(PARENTS) == 25
    roots = [j for j, p in enumerate(PARENTS) if p == j]
    assert roots == [20]
    for joint in range(25):  # every joint reaches the root
        seen = set()
        while PARENTS[joint] != joint:
            assert joint not in seen
            seen.add(joint)
            joint = PARENTS[joint]
    # 1-based pairs as the NTU figure numbers the joints: (child, parent)
    for child, parent in [(1, 2), (2, 21), (4, 3), (8, 7), (13, 1), (17, 1), (22, 23), (23, 8), (24, 25), (25, 12)]:
        assert PARENTS[child - 1] == parent - 1


def test_bones_and_motion_match_a_hand_computation(tmp_path: Path) -> None:
    root = tmp_path / "ntu"
    frames = [[_body(0.0) * (t + 1)] for t in range(3)]
    write_skeleton(root / SKELETONS / "S001C001P001R001A001.skeleton", frames)
    write_skeleton(root / SKELETONS / "S001C001P003R001A001.skeleton", frames)
    dataset = create_dataset("ntu", root=root, modalities=["joint", "bone", "joint_motion", "bone_motion"])
    video = dataset.videos("train")[0]
    joint = np.asarray(video.features["joint"]).reshape(3, 25, 3)
    bone = np.asarray(video.features["bone"]).reshape(3, 25, 3)
    np.testing.assert_array_equal(joint[1], (_body(0.0) * 2).astype(np.float32))
    # frame 2 (t = 1): joint j = 2 * (j, -j, 3 + j / 100)
    def at(j: int) -> np.ndarray:
        return 2 * np.array([j, -j, 3 + j / 100])
    np.testing.assert_allclose(bone[1, 20], 0.0)  # the root, spine shoulder
    np.testing.assert_allclose(bone[1, 0], at(0) - at(1), rtol=1e-6)  # spine base - spine mid
    np.testing.assert_allclose(bone[1, 4], at(4) - at(20), rtol=1e-6)  # left shoulder - spine shoulder
    np.testing.assert_allclose(bone[1, 21], at(21) - at(22), rtol=1e-6)  # left hand tip - left thumb
    np.testing.assert_allclose(bone[1, 22], at(22) - at(7), rtol=1e-6)  # left thumb - left hand
    motion = np.asarray(video.features["joint_motion"]).reshape(3, 25, 3)
    np.testing.assert_allclose(motion[0], joint[1] - joint[0])
    np.testing.assert_array_equal(motion[2], 0.0)
    np.testing.assert_allclose(np.asarray(video.features["bone_motion"]).reshape(3, 25, 3)[0], bone[1] - bone[0])


# --- classes, labels, splits ------------------------------------------------------------------------


def test_class_lists() -> None:
    assert len(CLASSES) == 120 and len(set(CLASSES)) == 120
    assert all(name == name.strip() and not name.endswith(".") for name in CLASSES)
    assert (CLASSES[0], CLASSES[49], CLASSES[59], CLASSES[119]) == (
        "drink water", "punching/slapping other person", "walking apart from each other",
        "finger-guessing game (playing rock-paper-scissors)",
    )


def test_every_frame_carries_the_class_of_its_sample(tmp_path: Path) -> None:
    dataset = create_dataset("ntu", root=make_ntu_dataset(tmp_path))
    assert dataset.classes == list(CLASSES[:60]) and dataset.background == []
    assert dataset.modalities == ["joint", "bone"] and dataset.feature_dims == {"joint": 75, "bone": 75}
    for video in dataset.videos("train") + dataset.videos("test"):
        action = int(video.name[-3:])
        assert video.meta["action"] == action
        np.testing.assert_array_equal(video.labels, np.full(video.num_frames, action - 1))
        lines = (tmp_path / SKELETONS / f"{video.name}.skeleton").read_text().splitlines()
        assert video.num_frames == int(lines[0])
    two = next(v for v in dataset.videos("test") if v.name == TWO_BODY_SAMPLE)
    assert dataset.classes[two.labels[0]] == "punching/slapping other person"
    assert two.meta["max_bodies"] == 2
    assert two.meta["subject"] == 6 and two.meta["camera"] == 1 and two.meta["setup"] == 2


@pytest.mark.parametrize(
    "split,train,test",
    [
        ("xsub", ["S001C001P001R001A001", "S001C003P002R002A003", "S002C002P004R001A010"],
         ["S001C002P003R001A002", "S002C001P006R001A050", "S003C003P007R002A005"]),
        ("xview", ["S001C002P003R001A002", "S001C003P002R002A003", "S002C002P004R001A010", "S003C003P007R002A005"],
         ["S001C001P001R001A001", "S002C001P006R001A050"]),
    ],
)
def test_published_splits(split: str, train: list[str], test: list[str], tmp_path: Path) -> None:
    dataset = create_dataset("ntu", root=make_ntu_dataset(tmp_path), split=split)
    assert [v.name for v in dataset.videos("train")] == train
    assert [v.name for v in dataset.videos("test")] == test
    assert EMPTY_SAMPLE in {sample.name for sample in dataset.samples("train")}  # listed, then skipped


def test_split_rules_follow_the_papers(tmp_path: Path) -> None:
    ntu60 = create_dataset("ntu", root=make_ntu_dataset(tmp_path / "a"))
    train_subjects = {1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38}
    samples = {p: Sample(f"S001C001P{p:03d}R001A001", Path("x"), 1, 1, p, 1, 1) for p in range(1, 41)}
    assert {p for p, sample in samples.items() if ntu60.is_train(sample)} == train_subjects
    names = {"S018C001P045R001A061": 1, "S019C002P044R002A120": 1, "S017C003P001R001A001": 1}
    ntu120 = create_dataset("ntu", root=make_ntu_dataset(tmp_path / "b", samples=names), version=120)
    assert ntu120.classes == list(CLASSES)
    assert [s.name for s in ntu120.samples("train")] == ["S017C003P001R001A001", "S018C001P045R001A061"]
    xset = create_dataset("ntu", root=tmp_path / "b", version=120, split="xset")
    assert [s.name for s in xset.samples("train")] == ["S018C001P045R001A061"]  # even setups train
    assert [v.name for v in xset.videos("test")] == ["S017C003P001R001A001", "S019C002P044R002A120"]


def test_flat_layout_sample_rate_and_streams(tmp_path: Path) -> None:
    root = make_ntu_dataset(tmp_path, flat=True)
    full = create_dataset("ntu", root=root, modalities=["bone", "joint_motion"]).videos("train")
    sampled = create_dataset("ntu", root=root, modalities="joint_motion", sample_rate=4).videos("train")
    for a, b in zip(full, sampled):
        assert list(a.features) == ["bone", "joint_motion"] and list(b.features) == ["joint_motion"]
        np.testing.assert_array_equal(a.features["joint_motion"][::4], b.features["joint_motion"])
        np.testing.assert_array_equal(a.labels, b.labels)
        assert b.features["joint_motion"].shape == (-(-a.num_frames // 4), 75)


def test_exclude_list_leaves_samples_out(tmp_path: Path) -> None:
    root = make_ntu_dataset(tmp_path)
    (root / "missing.txt").write_text(f"{EMPTY_SAMPLE}\nS001C001P001R001A001\nS999C001P001R001A001\n")
    dataset = create_dataset("ntu", root=root, exclude="missing.txt")
    assert dataset.validate() == []
    assert [v.name for v in dataset.videos("train")] == ["S001C003P002R002A003", "S002C002P004R001A010"]
    broken = create_dataset("ntu", root=root, exclude="nowhere.txt")
    with pytest.raises(DataError, match="nowhere.txt: dataset.exclude cannot be read"):
        broken.videos("train")


# --- feature folders --------------------------------------------------------------------------------


def test_feature_folders_are_read_channels_first(tmp_path: Path) -> None:
    root = make_ntu_dataset(tmp_path, features={"rgb": 16, "depth": 8})
    dataset = create_dataset("ntu", root=root, modalities=["joint", "rgb", "depth"], sample_rate=2)
    assert dataset.feature_dims == {"joint": 75, "rgb": 16, "depth": 8}
    for video in dataset.videos("train"):
        stored = np.load(root / "features" / "rgb" / f"{video.name}.npy").T
        np.testing.assert_array_equal(video.features["rgb"], stored[::2])
        assert list(video.features) == ["joint", "rgb", "depth"]


def test_time_first_feature_files(tmp_path: Path) -> None:
    root = make_ntu_dataset(tmp_path, features={"depth": 6})
    for path in (root / "features" / "depth").glob("*.npy"):
        np.save(path, np.load(path).T)  # (T, D)
    with pytest.raises(DataError, match="set dataset.layout=time_first"):
        create_dataset("ntu", root=root, modalities=["depth"]).videos("train")
    dataset = create_dataset("ntu", root=root, modalities=["depth"], layout="time_first")
    video = dataset.videos("train")[0]
    np.testing.assert_array_equal(video.features["depth"], np.load(root / "features" / "depth" / f"{video.name}.npy"))


def test_feature_length_is_fitted_within_tolerance(tmp_path: Path) -> None:
    root = make_ntu_dataset(tmp_path, features={"rgb": 4})
    path = root / "features" / "rgb" / "S001C001P001R001A001.npy"
    stored = np.load(path).T
    np.save(path, stored[:-2].T)
    video = create_dataset("ntu", root=root, modalities=["joint", "rgb"]).videos("train")[0]
    assert video.features["rgb"].shape == (stored.shape[0], 4)
    np.testing.assert_array_equal(video.features["rgb"][-2:], np.repeat(stored[-3:-2], 2, axis=0))
    strict = create_dataset("ntu", root=root, modalities=["joint", "rgb"], length_tolerance=1)
    message = (f"features/rgb/S001C001P001R001A001.npy: has {stored.shape[0] - 2} frames "
               f"but {SKELETONS}/S001C001P001R001A001.skeleton has {stored.shape[0]}")
    with pytest.raises(DataError, match=re.escape(message)):
        strict.videos("train")


def test_feature_folder_problems_are_errors(tmp_path: Path) -> None:
    root = make_ntu_dataset(tmp_path, features={"rgb": 4})
    assert any(i.location == "features/depth" for i in _errors(create_dataset("ntu", root=root, modalities="depth")))
    (root / "features" / "rgb" / "S002C002P004R001A010.npy").unlink()
    errors = _errors(create_dataset("ntu", root=root, modalities=["joint", "rgb"]))
    assert [(e.location, "missing" in e.message) for e in errors] == [("features/rgb/S002C002P004R001A010.npy", True)]


# --- validation ---------------------------------------------------------------------------------------


def test_samples_without_skeleton_warn_and_are_skipped(tmp_path: Path) -> None:
    root = make_ntu_dataset(tmp_path)
    write_skeleton(root / SKELETONS / "S001C002P001R002A009.skeleton", [])  # frame count 0
    write_skeleton(root / SKELETONS / "S001C002P001R002A011.skeleton", [[np.zeros((25, 3))]] * 3)  # all-zero body
    dataset = create_dataset("ntu", root=root)
    issues = dataset.validate()
    assert [(i.severity, i.location) for i in issues] == [
        ("warning", f"{SKELETONS}/S001C002P001R002A009.skeleton"),
        ("warning", f"{SKELETONS}/S001C002P001R002A011.skeleton"),
        ("warning", f"{SKELETONS}/{EMPTY_SAMPLE}.skeleton"),
    ]
    assert "0 frames" in issues[0].message and "none of its 3 frames has a skeleton" in issues[1].message
    assert EMPTY_SAMPLE in issues[2].message and "skipped" in issues[2].message
    names = [v.name for v in dataset.videos("train")]
    assert names == ["S001C001P001R001A001", "S001C003P002R002A003", "S002C002P004R001A010"]


def test_nan_coordinates_warn_and_become_zero(tmp_path: Path) -> None:
    root = make_ntu_dataset(tmp_path)
    path = root / SKELETONS / "S001C001P001R001A001.skeleton"
    lines = path.read_text().splitlines()
    lines[4] = "NaN " + lines[4].split(" ", 1)[1]  # x of the first joint in frame 1
    path.write_text("\n".join(lines) + "\n")
    dataset = create_dataset("ntu", root=root)
    issues = [i for i in dataset.validate() if "NaN" in i.message]
    assert [(i.severity, i.location) for i in issues] == [("warning", f"{SKELETONS}/S001C001P001R001A001.skeleton")]
    video = dataset.videos("train")[0]
    assert video.features["joint"][0, 0] == 0.0 and np.isfinite(video.features["bone"]).all()


def _replace_line(path: Path, index: int, text: str | None) -> None:
    lines = path.read_text().splitlines()
    if text is None:
        del lines[index]
    else:
        lines[index] = text
    path.write_text("\n".join(lines) + "\n")


SAMPLE_FILE = f"{SKELETONS}/S001C001P001R001A001.skeleton"
# defect -> (how to make it, location, message pattern); line 1 is the frame count, line 2 frame 1's
# body count, line 3 its body line, line 4 its joint count, lines 5-29 its joints, line 30 frame 2.
DEFECTS = {
    "truncated": (lambda p: p.write_text("\n".join(p.read_text().splitlines()[:40]) + "\n"),
                  f"{SAMPLE_FILE}:40", "file ends here, before joint 25 of frame 2, body 1.*truncated"),
    "non_numeric": (lambda p: _replace_line(p, 6, "0.1 0.2 abc 1 2 3 4 0.5 0.5 0.5 0.5 2"),
                    f"{SAMPLE_FILE}:7", "a joint line holds 'abc', not a number"),
    "wrong_joint_count": (lambda p: _replace_line(p, 3, "20"),
                          f"{SAMPLE_FILE}:4", "frame 1, body 1 has 20 joints; NTU skeletons have 25"),
    "short_joint_line": (lambda p: _replace_line(p, 10, "0.1 0.2 0.3"),
                         f"{SAMPLE_FILE}:11", "a joint line needs 12 values, found 3"),
    "short_body_line": (lambda p: _replace_line(p, 2, "72057594037931101 0 1"),
                        f"{SAMPLE_FILE}:3", "a body line needs 10 values, found 3"),
    "missing_joint_line": (lambda p: _replace_line(p, 8, None),
                           f"{SAMPLE_FILE}:30", "expected the body count of frame 2.*block above"),
    "bad_frame_count": (lambda p: _replace_line(p, 0, "twelve"),
                        f"{SAMPLE_FILE}:1", "expected the frame count .* found 'twelve'$"),
    "trailing_content": (lambda p: p.write_text(p.read_text() + "\n1\n"),
                         f"{SAMPLE_FILE}:", "unexpected content after the"),
    "empty_file": (lambda p: p.write_text(""), SAMPLE_FILE, "is empty"),
    "bad_name": (lambda p: p.rename(p.with_name("S001C001P001A001.skeleton")),
                 f"{SKELETONS}/S001C001P001A001.skeleton", "not SsssCcccPpppRrrrAaaa"),
    "ntu120_class": (lambda p: p.rename(p.with_name("S001C001P001R001A061.skeleton")),
                     f"{SKELETONS}/S001C001P001R001A061.skeleton", "A061 is not a class of version 60.*version=120"),
    "ntu120_setup": (lambda p: p.rename(p.with_name("S018C001P001R001A001.skeleton")),
                     f"{SKELETONS}/S018C001P001R001A001.skeleton", "setup S018 is not in version 60"),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_malformed_input_is_an_error_naming_file_and_line(defect: str, tmp_path: Path) -> None:
    root = make_ntu_dataset(tmp_path)
    make, location, pattern = DEFECTS[defect]
    make(root / SAMPLE_FILE)
    dataset = create_dataset("ntu", root=root)
    errors = _errors(dataset)
    assert len(errors) == 1, errors
    assert errors[0].location.startswith(location) and re.search(pattern, errors[0].message), errors[0]
    with pytest.raises(DataError, match=re.escape(location)):
        dataset.videos("train")


def test_empty_folder_and_empty_split_are_errors(tmp_path: Path) -> None:
    (tmp_path / "a" / SKELETONS).mkdir(parents=True)
    assert [e.location for e in _errors(create_dataset("ntu", root=tmp_path / "a"))] == [SKELETONS]
    root = make_ntu_dataset(tmp_path / "b", samples={"S001C001P001R001A001": 1})
    dataset = create_dataset("ntu", root=root)
    errors = _errors(dataset)
    assert len(errors) == 1 and "no usable test sample under protocol xsub" in errors[0].message
    with pytest.raises(DataError, match="no usable test sample"):
        dataset.videos("test")


@pytest.mark.parametrize(
    "options,match",
    [
        ({"split": "xset"}, "dataset.split"),
        ({"version": 120, "split": "xview"}, "dataset.split"),
        ({"version": 90}, "dataset.version"),
        ({"modalities": ["joint", "skeleton"]}, "dataset.modalities"),
        ({"background": ["background"]}, "dataset.background"),
        ({"sample_rate": 0}, "dataset.sample_rate"),
        ({"length_tolerance": -1}, "dataset.length_tolerance"),
        ({"layout": "sideways"}, "dataset.layout"),
    ],
)
def test_impossible_options_are_config_errors(options: dict, match: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=match):
        create_dataset("ntu", root=tmp_path, **options)


def test_root_must_be_given_and_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dataset.root"):
        create_dataset("ntu")
    with pytest.raises(DataError, match="not a directory"):
        create_dataset("ntu", root=tmp_path / "nowhere")


def test_construction_reads_no_skeleton(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_ntu_dataset(tmp_path)
    create_dataset("ntu", root=root)
    monkeypatch.setattr(Path, "read_text", lambda *a, **k: pytest.fail("a file was read"))
    dataset = create_dataset("ntu", root=root)
    assert len(dataset.samples("train")) + len(dataset.samples("test")) == len(SAMPLES)


# --- command line -------------------------------------------------------------------------------------


def test_cli_validate_warns_then_fails_on_a_corrupt_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make_ntu_dataset(tmp_path)
    assert main(["validate", "dataset=ntu", f"dataset.root={root}"]) == 0
    out = capsys.readouterr().out
    assert f"warning: {SKELETONS}/{EMPTY_SAMPLE}.skeleton" in out and "ntu: no errors" in out
    _replace_line(root / SAMPLE_FILE, 6, "0.1 0.2 abc 1 2 3 4 0.5 0.5 0.5 0.5 2")
    assert main(["validate", "dataset=ntu", f"dataset.root={root}"]) == 2
    out = capsys.readouterr()
    assert f"error: {SAMPLE_FILE}:7" in out.out and "Traceback" not in out.out + out.err
