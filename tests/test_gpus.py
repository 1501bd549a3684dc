"""A parallel grid on a machine with several GPUs gives each running job its own GPU."""
from __future__ import annotations

import threading
import time

from mmfuse.engine.gpus import claimed_gpu
from mmfuse.engine.job import on_gpu, shared_gpus


def test_parallel_jobs_claim_distinct_gpus_and_queue_when_all_are_held(tmp_path):
    held: list[int] = []
    release = threading.Event()
    started = threading.Barrier(4)

    def job() -> None:
        with claimed_gpu(tmp_path, 3, poll_seconds=0.01) as gpu:
            held.append(gpu)
            started.wait()
            release.wait()

    jobs = [threading.Thread(target=job) for _ in range(3)]
    for thread in jobs:
        thread.start()
    started.wait(timeout=5)
    assert sorted(held) == [0, 1, 2]  # three GPUs, three jobs side by side, one each

    late: list[int] = []

    def fourth() -> None:
        with claimed_gpu(tmp_path, 3, poll_seconds=0.01) as gpu:
            late.append(gpu)

    waiting = threading.Thread(target=fourth)
    waiting.start()
    time.sleep(0.2)
    assert late == []  # every GPU is held: the fourth job waits instead of sharing
    release.set()
    for thread in [*jobs, waiting]:
        thread.join(timeout=5)
    assert late and late[0] in (0, 1, 2)


def test_one_gpu_or_none_is_never_claimed(tmp_path):
    for count in (0, 1):
        with claimed_gpu(tmp_path, count) as gpu:
            assert gpu is None


def test_a_cell_runs_on_its_jobs_gpu_only_when_the_device_is_automatic(monkeypatch):
    monkeypatch.setattr("torch.cuda.device_count", lambda: 4)
    assert shared_gpus("auto") == 4 and shared_gpus("cuda:1") == 0 and shared_gpus("cpu") == 0
    cell = {"device": "auto", "seed": 1}
    assert on_gpu(cell, 2) == {"device": "cuda:2", "seed": 1} and on_gpu(cell, None) is cell
