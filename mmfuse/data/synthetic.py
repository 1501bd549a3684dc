"""``synthetic``: videos from an action grammar, seen by modalities that each miss part of the class.

Class ``c`` is the code of ``F = ceil(log2 K)`` bits. With several modalities, modality ``m`` is
blind to bit ``(m - 1) mod F`` (with K=8, M=2: ``m0`` sees bits 0 and 1, ``m1`` bits 1 and 2), so
each modality alone confuses pairs of classes that only the others tell apart. A modality renders
each bit as ``±`` a random unit direction in its feature space, scaled by 1 on the bits it sees and
by ``1 - complementarity`` on its blind bit, plus a slow per-video drift and Gaussian noise.

Actions follow a Markov chain whose transitions are equivariant under flipping the blind bits:
``P[a ^ g, b ^ g] = P[a, b]`` for every combination ``g`` of blind bits, with the same mean duration
for ``a`` and ``a ^ g``. A whole video and its blind-bit twin are therefore equally likely, and no
temporal context tells a modality which of its confusable classes it sees; fusing the modalities
does. Each action has three likely successors (plus a small chance of any other action), so the
future is partly predictable once the current action is known.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from mmfuse.data.base import DatasetAdapter, check_split
from mmfuse.data.issues import Issue
from mmfuse.data.video import Video
from mmfuse.errors import ConfigError
from mmfuse.registry import register_dataset

SPLIT_STREAMS = {"train": 1, "test": 2}
SUCCESSORS = 3  # likely successors per action
OFF_SCRIPT = 0.1  # probability mass spread over every other action
DURATION_JITTER = 0.3  # segment durations vary uniformly by ±30 % around their class mean
GRAMMAR_CANDIDATES = 16
BACKGROUND_RATE = 0.5  # chance of a background segment between two actions, when background is on


@register_dataset("synthetic")
class SyntheticDataset(DatasetAdapter):
    """Action-grammar videos; each modality sees part of the class code (no files, seeded)."""

    def __init__(
        self,
        seed: int = 0,
        num_classes: int = 8,
        num_train: int = 48,
        num_test: int = 32,
        min_frames: int = 200,
        max_frames: int = 500,
        segments_per_video: float = 8.0,
        feature_dim: int | Sequence[int] = 24,
        noise: float | Sequence[float] = 0.5,
        drift: float = 0.3,
        complementarity: float = 1.0,
        num_modalities: int = 2,
        background: Sequence[str] = (),
        sample_rate: int = 2,
        sensor_dropout: float | Sequence[float] = 0.0,
    ) -> None:
        background = [background] if isinstance(background, str) else list(background)
        dims = _per_modality(feature_dim, num_modalities)
        noises = _per_modality(noise, num_modalities)
        dropouts = _per_modality(sensor_dropout, num_modalities)
        _check(isinstance(seed, int) and seed >= 0, "seed", "an integer >= 0", seed)
        _check(num_modalities >= 1, "num_modalities", ">= 1", num_modalities)
        _check(num_classes >= (3 if num_modalities > 1 else 2), "num_classes",
               ">= 3 with several modalities (>= 2 with one)", num_classes)
        _check(num_train >= 1 and num_test >= 1, "num_train/num_test", ">= 1", (num_train, num_test))
        _check(1 <= min_frames <= max_frames, "min_frames/max_frames", "1 <= min_frames <= max_frames",
               (min_frames, max_frames))
        _check(segments_per_video > 0, "segments_per_video", "> 0", segments_per_video)
        _check(len(dims) == num_modalities and all(d >= 1 for d in dims), "feature_dim",
               f"an integer >= 1 or a list of {num_modalities}", feature_dim)
        _check(len(noises) == num_modalities and min(noises) >= 0, "noise",
               f"a number >= 0 or a list of {num_modalities}", noise)
        _check(drift >= 0, "drift", ">= 0", drift)
        _check(len(dropouts) == num_modalities and all(0 <= p < 1 for p in dropouts), "sensor_dropout",
               f"a number in [0, 1) or a list of {num_modalities}", sensor_dropout)
        _check(0 <= complementarity <= 1, "complementarity", "in [0, 1]", complementarity)
        _check(isinstance(sample_rate, int) and sample_rate >= 1, "sample_rate", "an integer >= 1", sample_rate)
        _check(len(set(background)) == len(background), "background", "distinct names", background)
        actions = [f"a{c}" for c in range(num_classes)]
        _check(not set(background) & set(actions), "background", f"names other than {actions}", background)

        self.seed = seed
        self.num_actions = num_classes
        self.num_videos = {"train": num_train, "test": num_test}
        self.min_frames, self.max_frames = min_frames, max_frames
        self.drift = float(drift)
        self.sample_rate = sample_rate
        self.classes = actions + background
        self.background = background
        self.modalities = [f"m{i}" for i in range(num_modalities)]
        self._dims = dict(zip(self.modalities, dims))
        self._noise = dict(zip(self.modalities, map(float, noises)))
        self._dropout = dict(zip(self.modalities, map(float, dropouts)))

        bits = max(1, math.ceil(math.log2(num_classes)))
        blind = [(m - 1) % bits for m in range(num_modalities)] if num_modalities > 1 else []
        self.blind_bits = {name: [b] for name, b in zip(self.modalities, blind)}
        rng = np.random.default_rng([seed, 0])
        self._transitions = _transitions(rng, num_classes, bits, blind)
        mean_length = (min_frames + max_frames) / 2
        self._durations = _orbit_durations(rng, num_classes, bits, blind, mean_length / segments_per_video)
        self._background_duration = 0.4 * mean_length / segments_per_video
        codes = np.arange(num_classes)[:, None] >> np.arange(bits) & 1
        signs = 2.0 * codes - 1.0
        self._means = {}
        for name, dim in self._dims.items():
            weight = np.ones(bits)
            weight[self.blind_bits.get(name, [])] = 1.0 - complementarity
            directions = _unit_rows(rng, bits + len(background), dim)
            self._means[name] = np.concatenate([(signs * weight) @ directions[:bits], directions[bits:]])

    @property
    def feature_dims(self) -> dict[str, int]:
        return dict(self._dims)

    def videos(self, split: str) -> list[Video]:
        check_split(split)
        return [
            self._video(f"{split}{i:04d}", np.random.default_rng([self.seed, SPLIT_STREAMS[split], i]))
            for i in range(self.num_videos[split])
        ]

    def validate(self) -> list[Issue]:
        return []

    def _video(self, name: str, rng: np.random.Generator) -> Video:
        """Rendered at the full frame rate, then subsampled: ``sample_rate`` changes no value."""
        labels = self._labels(rng)
        features = {}
        for modality, means in self._means.items():
            shape = (len(labels), means.shape[1])
            walk = rng.standard_normal(shape).cumsum(axis=0) / math.sqrt(len(labels))
            offset = rng.standard_normal(shape[1])
            frames = means[labels] + self.drift * (offset + walk) + self._noise[modality] * rng.standard_normal(shape)
            if self._dropout[modality] > 0:  # drawn only when asked, so other options keep their videos
                frames[rng.random(len(labels)) < self._dropout[modality]] = 0.0
            features[modality] = frames[:: self.sample_rate].astype(np.float32)
        return Video(name, features, labels, sample_rate=self.sample_rate)

    def _labels(self, rng: np.random.Generator) -> np.ndarray:
        num_frames = int(rng.integers(self.min_frames, self.max_frames + 1))
        segments: list[tuple[int, float]] = []
        action = int(rng.integers(self.num_actions))
        total = 0.0
        while total < num_frames:
            if segments and self.background and rng.random() < BACKGROUND_RATE:
                background = self.num_actions + int(rng.integers(len(self.background)))
                segments.append((background, self._background_duration * rng.uniform(0.5, 1.5)))
                total += segments[-1][1]
            duration = self._durations[action] * rng.uniform(1 - DURATION_JITTER, 1 + DURATION_JITTER)
            segments.append((action, duration))
            total += duration
            action = int(rng.choice(self.num_actions, p=self._transitions[action]))
        classes = np.array([c for c, _ in segments], dtype=np.int64)
        lengths = np.maximum(1, np.round([d for _, d in segments])).astype(np.int64)
        return np.repeat(classes, lengths)[:num_frames]


def _per_modality(value: Any, count: int) -> list[Any]:
    """One value for every modality, or the list given (its length is checked by the caller)."""
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else [value] * count


def _check(ok: bool, option: str, requirement: str, value: object) -> None:
    if not ok:
        raise ConfigError(f"dataset 'synthetic': {option} must be {requirement}, got {value!r}")


def _unit_rows(rng: np.random.Generator, rows: int, dim: int) -> np.ndarray:
    vectors = rng.standard_normal((rows, dim))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _orbits(bits: int, blind: list[int]) -> tuple[np.ndarray, list[int]]:
    """Representative (smallest code) of every code's orbit under flips of blind bits, and the flips."""
    flips = [0]
    for b in sorted(set(blind)):
        flips += [g | 1 << b for g in flips]
    codes = np.arange(2**bits)
    return np.min([codes ^ g for g in flips], axis=0), flips


def _transitions(rng: np.random.Generator, num_classes: int, bits: int, blind: list[int]) -> np.ndarray:
    """Of a few random grammars, the one whose long-run class frequencies are the most even."""
    candidates = [_random_transitions(rng, num_classes, bits, blind) for _ in range(GRAMMAR_CANDIDATES)]
    return min(candidates, key=lambda matrix: np.ptp(np.linalg.matrix_power(matrix, 64)[0]))


def _random_transitions(rng: np.random.Generator, num_classes: int, bits: int, blind: list[int]) -> np.ndarray:
    """Row-stochastic ``[K, K]`` matrix, zero diagonal, equivariant under flips of blind bits."""
    size = 2**bits
    representative, flips = _orbits(bits, blind)
    full = np.zeros((size, size))
    for r in np.unique(representative):
        successors = rng.choice([b for b in range(size) if b != r], size=min(SUCCESSORS, size - 1), replace=False)
        probs = rng.dirichlet(np.ones(len(successors)))
        for g in flips:
            full[r ^ g, successors ^ g] = probs
    matrix = full[:num_classes, :num_classes]
    off_diagonal = 1.0 - np.eye(num_classes)
    matrix = np.where(matrix.sum(axis=1, keepdims=True) > 0, matrix, off_diagonal)
    matrix = matrix / matrix.sum(axis=1, keepdims=True)
    return (1 - OFF_SCRIPT) * matrix + OFF_SCRIPT * off_diagonal / (num_classes - 1)


def _orbit_durations(
    rng: np.random.Generator, num_classes: int, bits: int, blind: list[int], mean: float
) -> np.ndarray:
    """Mean duration per class, shared by the classes a modality confuses, spread evenly around ``mean``."""
    representative, _ = _orbits(bits, blind)
    orbits, index = np.unique(representative, return_inverse=True)
    spread = 0.6 + 0.8 * (rng.permutation(len(orbits)) + 0.5) / len(orbits)  # evenly over [0.6, 1.4]
    return (mean * spread)[index][:num_classes]
