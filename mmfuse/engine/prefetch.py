"""Build the next batches in a background thread while the model trains on this one."""
from __future__ import annotations

from queue import Queue
from threading import Thread
from typing import Iterable, Iterator, TypeVar

Item = TypeVar("Item")
_END = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(items: Iterable[Item], depth: int) -> Iterator[Item]:
    """``items`` in order, at most ``depth`` of them built ahead by one background thread.

    Batches are read from feature files and padded there (numpy and file reads release the GIL),
    so reading overlaps the model's step; one producer keeps the order and every random draw of
    the sampler the same as without it. An error while building a batch is raised here, at that
    batch. ``depth=0`` builds each item when it is asked for, in this thread.
    """
    if depth <= 0:
        yield from items
        return
    queue: Queue = Queue(maxsize=depth)
    stop = False

    def fill() -> None:
        try:
            for item in items:
                if stop:
                    return
                queue.put(item)
        except BaseException as error:  # handed to the consumer, raised at the failed batch
            queue.put(_Failed(error))
        queue.put(_END)

    producer = Thread(target=fill, name="mmfuse-prefetch", daemon=True)
    producer.start()
    try:
        while (item := queue.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop = True
        while producer.is_alive():  # let a producer blocked on a full queue see ``stop``
            while not queue.empty():
                queue.get_nowait()
            producer.join(timeout=0.05)
