"""Small datasets in the two layouts R3D's preprocessing writes, for tests of the ``darai`` adapter.

DARai (``make_darai_dataset``): ground truth as DARai's ``add_l2_column.py`` writes it and R3D's
``preprocess.py`` splits it into sequences of consecutive frames — ``<image path>, <L2>, <L3>`` per
frame, image names ``<subject>_<session>_<frame:05d>.jpg``; image features per sequence, one depth file
per video indexed by frame number. UTKinect (``make_utkinect_r3d_dataset``): ground truth as R3D's
``data/utkinect-actionlabeltogt.py`` writes it — ``<image path>, <label>, UNDEFINED`` per RGB image,
``UNDEFINED`` outside every interval, the first listed interval winning where two overlap.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

L3_TO_L2 = {
    "Get_pan": "Bake_pancake",
    "Add_batter": "Bake_pancake",
    "Check_pancake": "Bake_pancake",
    "Check_cabinet": "Prep_ingredients",
    "Get_coffee": "Prep_ingredients",
    "Scroll_on_the_phone": "Using_Smartphone",
    "Conversation_on_the_phone": "Using_Smartphone",
    "UNDEFINED": "UNDEFINED",
}
L2_CLASSES = ["Bake_pancake", "Prep_ingredients", "Using_Smartphone", "UNDEFINED"]
L3_CLASSES = list(L3_TO_L2)
# (subject_session, camera, L1 activity): file names as add_l2_column.py builds them.
DARAI_VIDEOS = [
    ("01_3", "camera_1_fps_15", "Making pancake"),
    ("01_3", "camera_2_fps_15", "Making pancake"),
    ("02_1", "camera_1_fps_15", "Using handheld smart devices"),
    ("03_2", "camera_2_fps_15", "Making pancake"),
    ("04_1", "camera_1_fps_15", "Using handheld smart devices"),
]
DARAI_SPLITS = {"train": [0, 1, 2], "val": [3], "test": [4]}
RGB_DIM = 16
DEPTH_SHAPE = (4, 6)

UTK_ACTIONS = ["walk", "sitDown", "standUp", "pickUp", "carry", "throw", "push", "pull", "waveHands", "clapHands"]
UTK_CLASSES = [*UTK_ACTIONS, "UNDEFINED"]
UTK_SESSIONS = ["s01_e01", "s01_e02", "s02_e01", "s02_e02"]
UTK_SPLITS = {"train": UTK_SESSIONS[:3], "val": UTK_SESSIONS[3:]}
UTK_DEPTH_SHAPE = (6, 8)
# s01_e01 in actionLabel.txt order, with the real file's quirk: push listed before pull, sharing frame 262.
UTK_S01_E01 = [("walk", 110, 150), ("sitDown", 170, 200), ("push", 262, 300), ("pull", 244, 262)]


def darai_video_name(index: int, *, activity_in_name: bool = True) -> str:
    """``01_3_camera_1_fps_15_Making pancake`` (as ``add_l2_column.py`` names label files) or, without
    the activity, ``01_3_camera_1_fps_15`` (R3D's DARai naming, split lines ``<video>.mp4``)."""
    subject_session, camera, activity = DARAI_VIDEOS[index]
    return f"{subject_session}_{camera}_{activity}" if activity_in_name else f"{subject_session}_{camera}"


def _segments(rng: np.random.Generator, num_frames: int, classes: list[str]) -> list[str]:
    durations = rng.integers(6, 20, size=num_frames // 6 + 1)
    names = rng.choice(classes, size=durations.size)
    return list(np.repeat(names, durations)[:num_frames])


def make_darai_dataset(
    root: Path, *, seed: int = 0, activity_in_name: bool = True, split_extension: str = ".txt"
) -> Path:
    """Write a valid DARai-layout dataset under ``root`` and return ``root``.

    Videos are named by ``darai_video_name(i, activity_in_name=...)``; split lines are
    ``<video><split_extension>``.

    Each video covers frames ``0..N-1``; two sequences of consecutive frames (``_1``, ``_2``) with a gap
    between them and unlabelled frames before the first, as R3D's preprocessing leaves them. Features
    are a class mean plus noise: image features per sequence line, depth ``(N, 4, 6)`` per video frame.
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "mapping_l2_changed.txt").write_text("".join(f"{i} {n}\n" for i, n in enumerate(L2_CLASSES)))
    (root / "mapping_l3_changed.txt").write_text("".join(f"{i} {n}\n" for i, n in enumerate(L3_CLASSES)))
    for folder in ("groundTruth_img", "features_img", "features_depth", "splits"):
        (root / folder).mkdir(exist_ok=True)
    rgb_means = rng.normal(0.0, 1.5, size=(len(L3_CLASSES), RGB_DIM))
    depth_means = rng.normal(0.0, 1.5, size=(len(L3_CLASSES), int(np.prod(DEPTH_SHAPE))))
    for index, (subject_session, camera, activity) in enumerate(DARAI_VIDEOS):
        video = darai_video_name(index, activity_in_name=activity_in_name)
        lengths = rng.integers(40, 70, size=2)
        first = int(rng.integers(3, 10))
        second = first + int(lengths[0]) + int(rng.integers(5, 15))
        num_frames = second + int(lengths[1]) + int(rng.integers(0, 5))
        fine = ["UNDEFINED"] * first + _segments(rng, num_frames - first, L3_CLASSES)
        ids = np.array([L3_CLASSES.index(name) for name in fine])
        depth = depth_means[ids] + rng.standard_normal((num_frames, depth_means.shape[1]))
        depth_name = video.replace(camera, "depth_" + camera.split("_")[1])
        depth = depth.reshape(num_frames, *DEPTH_SHAPE).astype(np.float32)
        np.save(root / "features_depth" / f"{depth_name}_1.npy", depth)
        for number, (start, length) in enumerate(zip((first, second), lengths), start=1):
            frames = range(start, start + int(length))
            lines = [
                f"/data/RGB_sd/{activity}/{camera}/{subject_session}_{f:05d}.jpg, {L3_TO_L2[fine[f]]}, {fine[f]}\n"
                for f in frames
            ]
            (root / "groundTruth_img" / f"{video}_{number}.txt").write_text("".join(lines))
            rgb = rgb_means[ids[list(frames)]] + rng.standard_normal((len(frames), RGB_DIM))
            np.save(root / "features_img" / f"{video}_{number}.npy", rgb.astype(np.float32))
    for split, members in DARAI_SPLITS.items():
        names = [darai_video_name(i, activity_in_name=activity_in_name) for i in members]
        (root / "splits" / f"{split}_split.txt").write_text("".join(f"{name}{split_extension}\n" for name in names))
    return root


def r3d_utkinect_label(frame: int, intervals: list[tuple[str, int, int]]) -> str:
    """The label R3D's ``utkinect-actionlabeltogt.py`` writes: the first listed interval holding ``frame``."""
    return next((action for action, start, end in intervals if start <= frame <= end), "UNDEFINED")


def _utkinect_intervals(rng: np.random.Generator, first: int, last: int) -> list[tuple[str, int, int]]:
    bounds = np.sort(rng.choice(np.arange(first, last), size=2 * len(UTK_ACTIONS), replace=False))
    return [(action, int(bounds[2 * i]), int(bounds[2 * i + 1])) for i, action in enumerate(UTK_ACTIONS)]


def utkinect_frames() -> list[int]:
    """Irregularly spaced RGB frame numbers 100, 102, 106, 112, ... (gaps of 2, 4, 6), as UTKinect's images are."""
    return (100 + np.concatenate([[0], np.cumsum(np.resize([2, 4, 6], 70))])).tolist()


def make_utkinect_r3d_dataset(root: Path, *, seed: int = 0, split_extension: str = ".txt") -> Path:
    """Write a valid R3D UTKinect-layout dataset under ``root`` and return ``root``.

    ``s01_e01`` uses ``UTK_S01_E01`` (an overlap, as in the real file); other sessions random intervals.
    Image features ``(T, 16)`` and depth maps ``(T, 6, 8)`` have one row per ground-truth line.
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "mapping_l2_changed.txt").write_text("".join(f"{i} {n}\n" for i, n in enumerate(UTK_CLASSES)))
    for folder in ("groundTruth", "features_img", "features_depth", "splits"):
        (root / folder).mkdir(exist_ok=True)
    rgb_means = rng.normal(0.0, 1.5, size=(len(UTK_CLASSES), RGB_DIM))
    depth_means = rng.normal(0.0, 1.5, size=(len(UTK_CLASSES), int(np.prod(UTK_DEPTH_SHAPE))))
    for session in UTK_SESSIONS:
        frames = utkinect_frames()
        intervals = UTK_S01_E01 if session == "s01_e01" else _utkinect_intervals(rng, frames[0], frames[-1])
        labels = [r3d_utkinect_label(f, intervals) for f in frames]
        session_path = f"/home/user/datasets/utkinect/RGB/{session}"
        (root / "groundTruth" / f"{session}.txt").write_text(
            "".join(f"{session_path}/colorImg{f}.jpg, {label}, UNDEFINED\n" for f, label in zip(frames, labels))
        )
        ids = np.array([UTK_CLASSES.index(label) for label in labels])
        rgb = rgb_means[ids] + rng.standard_normal((len(frames), RGB_DIM))
        depth = depth_means[ids] + rng.standard_normal((len(frames), depth_means.shape[1]))
        np.save(root / "features_img" / f"{session}.npy", rgb.astype(np.float32))
        depth = depth.reshape(len(frames), *UTK_DEPTH_SHAPE).astype(np.float32)
        np.save(root / "features_depth" / f"{session}.npy", depth)
    for split, members in UTK_SPLITS.items():
        (root / "splits" / f"{split}_split.txt").write_text("".join(f"{s}{split_extension}\n" for s in members))
    return root


def darai_example(tmp: Path) -> dict[str, Any]:
    """Options for the adapter contract test: the DARai layout, auto-detected."""
    return {"root": make_darai_dataset(tmp / "darai")}
