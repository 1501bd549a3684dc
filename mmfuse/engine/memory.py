"""The peak memory of one run, not of the process that runs it."""
from __future__ import annotations

import ctypes
from pathlib import Path

import torch

CLEAR_REFS = Path("/proc/self/clear_refs")  # Linux: writing 5 resets the peak RSS to the current RSS
STATUS = Path("/proc/self/status")


class PeakMemory:
    """Peak memory in MiB from this object's creation (a run's start) to ``mb()`` (its end).

    CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``, the most memory
    the process's tensors held on the device (the CUDA context and the caching allocator's spare
    reserve not included). Other devices: the process's peak resident set size during the run,
    Linux's ``VmHWM`` after resetting it to the current size at the start, so an earlier, larger
    run of the same process is not counted, while what the process already holds (interpreter,
    libraries, the dataset's videos, memory its allocator kept from earlier runs) is. ``None``
    where the kernel cannot reset that peak (not Linux).
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
            self.measured = True
        else:
            self.measured = _reset_peak_rss()

    def mb(self) -> float | None:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        return _peak_rss_kib() / 1024 if self.measured else None


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
LARGE_BUFFER = 1 << 20


def return_large_buffers() -> None:
    """Have glibc give every buffer of 1 MiB or more its own mapping, returned to the system when freed.

    By default glibc raises that threshold to the largest buffer freed so far (up to 32 MiB), after
    which batch-sized buffers (a padded evaluation batch, a video's features) come from the heap and
    fragment it: measured on streamed folder sets, the peak then grew by about a tenth per fourfold
    growth of the test split; with a fixed threshold it stays flat. Nothing happens off glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(M_MMAP_THRESHOLD, LARGE_BUFFER)


def _reset_peak_rss() -> bool:
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _peak_rss_kib() -> int:
    line = next(line for line in STATUS.read_text().splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1])
