"""Torch's intra-op threads per job process (root config key ``threads``).

torch's default is one thread per core in every process, so jobs running side by side (joblib
workers, other users of a shared machine) oversubscribe the cores: a run that took 11 s alone took
48 s beside two busy processes with the default and 19.5 s with one thread (issue 16). ``auto``
shares the cores among the jobs the launcher runs at once; an integer sets the count.
"""
from __future__ import annotations

import os
from typing import Any, Mapping


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform tells it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parallel_jobs(launcher: Mapping[str, Any] | None, cores: int) -> int:
    """Jobs the launcher runs at once on this machine: joblib's ``n_jobs`` (negative counts back from
    the cores, as joblib does), else 1 (the default launcher runs one job at a time)."""
    launcher = launcher or {}
    if "joblib" not in str(launcher.get("_target_", "")).lower():
        return 1
    n_jobs = int(launcher.get("n_jobs") or 1)
    return n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)


def thread_count(setting: int | str, launcher: Mapping[str, Any] | None, cores: int | None = None) -> int:
    """``setting`` (a positive integer), or for ``auto`` the cores divided among the parallel jobs, at least 1."""
    if setting != "auto":
        return int(setting)
    cores = available_cores() if cores is None else cores
    return max(1, cores // parallel_jobs(launcher, cores))


def use_threads(setting: int | str, launcher: Mapping[str, Any] | None) -> int:
    """Set torch's intra-op threads for this process; return the count."""
    import torch

    threads = thread_count(setting, launcher)
    torch.set_num_threads(threads)
    return threads
