"""A synthetic dataset and budget small enough for an end-to-end run in a few seconds."""

TINY = [
    "dataset.num_train=6",
    "dataset.num_test=3",
    "dataset.min_frames=60",
    "dataset.max_frames=120",
    "dataset.train.epochs=1",
]
