"""How much each modality of the default `synthetic` dataset tells alone, and fused.

Per-frame nearest-class-mean classifiers fitted on the train frames, frame accuracy on the
test frames, for each modality alone and for their concatenation; then the same after a
15-step moving average (temporal context). Prints a Markdown table.

    python bench/synthetic_complementarity.py
"""
from __future__ import annotations

import numpy as np

from mmfuse.registry import create_dataset


def frames(videos, modalities, smooth: int) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    kernel = np.ones(smooth) / smooth
    for video in videos:
        x = np.concatenate([video.features[m] for m in modalities], axis=1)
        if smooth > 1:
            x = np.stack([np.convolve(column, kernel, mode="same") for column in x.T], axis=1)
        rows.append(x)
        labels.append(video.sampled_labels)
    return np.concatenate(rows), np.concatenate(labels)


def nearest_mean_accuracy(train, test, modalities, smooth: int = 1) -> float:
    x, y = frames(train, modalities, smooth)
    x_test, y_test = frames(test, modalities, smooth)
    means = np.stack([x[y == k].mean(axis=0) for k in range(int(y.max()) + 1)])
    distances = ((x_test[:, None, :] - means[None]) ** 2).sum(axis=-1)
    return float((distances.argmin(axis=1) == y_test).mean() * 100)


def main() -> None:
    dataset = create_dataset("synthetic")
    train, test = dataset.videos("train"), dataset.videos("test")
    views = [[m] for m in dataset.modalities] + [dataset.modalities]
    print("| features | per frame | 15-step moving average |")
    print("|---|---|---|")
    for view in views:
        single = nearest_mean_accuracy(train, test, view)
        smoothed = nearest_mean_accuracy(train, test, view, smooth=15)
        print(f"| {' ⊕ '.join(view)} | {single:.1f} % | {smoothed:.1f} % |")


if __name__ == "__main__":
    main()
