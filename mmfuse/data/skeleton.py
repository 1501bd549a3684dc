"""Skeleton streams shared by the skeleton adapters (``utkinect``, ``ntu``).

The four inputs of multi-stream skeleton action recognition (2s-AGCN, MS-G3D, CTR-GCN), each a
separate modality for fusion: ``joint`` positions, ``bone`` vectors (child joint minus its parent
along the kinematic tree; the root's bone is zero), and their temporal differences
``joint_motion`` / ``bone_motion`` (``x[t + 1] - x[t]``, zero at the last frame, as 2s-AGCN's
``gen_motion_data``). A stream is flattened to ``(T, J * 3)``, joint-major.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from mmfuse.errors import ConfigError

STREAMS: tuple[str, ...] = ("joint", "bone", "joint_motion", "bone_motion")


def check_streams(modalities: Sequence[str] | str, extra: Sequence[str] = ()) -> list[str]:
    """``modalities`` as a list, each a skeleton stream or one of ``extra``; raises ``ConfigError`` otherwise."""
    chosen = [modalities] if isinstance(modalities, str) else list(modalities)
    known = list(STREAMS) + list(extra)
    unknown = [name for name in chosen if name not in known]
    if unknown or not chosen or len(set(chosen)) != len(chosen):
        raise ConfigError(
            f"dataset.modalities must name each of its entries once, from {', '.join(known)}; got {chosen}"
        )
    return chosen


def bones(joints: np.ndarray, parents: Sequence[int]) -> np.ndarray:
    """``(T, J, 3)`` bone vectors: each joint minus its parent; a root (its own parent) gets zeros."""
    if joints.ndim != 3 or joints.shape[1] != len(parents):
        raise ValueError(f"joints must be (T, {len(parents)}, 3), got {joints.shape}")
    return joints - joints[:, list(parents)]


def motion(stream: np.ndarray) -> np.ndarray:
    """Temporal difference ``x[t + 1] - x[t]`` along axis 0, zero at the last frame."""
    out = np.zeros_like(stream)
    out[:-1] = stream[1:] - stream[:-1]
    return out


def skeleton_streams(joints: np.ndarray, parents: Sequence[int], names: Sequence[str]) -> dict[str, np.ndarray]:
    """The requested streams of a ``(T, J, 3)`` joint sequence, each ``float32[T, J * 3]``."""
    joints = np.asarray(joints, dtype=np.float32)
    bone = bones(joints, parents) if {"bone", "bone_motion"} & set(names) else None
    made = {
        "joint": lambda: joints,
        "bone": lambda: bone,
        "joint_motion": lambda: motion(joints),
        "bone_motion": lambda: motion(bone),
    }
    return {name: np.ascontiguousarray(made[name]().reshape(len(joints), -1), dtype=np.float32) for name in names}
