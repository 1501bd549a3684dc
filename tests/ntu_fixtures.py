"""Writers of small NTU RGB+D datasets in the exact ``.skeleton`` format, for adapter and CLI tests."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

# name -> number of bodies per frame (0: the NTU quirk, a sample with no skeleton). Under xsub,
# subjects 1, 2, 4, 5 train and 3, 6, 7 test; under xview, cameras 2 and 3 train and 1 tests.
SAMPLES: dict[str, int] = {
    "S001C001P001R001A001": 1,
    "S001C002P003R001A002": 1,
    "S001C003P002R002A003": 1,
    "S002C001P006R001A050": 2,
    "S002C002P004R001A010": 1,
    "S003C003P007R002A005": 1,
    "S001C002P005R002A008": 0,
}
EMPTY_SAMPLE = "S001C002P005R002A008"
TWO_BODY_SAMPLE = "S002C001P006R001A050"


def body_line(body_id: int) -> str:
    """bodyID clipedEdges handLeftConfidence handLeftState handRightConfidence handRightState
    isResticted leanX leanY trackingState, as the Kinect v2 SDK writes them."""
    return f"{body_id} 0 1 1 1 1 0 0.03711507 -0.2654876 2"


def joint_line(x: float, y: float, z: float) -> str:
    """x y z depthX depthY colorX colorY orientationW orientationX orientationY orientationZ trackingState."""
    rest = "283.0309 224.2974 1027.245 581.2726 -0.2574076 0.123495 0.9539005 -0.09254229 2"
    return f"{float(x)!r} {float(y)!r} {float(z)!r} {rest}"


def skeleton_text(frames: Sequence[Sequence[np.ndarray]], newline: str = "\n") -> str:
    """The text of a ``.skeleton`` file: ``frames[t]`` lists the (25, 3) joints of each body in frame t."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for b, joints in enumerate(bodies):
            lines += [body_line(72057594037931101 + b), "25"]
            lines += [joint_line(*(float(v) for v in joint)) for joint in joints]
    return newline.join(lines) + newline


def write_skeleton(path: Path, frames: Sequence[Sequence[np.ndarray]], newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(skeleton_text(frames, newline), newline="")
    return path


def random_body(rng: np.random.Generator, num_frames: int, spread: float, size: float = 0.3) -> np.ndarray:
    """``(T, 25, 3)`` joints: a pose of scale ``size`` 3 m from the camera plus a random walk of step ``spread``."""
    pose = rng.normal(0.0, size, size=(1, 25, 3)) + np.array([0.0, 0.0, 3.0])
    walk = np.cumsum(rng.normal(0.0, spread, size=(num_frames, 25, 3)), axis=0)
    return np.round(pose + walk, 5)


def make_ntu_dataset(
    root: Path,
    *,
    samples: dict[str, int] | None = None,
    flat: bool = False,
    features: dict[str, int] | None = None,
    frames: tuple[int, int] = (12, 30),
    seed: int = 0,
) -> Path:
    """Write ``samples`` (default ``SAMPLES``) under ``root`` and return ``root``.

    Skeletons go to ``root/nturgb+d_skeletons/`` (``root`` itself when ``flat``). In a two-body
    sample the first body listed is small and still (noise, say a chair), the second the main body. ``features`` maps a
    modality to a width: a ``(T, width)`` array per sample in ``root/features/<modality>/``.
    """
    rng = np.random.default_rng(seed)
    folder = root if flat else root / "nturgb+d_skeletons"
    folder.mkdir(parents=True, exist_ok=True)
    for name, num_bodies in (SAMPLES if samples is None else samples).items():
        num_frames = int(rng.integers(frames[0], frames[1] + 1))
        bodies = [
            random_body(rng, num_frames, 0.02) if b + 1 == num_bodies else random_body(rng, num_frames, 0.001, 0.01)
            for b in range(num_bodies)
        ]
        write_skeleton(folder / f"{name}.skeleton", [[body[t] for body in bodies] for t in range(num_frames)])
        for modality, width in (features or {}).items():
            (root / "features" / modality).mkdir(parents=True, exist_ok=True)
            array = rng.standard_normal((num_frames, width)).astype(np.float32)
            np.save(root / "features" / modality / f"{name}.npy", array.T)  # (D, T), as `mmfuse extract` writes
    return root
