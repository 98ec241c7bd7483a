"""Prepare the next batches in a background thread while the model trains.

Decoding JPEGs and warping them is work the CPU can do *while* the network
computes on the previous batch. :class:`Prefetcher` wraps any batch iterator:
a daemon thread calls ``next()`` on it and puts the batches in a small queue;
your loop takes them out. The queue is bounded (``buffer_size`` batches) so the
thread never runs far ahead, an exception in the thread is raised again in your
loop (with its original traceback), and :meth:`Prefetcher.close` (or leaving a
``with`` block) stops the thread cleanly.

    >>> it = Prefetcher(iter(range(3)), buffer_size=2)
    >>> list(it)
    [0, 1, 2]
"""

from __future__ import annotations

import queue
import threading

from convsim.validation import positive_int

__all__ = ["Prefetcher", "prefetch"]

_DONE = object()  # the wrapped iterator ended (StopIteration)


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


class Prefetcher:
    """Iterate over ``iterator`` with up to ``buffer_size`` batches made ahead.

    Attribute access falls through to the wrapped iterator, so ``len()``,
    ``class_indices``, ``samples`` etc. keep working. Do not call ``next()`` on
    the wrapped iterator yourself while the prefetcher runs. Use it in a
    ``with`` block or call :meth:`close`: the (daemon) thread otherwise keeps
    its few batches ready until the program ends.
    """

    def __init__(self, iterator, buffer_size: int = 4):
        self.iterator = iterator
        self.buffer_size = positive_int(buffer_size, "buffer_size")
        self._queue: queue.Queue = queue.Queue(maxsize=buffer_size)
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._produce, daemon=True,
                                        name="convsim-prefetch")
        self._thread.start()

    def _produce(self) -> None:
        while not self._stop.is_set():
            try:
                item = next(self.iterator)
            except StopIteration:
                item = _DONE
            except BaseException as err:  # handed to the consumer, not lost
                item = _Failure(err)
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.05)
                    break
                except queue.Full:
                    continue
            if item is _DONE or isinstance(item, _Failure):
                return

    def __iter__(self):
        return self

    def __next__(self):
        if self._finished:
            raise StopIteration
        item = self._queue.get()
        if item is _DONE:
            self._finished = True
            raise StopIteration
        if isinstance(item, _Failure):
            self._finished = True
            raise item.error
        return item

    def __len__(self) -> int:
        return len(self.iterator)

    def __getattr__(self, name):
        # Only called for names not found on the Prefetcher itself.
        if name == "iterator":
            raise AttributeError(name)
        return getattr(self.iterator, name)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the background thread and drop the batches made ahead."""
        self._stop.set()
        while True:  # free a producer blocked on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout)
        self._finished = True

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def prefetch(iterator, buffer_size: int = 4) -> Prefetcher:
    """``Prefetcher(iterator, buffer_size)``: see :class:`Prefetcher`."""
    return Prefetcher(iterator, buffer_size)
