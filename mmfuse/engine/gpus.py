"""One GPU per parallel job: a grid on a launcher that runs jobs side by side (joblib) spreads them
over every GPU of the machine instead of stacking them all on the first."""
from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def claimed_gpu(lock_dir: Path, count: int, poll_seconds: float = 0.5) -> Iterator[int | None]:
    """The index of one of ``count`` GPUs that no other job holding a claim in ``lock_dir`` holds,
    for as long as the ``with`` block runs; ``None`` when there are fewer than two GPUs.

    Each GPU has a lock file ``gpu<i>.lock`` in ``lock_dir`` (the launch's directory, shared by its
    jobs), held with an exclusive ``flock`` that the kernel releases when the job ends, even if it
    crashes. A job finding every GPU held waits until one is released, so more parallel jobs than
    GPUs queue rather than share.
    """
    if count < 2:
        yield None
        return
    lock_dir.mkdir(parents=True, exist_ok=True)
    while True:
        for index in range(count):
            handle = os.open(lock_dir / f"gpu{index}.lock", os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(handle)
                continue
            try:
                yield index
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                os.close(handle)
            return
        time.sleep(poll_seconds)
