"""Collapse diagnostics (analysis.geometry) against numpy references, and through a trained model's
test videos (analysis.representations)."""
from __future__ import annotations

import json
import statistics

import numpy as np
import pytest
import torch

from mmfuse.analysis.effective_rank import effective_rank
from mmfuse.analysis.geometry import (
    cross_modal_drift,
    harmonic_mean,
    principal_angles,
    rank_gains,
    singular_spectrum,
)
from mmfuse.analysis.representations import measure_representations, representation_geometry, valid_tokens
from mmfuse.data.video import Video
from mmfuse.models.backbone import build_backbone
from mmfuse.registry import create_task
from mmfuse.tasks.base import TaskModel

RNG = np.random.default_rng(0)


def with_singular_values(rows: int, cols: int, sigma: list[float]) -> np.ndarray:
    """A random [rows, cols] matrix whose non-zero singular values are ``sigma``."""
    left, _ = np.linalg.qr(RNG.standard_normal((rows, len(sigma))))
    right, _ = np.linalg.qr(RNG.standard_normal((cols, len(sigma))))
    return left @ np.diag(sigma) @ right.T


def with_singular_values_tensor(sigma: list[float], rows: int, cols: int) -> torch.Tensor:
    return torch.from_numpy(with_singular_values(rows, cols, sigma))


MATRICES = {
    "tall": RNG.standard_normal((60, 8)) * RNG.uniform(0.1, 3.0, size=8),
    "wide": RNG.standard_normal((6, 20)),
    "rank-deficient": RNG.standard_normal((50, 3)) @ RNG.standard_normal((3, 10)),
}


def reference_spectrum(z: np.ndarray) -> np.ndarray:
    sigma = np.linalg.svd(z, compute_uv=False)
    sigma = np.where(sigma > sigma.max() * max(z.shape) * np.finfo(np.float64).eps, sigma, 0.0)
    return sigma / sigma.sum()


@pytest.mark.parametrize("name", MATRICES)
def test_spectrum_matches_numpy_and_its_entropy_is_the_effective_rank(name: str) -> None:
    z = MATRICES[name]
    spectrum = singular_spectrum(torch.from_numpy(z))
    np.testing.assert_allclose(spectrum, reference_spectrum(z), rtol=0, atol=1e-6)
    assert len(spectrum) == min(z.shape) and spectrum == sorted(spectrum, reverse=True)
    p = np.array([v for v in spectrum if v > 0])
    assert np.exp(-(p * np.log(p)).sum()) == pytest.approx(effective_rank(torch.from_numpy(z)), rel=1e-12)


def test_spectrum_of_degenerate_matrices() -> None:
    assert singular_spectrum(with_singular_values_tensor([2.0, 2.0], 30, 6))[:3] == pytest.approx([0.5, 0.5, 0.0])
    assert singular_spectrum(torch.zeros(5, 3)) == [0.0, 0.0, 0.0]
    assert singular_spectrum(torch.zeros(0, 3)) == []
    with pytest.raises(ValueError, match="NaN"):
        singular_spectrum(torch.tensor([[1.0, float("nan")]]))


def test_rank_gains_are_ratios_of_modalities_with_a_stream_after_fusion() -> None:
    ranks = {"rgb": 4.0, "depth": 2.0, "imu": 3.0, "rgb/blended": 5.0, "depth/blended": 3.0, "stacked": 9.0, "fused": 7.0}
    assert rank_gains(ranks) == {"rgb": 1.25, "depth": 1.5}
    assert rank_gains({"rgb": 0.0, "rgb/blended": 2.0, "depth/blended": 1.0}) == {}


def test_harmonic_mean() -> None:
    values = list(RNG.uniform(0.5, 2.0, size=5))
    assert harmonic_mean(values) == pytest.approx(statistics.harmonic_mean(values), rel=1e-12)
    assert harmonic_mean({"a": 1.0, "b": 3.0}.values()) == pytest.approx(1.5)
    assert harmonic_mean([2.0, 2.0]) == 2.0
    assert harmonic_mean([]) is None and harmonic_mean([1.5]) is None
    assert harmonic_mean([1.0, 0.0]) is None and harmonic_mean([1.0, -2.0]) is None


def energy_k(z: np.ndarray) -> int:
    energy = np.cumsum(np.linalg.svd(z, compute_uv=False) ** 2)
    return int(np.argmax(energy >= 0.9 * energy[-1])) + 1


def reference_angles(x: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """cos²θ are the top-k eigenvalues of P_x P_y P_x, P the projector onto each top-k left subspace."""
    projectors = []
    for z in (x, y):
        u = np.linalg.svd(z, full_matrices=False)[0][:, :k]
        projectors.append(u @ u.T)
    cos2 = np.sort(np.linalg.eigvalsh(projectors[0] @ projectors[1] @ projectors[0]))[::-1][:k]
    return np.sort(np.degrees(np.arccos(np.sqrt(np.clip(cos2, 0.0, 1.0)))))


@pytest.mark.parametrize(("cx", "cy"), [(5, 12), (8, 8), (20, 3)])
def test_principal_angles_match_numpy_across_widths(cx: int, cy: int) -> None:
    x = RNG.standard_normal((40, cx)) * np.linspace(0.2, 3.0, cx)
    y = RNG.standard_normal((40, cy)) + x[:, :1]
    k = min(energy_k(x), energy_k(y))
    angles = principal_angles(torch.from_numpy(x), torch.from_numpy(y))
    assert len(angles) == k
    np.testing.assert_allclose(angles, reference_angles(x, y, k), rtol=0, atol=1e-6)
    np.testing.assert_allclose(principal_angles(torch.from_numpy(x), torch.from_numpy(y), k=2), reference_angles(x, y, 2), atol=1e-6)


def test_principal_angles_of_a_rank_deficient_matrix_and_the_default_k() -> None:
    x = MATRICES["rank-deficient"]
    y = RNG.standard_normal((50, 7))
    np.testing.assert_allclose(principal_angles(torch.from_numpy(x), torch.from_numpy(y), k=3), reference_angles(x, y, 3), atol=1e-6)
    with pytest.raises(ValueError, match="k=4"):
        principal_angles(torch.from_numpy(x), torch.from_numpy(y), k=4)
    # energies 100, 25, 1, 0.25: two components hold 90 %; eight equal values need all eight
    steep, flat = with_singular_values_tensor([10, 5, 1, 0.5], 30, 6), with_singular_values_tensor([1.0] * 8, 30, 9)
    assert len(principal_angles(steep, flat)) == 2
    assert len(principal_angles(flat, with_singular_values_tensor([1.0] * 8, 30, 12))) == 8


def test_principal_angles_of_shared_and_orthogonal_subspaces() -> None:
    basis, _ = np.linalg.qr(RNG.standard_normal((30, 6)))
    x = basis[:, :3] @ RNG.standard_normal((3, 5))
    mixed = basis[:, :3] @ RNG.standard_normal((3, 9))  # another basis of the same subspace, other width
    orthogonal = basis[:, 3:] @ RNG.standard_normal((3, 4))
    assert principal_angles(torch.from_numpy(x), torch.from_numpy(mixed), k=3) == pytest.approx([0.0] * 3, abs=1e-5)
    assert principal_angles(torch.from_numpy(x), torch.from_numpy(orthogonal), k=3) == pytest.approx([90.0] * 3, abs=1e-6)
    assert principal_angles(torch.zeros(30, 4), torch.from_numpy(x)) == []
    with pytest.raises(ValueError, match="same tokens"):
        principal_angles(torch.zeros(30, 4), torch.zeros(29, 4))


def reference_drift(x: np.ndarray, y: np.ndarray) -> float:
    def unit(z: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        return np.divide(z, norms, out=np.zeros_like(z), where=norms > 0)

    return float(np.linalg.norm(unit(x) - unit(y), axis=1).mean())


def test_cross_modal_drift() -> None:
    x, y = RNG.standard_normal((40, 6)), RNG.standard_normal((40, 6))
    x[3], y[5], x[7], y[7] = 0.0, 0.0, 0.0, 0.0  # a zero row is 1 from a unit vector, 0 from a zero row
    assert cross_modal_drift(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(reference_drift(x, y), abs=1e-9)
    assert cross_modal_drift(torch.from_numpy(x), torch.from_numpy(3 * x)) == pytest.approx(0.0, abs=1e-12)
    z = torch.from_numpy(RNG.standard_normal((40, 6)))
    assert cross_modal_drift(z, -z) == pytest.approx(2.0, abs=1e-12)
    with pytest.raises(ValueError, match="one shape"):
        cross_modal_drift(torch.zeros(4, 3), torch.zeros(4, 5))
    with pytest.raises(ValueError, match="no tokens"):
        cross_modal_drift(torch.zeros(0, 3), torch.zeros(0, 3))


def test_representation_geometry_pairs_modalities_in_their_order() -> None:
    tokens = {name: torch.from_numpy(RNG.standard_normal((30, width))) for name, width in
              [("c", 4), ("a", 4), ("b", 6), ("a/blended", 4), ("c/blended", 4), ("fused", 5)]}
    ranks = {name: effective_rank(z) for name, z in tokens.items()}
    geometry = representation_geometry(tokens, ranks, ["a", "b", "c"])
    assert list(geometry["principal_angles"]) == ["a~b", "a~c", "b~c", "a/blended~c/blended"]
    assert list(geometry["cross_modal_drift"]) == ["a~c", "a/blended~c/blended"]  # b is wider
    assert geometry["rank_gain"] == {"a": ranks["a/blended"] / ranks["a"], "c": ranks["c/blended"] / ranks["c"]}
    assert geometry["principal_angles"]["a~b"] == principal_angles(tokens["a"], tokens["b"])
    assert list(geometry["spectra"]) == list(tokens)


MODALITIES = ["rgb", "depth"]


def tiny_model(fusion: str) -> TaskModel:
    torch.manual_seed(0)
    backbone = build_backbone(MODALITIES, {m: 6 for m in MODALITIES}, 8, 8, {"name": "projection"}, {"name": fusion},
                              {"name": "tcn", "layers": 2}, num_classes=4)
    return TaskModel(backbone, create_task("segmentation").build_head(8, 4)).eval()


@pytest.mark.parametrize("fusion", ["rtf", "afft_sa"])
def test_measure_representations_on_the_same_tokens_as_the_ranks(fusion: str) -> None:
    rng = np.random.default_rng(1)
    videos = [Video(f"v{n}", {m: rng.normal(size=(n, 6)).astype(np.float32) for m in MODALITIES}, rng.integers(0, 4, n))
              for n in (70, 40, 55)]
    model, cpu = tiny_model(fusion), torch.device("cpu")
    ranks, geometry = measure_representations(model, videos, MODALITIES, 2, cpu)
    everything = valid_tokens(model, videos, MODALITIES, cpu)  # all 165 tokens: nothing subsampled
    assert ranks.keys() == everything.keys()
    for name, tokens in everything.items():
        assert ranks[name] == pytest.approx(effective_rank(tokens), rel=1e-9)
        np.testing.assert_allclose(geometry["spectra"][name], singular_spectrum(tokens), atol=1e-9)
    streams = fusion == "rtf"
    assert set(ranks) == {"rgb", "depth", "fused"} | ({"rgb/blended", "depth/blended", "stacked"} if streams else set())
    pairs = ["rgb~depth", "rgb/blended~depth/blended"] if streams else ["rgb~depth"]
    assert list(geometry["principal_angles"]) == pairs and list(geometry["cross_modal_drift"]) == pairs
    np.testing.assert_allclose(geometry["principal_angles"]["rgb~depth"],
                               principal_angles(everything["rgb"], everything["depth"]), atol=1e-6)
    assert geometry["cross_modal_drift"]["rgb~depth"] == pytest.approx(
        cross_modal_drift(everything["rgb"], everything["depth"]), abs=1e-9)
    assert geometry["rank_gain"] == ({m: ranks[f"{m}/blended"] / ranks[m] for m in MODALITIES} if streams else {})
    assert geometry["rank_gain_harmonic_mean"] == harmonic_mean(geometry["rank_gain"].values())
    assert json.loads(json.dumps(geometry, allow_nan=False)) == geometry
