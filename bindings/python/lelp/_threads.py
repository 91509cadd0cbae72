# SPDX-License-Identifier: MIT
"""Every core from Python: rows of one call sharded over Python threads.

liblelp starts no threads (docs/api.md, "Using every core"); the binding is a
host and shards instead. ctypes releases the GIL during each C call, so T
Python threads run T C calls at once. Each shard is a contiguous slice of the
rows [N*k/T, N*(k+1)/T) -- a view, never a copy -- and the results are
combined in shard order, so a given thread count gives the same bits every
run. While shards run, OpenBLAS is held at one thread
(openblas_set_num_threads through the already loaded library, restored after),
so T shards use T cores rather than T x (BLAS threads). A BLAS without that
call keeps its own setting: set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS=1.
"""
import ctypes as ct
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, List, Optional, Sequence, Tuple, TypeVar

from . import _arrays
from ._lib import LIB as _L

R = TypeVar("R")

#: Fewest rows per shard: below this the thread start-up (~0.1 ms) is not
#: repaid, so small batches take one C call on the calling thread, as before.
MIN_ROWS_PER_THREAD = 4096


def cpu_count() -> int:
    """The cores this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve(threads: Optional[int]) -> int:
    """`threads=` of a call: None means every core (cpu_count()); else a
    positive integer (ValueError/TypeError otherwise)."""
    if threads is None:
        return cpu_count()
    t = _arrays.as_int(threads, "threads")
    if t < 1:
        raise ValueError(f"threads must be >= 1 (or None for every core), got {t}")
    return t


def ranges(n: int, threads: int, min_rows: int = MIN_ROWS_PER_THREAD) -> List[Tuple[int, int]]:
    """The row slices of n rows over at most `threads` shards of at least
    min_rows rows each (one shard when n is small): [(lo, hi), ...] in order."""
    T = max(1, min(threads, n // max(1, min_rows)))
    return [(n * k // T, n * (k + 1) // T) for k in range(T)]


class _OneBlasThread:
    """Holds OpenBLAS at one thread while sharded work runs (re-entrant and
    shared between concurrent sharded calls: the first in saves and sets, the
    last out restores)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved = 0
        self._get: Optional[Any] = None
        self._set: Optional[Any] = None
        try:
            self._get, self._set = _L.openblas_get_num_threads, _L.openblas_set_num_threads
            self._get.restype, self._get.argtypes = ct.c_int, []
            self._set.restype, self._set.argtypes = None, [ct.c_int]
        except AttributeError:  # another BLAS: its own setting stays (docs/python.md)
            self._get = self._set = None

    @property
    def available(self) -> bool:
        return self._set is not None

    def __enter__(self) -> "_OneBlasThread":
        if self._set is not None and self._get is not None:
            with self._lock:
                if self._depth == 0:
                    self._saved = self._get()
                    if self._saved != 1:
                        self._set(1)
                self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        if self._set is not None:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._saved != 1:
                    self._set(self._saved)


ONE_BLAS_THREAD = _OneBlasThread()


def run(work: Callable[[int, int, int], R], shards: Sequence[Tuple[int, int]]) -> List[R]:
    """[work(k, lo, hi) for each shard k], shard 0 on the calling thread and
    the others on threads of their own, results in shard order. Each work call
    raises its own LelpError (lelp_last_error is per thread); the first
    failing shard's exception is raised after every shard has finished."""
    if len(shards) == 1:
        lo, hi = shards[0]
        return [work(0, lo, hi)]
    with ONE_BLAS_THREAD, ThreadPoolExecutor(max_workers=len(shards) - 1) as pool:
        futures = [pool.submit(work, k, lo, hi) for k, (lo, hi) in enumerate(shards) if k]
        results: List[R] = []
        first_error: Optional[BaseException] = None
        try:
            results.append(work(0, *shards[0]))
        except BaseException as e:  # noqa: B036 -- re-raised below, after the other shards
            first_error = e
        for f in futures:
            try:
                results.append(f.result())
            except BaseException as e:  # noqa: B036
                first_error = first_error or e
    if first_error is not None:
        raise first_error
    return results
