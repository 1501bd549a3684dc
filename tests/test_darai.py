"""``darai``: R3D's DARai layout and its UTKinect feature layout, from small written copies."""
from __future__ import annotations

import posixpath
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from darai_fixtures import (
    DEPTH_SHAPE,
    L2_CLASSES,
    L3_CLASSES,
    L3_TO_L2,
    RGB_DIM,
    UTK_CLASSES,
    UTK_DEPTH_SHAPE,
    darai_video_name,
    make_darai_dataset,
    make_utkinect_r3d_dataset,
    utkinect_frames,
)

from mmfuse.cli import main
from mmfuse.data.darai import LAYOUTS, darai_frame, depth_file_name, utkinect_frame
from mmfuse.errors import ConfigError, DataError
from mmfuse.registry import create_dataset

FIRST = darai_video_name(0)  # the first train video: "01_3_camera_1_fps_15_Making pancake"
FIRST_GT = f"groundTruth_img/{FIRST}_1.txt"
FIRST_RGB = f"features_img/{FIRST}_1.npy"
FIRST_DEPTH = "features_depth/01_3_depth_1_Making pancake_1.npy"


@pytest.fixture(scope="module")
def darai_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_darai_dataset(tmp_path_factory.mktemp("darai"))


@pytest.fixture(scope="module")
def utk_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_utkinect_r3d_dataset(tmp_path_factory.mktemp("utk"))


def _lines(path: Path) -> list[list[str]]:
    """A ground-truth file split the way R3D splits it: strip, then split at commas."""
    return [line.strip().split(",") for line in path.read_text().splitlines()]


def _errors(issues: list) -> list:
    return [issue for issue in issues if issue.severity == "error"]


# --- file names and frame numbers ---------------------------------------------------------------


def test_frame_numbers_and_depth_names_follow_r3d() -> None:
    assert darai_frame("/data/RGB_sd/Making pancake/camera_1_fps_15/01_3_00042.jpg") == 42
    assert darai_frame("01_3_frame.jpg") is None
    assert utkinect_frame("/data/utkinect/RGB/s01_e01/colorImg190.jpg") == 190
    assert utkinect_frame("/data/s01_e01/colorImg.jpg") is None
    assert depth_file_name("01_3_camera_1_fps_15_Making pancake") == "01_3_depth_1_Making pancake_1.npy"
    assert depth_file_name("07_2_camera_2_fps_15_Dining") == "07_2_depth_2_Dining_1.npy"


# --- DARai --------------------------------------------------------------------------------------


@pytest.mark.parametrize("sample_rate", [1, 4])
def test_darai_reads_sequences_exactly(darai_root: Path, sample_rate: int) -> None:
    dataset = create_dataset("darai", root=darai_root, sample_rate=sample_rate)
    assert dataset.layout == "darai" and dataset.classes == L2_CLASSES and dataset.background == []
    assert dataset.modalities == ["rgb", "depth"]
    assert dataset.feature_dims == {"rgb": RGB_DIM, "depth": int(np.prod(DEPTH_SHAPE))}
    train = dataset.videos("train")
    assert [v.name for v in train] == [f"{darai_video_name(i)}_{n}" for i in range(3) for n in (1, 2)]
    for video in train:
        rows = _lines(darai_root / "groundTruth_img" / f"{video.name}.txt")
        frames = [int(path.rsplit("_", 1)[1].split(".")[0]) for path, _, _ in rows]
        assert [L2_CLASSES[i] for i in video.labels] == [l2.strip() for _, l2, _ in rows]
        np.testing.assert_array_equal(video.meta["frames"], frames)
        assert video.meta["video"] == video.name.rsplit("_", 1)[0]
        stored = np.load(darai_root / "features_img" / f"{video.name}.npy")
        np.testing.assert_array_equal(video.features["rgb"], stored[::sample_rate])
        depth = np.load(darai_root / "features_depth" / depth_file_name(video.meta["video"]))
        np.testing.assert_array_equal(video.features["depth"], depth[frames][::sample_rate].reshape(-1, 24))
    assert [v.name for v in dataset.videos("test")] == [f"{darai_video_name(4)}_{n}" for n in (1, 2)]


def test_darai_default_sample_rate_is_r3d_s(darai_root: Path) -> None:
    video = create_dataset("darai", root=darai_root).videos("train")[0]
    assert video.sample_rate == 15 and video.features["rgb"].shape[0] == -(-video.num_frames // 15)


def test_darai_fine_level_reads_l3(darai_root: Path) -> None:
    coarse = create_dataset("darai", root=darai_root, sample_rate=1).videos("train")
    fine = create_dataset("darai", root=darai_root, level="fine", sample_rate=1)
    assert fine.classes == L3_CLASSES
    for c, f in zip(coarse, fine.videos("train")):
        rows = _lines(darai_root / "groundTruth_img" / f"{f.name}.txt")
        assert [L3_CLASSES[i] for i in f.labels] == [l3.strip() for _, _, l3 in rows]
        assert [L2_CLASSES[i] for i in c.labels] == [L3_TO_L2[L3_CLASSES[i]] for i in f.labels]
        np.testing.assert_array_equal(c.features["depth"], f.features["depth"])


def test_darai_depth_rows_are_frame_numbers(tmp_path: Path) -> None:
    root = make_darai_dataset(tmp_path)
    depth = np.load(root / FIRST_DEPTH)
    np.save(root / FIRST_DEPTH, np.broadcast_to(np.arange(len(depth), dtype=np.float32)[:, None, None], depth.shape))
    videos = create_dataset("darai", root=root, sample_rate=3).videos("train")
    first, second = videos[0], videos[1]
    assert second.meta["frames"][0] > first.meta["frames"][-1] + 1  # a gap between the two sequences
    for video in (first, second):
        np.testing.assert_array_equal(video.features["depth"][:, 0], video.meta["frames"][::3])
        assert (video.features["depth"] == video.features["depth"][:, :1]).all()


def test_darai_one_modality_and_val_as_test(darai_root: Path) -> None:
    dataset = create_dataset("darai", root=darai_root, modalities=["depth"], test_split="val", sample_rate=1)
    assert dataset.modalities == ["depth"] and dataset.feature_dims == {"depth": 24}
    test = dataset.videos("test")
    assert [v.name for v in test] == [f"{darai_video_name(3)}_{n}" for n in (1, 2)]
    assert list(test[0].features) == ["depth"]


def test_darai_malformed_line_is_skipped_with_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make_darai_dataset(tmp_path)
    before = create_dataset("darai", root=root, sample_rate=1).videos("train")[0]
    lines = (root / FIRST_GT).read_text().splitlines(keepends=True)
    lines[2:2] = ["/data/RGB_sd/x/01_3_00099.jpg, Bake_pancake\n", "a, b, c, d\n"]
    (root / FIRST_GT).write_text("".join(lines) + "\n\n")
    dataset = create_dataset("darai", root=root, sample_rate=1)
    issues = dataset.validate()
    assert _errors(issues) == []
    (issue,) = issues
    assert issue.severity == "warning" and issue.location == f"{FIRST_GT}:3"
    assert "2 line(s)" in issue.message and "lines 3, 4" in issue.message and "as R3D does" in issue.message
    after = dataset.videos("train")[0]
    np.testing.assert_array_equal(after.labels, before.labels)
    np.testing.assert_array_equal(after.features["rgb"], before.features["rgb"])
    assert main(["validate", "dataset=darai", f"dataset.root={root}", "dataset.sample_rate=1"]) == 0
    out = capsys.readouterr().out
    assert "warning:" in out and f"{FIRST_GT}:3" in out and "no errors" in out


def test_darai_short_sequence_is_skipped_with_a_warning(tmp_path: Path) -> None:
    root = make_darai_dataset(tmp_path)
    rows = (root / FIRST_GT).read_text().splitlines(keepends=True)[:15]
    (root / FIRST_GT).write_text("".join(rows))
    np.save(root / FIRST_RGB, np.load(root / FIRST_RGB)[:15])
    dataset = create_dataset("darai", root=root)
    issues = dataset.validate()
    assert _errors(issues) == [] and len(issues) == 1
    assert issues[0].location == FIRST_GT and "not more than sample_rate 15" in issues[0].message
    assert f"{FIRST}_1" not in [v.name for v in dataset.videos("train")]
    assert f"{FIRST}_1" in [v.name for v in create_dataset("darai", root=root, sample_rate=5).videos("train")]


def test_darai_length_within_tolerance_is_fitted(tmp_path: Path) -> None:
    root = make_darai_dataset(tmp_path)
    rgb = np.load(root / FIRST_RGB)
    np.save(root / FIRST_RGB, rgb[:-3])
    depth = np.load(root / FIRST_DEPTH)
    last_frame = int(_lines(root / "groundTruth_img" / f"{FIRST}_2.txt")[-1][0].rsplit("_", 1)[1].split(".")[0])
    np.save(root / FIRST_DEPTH, depth[: last_frame - 1])
    videos = create_dataset("darai", root=root, sample_rate=1).videos("train")
    np.testing.assert_array_equal(videos[0].features["rgb"][-3:], np.repeat(rgb[-4:-3], 3, axis=0))
    last_row = depth[last_frame - 2].reshape(1, -1)
    np.testing.assert_array_equal(videos[1].features["depth"][-2:], np.repeat(last_row, 2, axis=0))
    issues = create_dataset("darai", root=root, sample_rate=1, length_tolerance=1).validate()
    assert {i.location for i in _errors(issues)} == {FIRST_RGB, FIRST_DEPTH}


# --- R3D's UTKinect layout ----------------------------------------------------------------------


def test_utkinect_r3d_layout_reads_images_and_undefined_background(utk_root: Path) -> None:
    dataset = create_dataset("darai", root=utk_root, layout="utkinect_r3d")
    assert dataset.layout == "utkinect_r3d" and dataset.sample_rate == 1
    assert dataset.classes == UTK_CLASSES and dataset.background == ["UNDEFINED"]
    assert dataset.feature_dims == {"rgb": RGB_DIM, "depth": int(np.prod(UTK_DEPTH_SHAPE))}
    assert dataset.validate() == []
    train = dataset.videos("train")
    assert [v.name for v in train] == ["s01_e01", "s01_e02", "s02_e01"]
    assert [v.name for v in dataset.videos("test")] == ["s02_e02"]  # val_split.txt, as main_utkinects.py
    for video in train:
        rows = _lines(utk_root / "groundTruth" / f"{video.name}.txt")
        assert [UTK_CLASSES[i] for i in video.labels] == [label.strip() for _, label, _ in rows]
        np.testing.assert_array_equal(video.meta["frames"], utkinect_frames())
        np.testing.assert_array_equal(video.features["rgb"], np.load(utk_root / "features_img" / f"{video.name}.npy"))
        depth = np.load(utk_root / "features_depth" / f"{video.name}.npy")
        assert depth.ndim == 3
        np.testing.assert_array_equal(video.features["depth"], depth.reshape(len(depth), -1))


def test_utkinect_r3d_overlap_keeps_the_first_listed_interval(utk_root: Path) -> None:
    video = create_dataset("darai", root=utk_root, layout="utkinect_r3d").videos("train")[0]
    label = {int(f): UTK_CLASSES[int(c)] for f, c in zip(video.meta["frames"], video.labels)}
    # actionLabel order: walk 110-150, sitDown 170-200, push 262-300, pull 244-262.
    assert label[244] == label[258] == "pull" and label[262] == label[298] == "push"
    assert label[100] == label[160] == label[304] == "UNDEFINED" and label[112] == "walk"


def test_utkinect_r3d_has_one_level_and_split_paths_are_dropped(tmp_path: Path) -> None:
    root = make_utkinect_r3d_dataset(tmp_path)
    with pytest.raises(ConfigError, match="level=coarse"):
        create_dataset("darai", root=root, layout="utkinect_r3d", level="fine")
    (root / "splits" / "train_split.txt").write_text("/home/user/utkinect/groundTruth/s01_e01.txt\ns01_e02.txt\n")
    assert [v.name for v in create_dataset("darai", root=root, layout="utkinect_r3d").videos("train")] == [
        "s01_e01", "s01_e02"
    ]


# --- split lines, read as R3D reads them (os.path.splitext: any extension) -----------------------

R3D_FIRST = darai_video_name(0, activity_in_name=False)  # "01_3_camera_1_fps_15"


def _write_split(root: Path, split: str, lines: list[str]) -> None:
    (root / "splits" / f"{split}_split.txt").write_text("".join(f"{line}\n" for line in lines))


def _load_all(root: Path, **options: object) -> dict[str, list]:
    dataset = create_dataset("darai", root=root, sample_rate=1, **options)
    return {split: dataset.videos(split) for split in ("train", "test")}


def _assert_same_videos(got: dict[str, list], expected: dict[str, list]) -> None:
    for split in expected:
        assert [v.name for v in got[split]] == [v.name for v in expected[split]]
        for a, b in zip(got[split], expected[split]):
            np.testing.assert_array_equal(a.labels, b.labels)
            assert list(a.features) == list(b.features)
            for modality in a.features:
                np.testing.assert_array_equal(a.features[modality], b.features[modality])
            assert a.meta["video"] == b.meta["video"]
            np.testing.assert_array_equal(a.meta["frames"], b.meta["frames"])


def test_darai_split_lines_name_videos_whatever_their_extension(tmp_path: Path) -> None:
    root = make_darai_dataset(tmp_path, activity_in_name=False, split_extension=".mp4")
    # R3D's DARai naming: the split line, the sequence ground truth and the per-video depth file.
    assert (root / "splits" / "train_split.txt").read_text().splitlines()[0] == "01_3_camera_1_fps_15.mp4"
    assert (root / "groundTruth_img" / "01_3_camera_1_fps_15_1.txt").is_file()
    assert (root / "features_depth" / "01_3_depth_1_1.npy").is_file()
    assert depth_file_name(R3D_FIRST) == "01_3_depth_1_1.npy"
    assert create_dataset("darai", root=root).validate() == []
    mp4 = _load_all(root)
    assert [v.name for v in mp4["train"]] == [
        f"{darai_video_name(i, activity_in_name=False)}_{n}" for i in range(3) for n in (1, 2)
    ]
    assert mp4["train"][0].meta["video"] == R3D_FIRST
    txt = [darai_video_name(i, activity_in_name=False) for i in range(5)]
    _write_split(root, "train", [f"{txt[0]}.txt", f"{txt[1]}.txt", f"{txt[2]}.txt"])
    _write_split(root, "test", [f"{txt[4]}.txt"])
    assert create_dataset("darai", root=root).validate() == []
    _assert_same_videos(_load_all(root), mp4)
    # Mixed, as R3D strips each line and drops whatever extension (or none): .mp4, .txt, none, .avi,
    # with surrounding spaces, a Windows line end and blank lines.
    (root / "splits" / "train_split.txt").write_text(
        f"\n{txt[0]}.mp4\r\n  {txt[1]}.txt \n\n{txt[2]}\t\n\n"
    )
    _write_split(root, "test", [f"{txt[4]}.avi"])
    assert create_dataset("darai", root=root).validate() == []
    _assert_same_videos(_load_all(root), mp4)
    fine = _load_all(root, level="fine", modalities=["depth"])
    _write_split(root, "train", [f"{name}.txt" for name in txt[:3]])
    _write_split(root, "test", [f"{txt[4]}.txt"])
    _assert_same_videos(fine, _load_all(root, level="fine", modalities=["depth"]))


def test_utkinect_r3d_split_lines_name_videos_whatever_their_extension(tmp_path: Path) -> None:
    txt_root = make_utkinect_r3d_dataset(tmp_path / "txt")
    mp4_root = make_utkinect_r3d_dataset(tmp_path / "mp4", split_extension=".mp4")
    assert (mp4_root / "splits" / "train_split.txt").read_text().splitlines()[0] == "s01_e01.mp4"
    expected = _load_all(txt_root, layout="utkinect_r3d")
    assert [v.name for v in expected["train"]] == ["s01_e01", "s01_e02", "s02_e01"]
    _assert_same_videos(_load_all(mp4_root, layout="utkinect_r3d"), expected)
    # R3D's UTKinect training loader opens groundTruth/<line> as written: a warning per split file.
    issues = create_dataset("darai", root=mp4_root, layout="utkinect_r3d").validate()
    assert [(i.severity, i.location) for i in issues] == [
        ("warning", "splits/train_split.txt:1"), ("warning", "splits/val_split.txt:1")
    ]
    assert "3 line(s) are not '<video>.txt' (lines 1, 2, 3)" in issues[0].message
    assert "data/basedataset_utkinects.py" in issues[0].message
    _write_split(mp4_root, "train", ["/home/user/utkinect/RGB/s01_e01.mp4", " s01_e02.txt ", "s02_e01"])
    _write_split(mp4_root, "val", ["s02_e02.txt"])
    _assert_same_videos(_load_all(mp4_root, layout="utkinect_r3d"), expected)
    (issue,) = create_dataset("darai", root=mp4_root, layout="utkinect_r3d").validate()
    assert issue.severity == "warning" and issue.location == "splits/train_split.txt:1"
    assert "2 line(s)" in issue.message and "(lines 1, 3)" in issue.message


@pytest.mark.parametrize("layout", ["darai", "utkinect_r3d"])
def test_split_line_naming_a_missing_video_is_an_error_whatever_its_extension(layout: str, tmp_path: Path) -> None:
    if layout == "darai":
        ghost = "02_9_camera_1_fps_15"
        root = make_darai_dataset(tmp_path, activity_in_name=False, split_extension=".mp4")
        pattern = f"names video '{ghost}' but groundTruth_img/ has no '{ghost}_<seq>.txt' file"
    else:
        ghost = "s09_e09"
        root = make_utkinect_r3d_dataset(tmp_path, split_extension=".mp4")
        pattern = f"names video '{ghost}' but groundTruth/{ghost}.txt does not exist"
    with (root / "splits" / "train_split.txt").open("a") as file:
        file.write(f"{ghost}.mp4\n")
    dataset = create_dataset("darai", root=root, layout=layout)
    (issue,) = _errors(dataset.validate())
    assert issue.location == "splits/train_split.txt:4"
    assert issue.message.startswith(pattern)
    assert f"'{ghost}.mp4' is read as '{ghost}'" in issue.message
    with pytest.raises(DataError, match=re.escape("splits/train_split.txt:4")):
        dataset.videos("train")
    assert len(dataset.videos("test")) > 0  # the other split is unaffected


@pytest.mark.parametrize("layout", ["darai", "utkinect_r3d"])
@pytest.mark.parametrize("line", ["{video}.v2.mp4", "{video}.v2.txt", ".{video}", "{video}.tar.gz"])
def test_split_name_with_a_dot_is_an_error_as_r3d_cannot_read_it(layout: str, line: str, tmp_path: Path) -> None:
    # R3D lists the video by os.path.splitext(line)[0] but reads its files by line.split('.')[0]:
    # 'x.v2.mp4' is listed as 'x.v2' but read as 'x', another video or none.
    if layout == "darai":  # the files R3D lists the video by exist: still an error
        root, video = make_darai_dataset(tmp_path, activity_in_name=False), R3D_FIRST
        listed = posixpath.splitext(line.format(video=video))[0]
        for folder, suffix in (("groundTruth_img", ".txt"), ("features_img", ".npy")):
            shutil.copy(root / folder / f"{R3D_FIRST}_1{suffix}", root / folder / f"{listed}_1{suffix}")
    else:
        root, video = make_utkinect_r3d_dataset(tmp_path), "s01_e02"
    with (root / "splits" / "train_split.txt").open("a") as file:
        file.write(line.format(video=video) + "\n")
    dataset = create_dataset("darai", root=root, layout=layout)
    errors = _errors(dataset.validate())
    assert [e.location for e in errors] == ["splits/train_split.txt:4"], errors
    assert "which R3D cannot read" in errors[0].message and "without '.'" in errors[0].message
    with pytest.raises(DataError, match=re.escape("splits/train_split.txt:4")):
        dataset.videos("train")


def test_a_video_listed_with_two_extensions_is_read_once(tmp_path: Path) -> None:
    root = make_darai_dataset(tmp_path, activity_in_name=False, split_extension=".mp4")
    with (root / "splits" / "train_split.txt").open("a") as file:
        file.write(f"{R3D_FIRST}.txt\n")
    with (root / "splits" / "test_split.txt").open("a") as file:
        file.write(f"{R3D_FIRST}\n")
    dataset = create_dataset("darai", root=root)
    issues = dataset.validate()
    assert [(i.severity, i.location) for i in issues] == [
        ("warning", "splits/train_split.txt:4"), ("warning", "splits/test_split.txt")
    ]
    assert f"video {R3D_FIRST!r} is listed again (first on line 1)" in issues[0].message
    assert R3D_FIRST in issues[1].message and "both the train and the test split" in issues[1].message
    assert [v.name for v in dataset.videos("train")].count(f"{R3D_FIRST}_1") == 1


# --- options and layout detection ---------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{"level": "l4"}, {"test_split": "train"}, {"modalities": ["rgb", "audio"]}, {"modalities": []},
     {"modalities": ["rgb", "rgb"]}, {"sample_rate": 0}, {"length_tolerance": -1}, {"layout": "breakfast"}],
)
def test_impossible_options_are_config_errors(darai_root: Path, options: dict) -> None:
    with pytest.raises(ConfigError, match=next(iter(options))):
        create_dataset("darai", root=darai_root, **options)


def test_root_and_layout_are_checked(darai_root: Path, utk_root: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dataset.root"):
        create_dataset("darai")
    with pytest.raises(DataError, match="not a directory"):
        create_dataset("darai", root=tmp_path / "nowhere")
    for root, layout, hint in [(utk_root, "darai", "utkinect_r3d"), (darai_root, "utkinect_r3d", "darai")]:
        dataset = create_dataset("darai", root=root, layout=layout)
        (issue, *_) = dataset.validate()
        assert issue.location == LAYOUTS[layout].labels_dir and f"set dataset.layout={hint}" in issue.message
        with pytest.raises(DataError, match=f"set dataset.layout={hint}"):
            dataset.videos("train")
    issues = create_dataset("darai", root=tmp_path, layout="utkinect_r3d").validate()
    assert ("groundTruth", "missing directory; it holds the ground-truth .txt files") in [
        (issue.location, issue.message) for issue in issues
    ]


def test_construction_reads_no_features(darai_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(np, "load", lambda *args, **kwargs: pytest.fail("a feature file was read"))
    dataset = create_dataset("darai", root=darai_root)
    assert dataset.classes == L2_CLASSES and dataset.modalities == ["rgb", "depth"]


# --- errors, with the file and line they are in -------------------------------------------------


def _edit_line(path: Path, index: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[index] = text
    path.write_text("\n".join(lines) + "\n")


def _damage(root: Path, defect: str) -> tuple[str, str]:
    """Damage the first sequence of the first train video; return (location, message pattern)."""
    gt, rgb, depth = root / FIRST_GT, root / FIRST_RGB, root / FIRST_DEPTH
    image = _lines(gt)[4][0]
    if defect == "unknown_class":
        _edit_line(gt, 4, f"{image}, Juggling, Get_pan")
        return f"{FIRST_GT}:5", r"unknown L2 class 'Juggling' \(1 line\(s\)\); add it to mapping_l2_changed.txt"
    if defect == "empty_label":
        _edit_line(gt, 4, f"{image}, , Get_pan")
        return f"{FIRST_GT}:5", "empty L2 label"
    if defect == "no_frame_number":
        _edit_line(gt, 4, "/data/RGB_sd/frame_x.jpg, Bake_pancake, Get_pan")
        return f"{FIRST_GT}:5", "no frame number in the image name on 1 line"
    if defect == "frames_out_of_order":
        _edit_line(gt, 4, _lines(gt)[1][0] + ", Bake_pancake, Get_pan")
        return f"{FIRST_GT}:5", "does not come after frame"
    if defect == "no_valid_line":
        gt.write_text("just one field\n")
        return FIRST_GT, "has no '<image>,<label>,<label>' line"
    if defect == "missing_rgb":
        rgb.unlink()
        return FIRST_RGB, rf"missing, but video '{re.escape(FIRST)}_1' \(splits/train_split.txt:1\) needs it"
    if defect == "missing_depth":
        depth.unlink()
        return FIRST_DEPTH, "missing, but video"
    if defect == "nan_rgb":
        array = np.load(rgb)
        array[0, :3] = np.nan
        np.save(rgb, array)
        return FIRST_RGB, "3 NaN/Inf values"
    if defect == "rgb_length":
        np.save(rgb, np.load(rgb)[:-20])
        return FIRST_RGB, f"frames but {re.escape(FIRST_GT)} has"
    if defect == "depth_too_short":
        np.save(depth, np.load(depth)[:10])
        return FIRST_DEPTH, "has 10 frames but .* needs frame"
    if defect == "rgb_width":  # the second sequence: the first file read sets the width
        second = root / "features_img" / f"{FIRST}_2.npy"
        np.save(second, np.load(second)[:, :5])
        return f"features_img/{FIRST}_2.npy", "has 5 features per frame but other 'rgb' files have 16"
    if defect == "corrupt_npy":
        rgb.write_bytes(rgb.read_bytes()[:60])
        return FIRST_RGB, "cannot be read as a .npy array"
    if defect == "one_axis":
        np.save(rgb, np.load(rgb)[:, 0])
        return FIRST_RGB, "expected \\(frames, features\\)"
    if defect == "split_names_ghost":
        with (root / "splits" / "train_split.txt").open("a") as file:
            file.write("ghost.txt\n")
        return "splits/train_split.txt:4", "names video 'ghost' but groundTruth_img/ has no 'ghost_<seq>.txt'"
    if defect == "missing_split":
        (root / "splits" / "train_split.txt").unlink()
        return "splits/train_split.txt", "missing"
    if defect == "missing_mapping":
        (root / "mapping_l2_changed.txt").unlink()
        return "mapping_l2_changed.txt", "missing"
    if defect == "missing_features_folder":
        for path in (root / "features_depth").iterdir():
            path.unlink()
        (root / "features_depth").rmdir()
        return "features_depth", "missing directory"
    raise ValueError(defect)


DEFECTS = [
    "unknown_class", "empty_label", "no_frame_number", "frames_out_of_order", "no_valid_line", "missing_rgb",
    "missing_depth", "nan_rgb", "rgb_length", "depth_too_short", "rgb_width", "corrupt_npy", "one_axis",
    "split_names_ghost", "missing_split", "missing_mapping", "missing_features_folder",
]


@pytest.mark.parametrize("defect", DEFECTS)
def test_defect_is_an_error_naming_its_place(defect: str, tmp_path: Path) -> None:
    root = make_darai_dataset(tmp_path)
    location, pattern = _damage(root, defect)
    dataset = create_dataset("darai", root=root, sample_rate=1)
    errors = _errors(dataset.validate())
    assert any(e.location == location and re.search(pattern, e.message) for e in errors), errors
    with pytest.raises(DataError, match=re.escape(location)):
        dataset.videos("train")


def test_background_must_be_a_class(darai_root: Path) -> None:
    assert create_dataset("darai", root=darai_root, background="UNDEFINED").background == ["UNDEFINED"]
    dataset = create_dataset("darai", root=darai_root, background=["idle"])
    (issue,) = dataset.validate()
    assert issue.severity == "error" and issue.location == "mapping_l2_changed.txt" and "'idle'" in issue.message
    with pytest.raises(DataError, match="idle"):
        dataset.classes


def test_video_in_both_splits_warns(tmp_path: Path) -> None:
    root = make_darai_dataset(tmp_path)
    with (root / "splits" / "test_split.txt").open("a") as file:
        file.write(f"{FIRST}.txt\n")
    issues = create_dataset("darai", root=root).validate()
    assert [i.severity for i in issues] == ["warning"] and FIRST in issues[0].message


# --- the command line ---------------------------------------------------------------------------


def test_validate_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    darai = make_darai_dataset(tmp_path / "darai")
    assert main(["validate", "dataset=darai", f"dataset.root={darai}"]) == 0
    assert "darai: no errors" in capsys.readouterr().out
    utk = make_utkinect_r3d_dataset(tmp_path / "utk")
    assert main(["validate", "dataset=darai", "dataset.layout=utkinect_r3d", f"dataset.root={utk}"]) == 0
    capsys.readouterr()
    location, _ = _damage(darai, "unknown_class")
    assert main(["validate", "dataset=darai", f"dataset.root={darai}"]) == 2
    out = capsys.readouterr()
    assert f"{location}: unknown L2 class 'Juggling'" in out.out and "Traceback" not in out.out + out.err
    assert main(["validate", "dataset=darai", f"dataset.root={tmp_path / 'empty'}"]) == 2
    assert "dataset root is not a directory" in capsys.readouterr().out
