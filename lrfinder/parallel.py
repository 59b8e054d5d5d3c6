"""One runner for independent jobs: joblib, with one BLAS thread per job.

Verification probes (and any other set of independent runs) go through
:func:`run_jobs` or a :class:`JobRunner`, which hand them to
:class:`joblib.Parallel`. The backend is whatever :func:`joblib.parallel_config`
says: loky processes on one machine by default, or a cluster::

    from dask.distributed import Client
    from joblib import parallel_config

    client = Client("tcp://scheduler:8786")
    with parallel_config("dask"):
        verification = lrfinder.verify(result, model, data)

Nothing here is home-made: no pool, no queue. What this module adds is small:

* every job runs with one BLAS thread (threadpoolctl), so that ``n_jobs``
  workers never use more than ``n_jobs`` cores, and so that a job's numbers do
  not depend on how many jobs run beside it (OpenBLAS sums a matrix product in
  another order when it splits it over threads);
* results come back in the order of the tasks, whatever order they finish in;
* :meth:`JobRunner.share` hands a large array to worker processes as a memory
  map that is gone as soon as the runner closes (joblib's own automatic one
  costs a fixed 0.1 s wait at the end);
* on Ctrl-C, :class:`JobsInterrupted` carries every result that had finished.

A job must take its randomness from its own arguments (seeds), never from global
state; then the results are the same for every backend and every ``n_jobs``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

#: BLAS threads each job may use. One: the jobs are the parallelism, and with a
#: fixed count a job computes the same bits whether it runs alone or beside others.
BLAS_THREADS = 1


class JobsInterrupted(KeyboardInterrupt):
    """Ctrl-C during :meth:`JobRunner.run`. ``results[i]`` is task ``i``'s result, or None
    when it had not finished."""

    def __init__(self, results: list):
        super().__init__("interrupted")
        self.results = results


class _BlasLimit:
    """Hold the BLAS thread count at :data:`BLAS_THREADS` while any job of this process runs.

    threadpoolctl's limit is global to the process. Under a threading backend
    (joblib's ``threading``, an in-process Dask cluster) several jobs share one
    process, and a job that restored the old limit on leaving would change it
    under a job still running. So the first job to enter sets the limit and the
    last one to leave restores it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._limiter = None

    def __enter__(self) -> None:
        with self._lock:
            if self._active == 0:
                from threadpoolctl import threadpool_limits

                self._limiter = threadpool_limits(limits=BLAS_THREADS, user_api="blas")
            self._active += 1

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0 and self._limiter is not None:
                self._limiter.restore_original_limits()
                self._limiter = None


_BLAS_LIMIT = _BlasLimit()

#: :meth:`JobRunner.share` maps arrays larger than this to a file, as joblib does
#: (its ``max_nbytes="1M"``).
SHARE_BYTES = 1024**2


def _process_workers(n_jobs: int | None) -> bool:
    """Whether jobs run in worker processes on this machine (loky, multiprocessing),
    which can open a file the caller wrote, with POSIX semantics (a file may be
    removed while a process still maps it)."""
    from joblib import effective_n_jobs
    from joblib.parallel import BACKENDS, get_active_backend

    if os.name != "posix" or effective_n_jobs(n_jobs) == 1:
        return False
    backend, _ = get_active_backend()
    local = tuple(BACKENDS[name] for name in ("loky", "multiprocessing") if name in BACKENDS)
    return isinstance(backend, local)


def _call(index: int, function: Callable, args: tuple) -> tuple[int, Any]:
    with _BLAS_LIMIT:
        return index, function(*args)


class JobRunner:
    """A :class:`joblib.Parallel` kept open across several batches of jobs.

    Use it as a context manager when one task's jobs come in rounds (the rungs of a
    verification): the workers, and the copies of large arrays that joblib shares
    with them, are then set up once instead of once a round::

        with JobRunner(n_jobs=2) as runner:
            first = runner.run(train, tasks)
            second = runner.run(train, more_tasks)

    Parameters
    ----------
    n_jobs : int, optional
        Workers, as for :class:`joblib.Parallel` (-1: one per core). None: the
        ``n_jobs`` of the enclosing :func:`joblib.parallel_config`, else 1 (in
        this process, no workers started).
    """

    def __init__(self, n_jobs: int | None = None):
        from joblib import Parallel

        self._parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        self._n_jobs = n_jobs
        self._folder: str | None = None  # of the arrays share() dumped
        self._shared: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id -> (array, map)

    def __enter__(self) -> JobRunner:
        self._parallel.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._parallel.__exit__(*exc)
        finally:
            self._shared.clear()
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None

    def share(self, array: np.ndarray) -> np.ndarray:
        """``array`` as the jobs' arguments should carry it: a read-only memory map of a
        copy in a temporary file when the jobs run in worker processes on this machine
        and it is larger than :data:`SHARE_BYTES`, else ``array`` itself.

        joblib memory-maps such an array by itself, but it removes its folder only
        after a fixed wait of 0.1 s at the end of every :class:`joblib.Parallel` (its
        resource tracker unlinks the files after the folder is first tried). Dumped
        here instead, by joblib's recipe for memory-mapped input data, the workers open
        the same file by its name, and the folder (in the system's temporary folder)
        goes as soon as the runner closes. The bytes are the same, so the results are
        too. Call it inside the ``with`` block; the same array shared again gives the
        same map.
        """
        if array.nbytes <= SHARE_BYTES or array.dtype.hasobject:
            return array
        if not _process_workers(self._n_jobs):
            return array
        if id(array) in self._shared:
            return self._shared[id(array)][1]
        import joblib

        try:
            if self._folder is None:
                self._folder = tempfile.mkdtemp(prefix="lrfinder-shared-")
            path = os.path.join(self._folder, f"{len(self._shared)}.joblib")
            joblib.dump(array, path)
            shared = joblib.load(path, mmap_mode="r")
        except OSError:  # no room or no temporary folder: joblib's own memmapping instead
            return array
        self._shared[id(array)] = (array, shared)  # keeps ``array``: its id stays its own
        return shared

    def share_rows(self, data):
        """``data`` (a dataclass with rows ``x``, such as an ``ArrayData``; or None) with its
        ``x`` as :meth:`share` hands it to the workers."""
        return None if data is None else replace(data, x=self.share(data.x))

    def run(
        self,
        function: Callable,
        tasks: Sequence[tuple],
        on_result: Callable[[int, Any], None] | None = None,
    ) -> list:
        """Return ``[function(*task) for task in tasks]``, computed by the workers.

        ``function`` must be a module-level function (it is pickled to the
        workers). ``on_result(index, result)`` is called in this process as each
        job finishes, in the order they finish (e.g. for a progress bar).

        Raises
        ------
        JobsInterrupted
            On Ctrl-C, with the results that had finished.
        """
        from joblib import delayed

        results: list = [None] * len(tasks)
        if not tasks:
            return results
        jobs = (delayed(_call)(i, function, tuple(args)) for i, args in enumerate(tasks))
        try:
            for index, result in self._parallel(jobs):
                results[index] = result
                if on_result is not None:
                    on_result(index, result)
        except KeyboardInterrupt:
            raise JobsInterrupted(results) from None
        return results


def run_jobs(
    function: Callable,
    tasks: Sequence[tuple],
    *,
    n_jobs: int | None = None,
    on_result: Callable[[int, Any], None] | None = None,
) -> list:
    """Return ``[function(*task) for task in tasks]``, computed through joblib.

    One batch of jobs with :class:`JobRunner` (see there for the parameters).

    Raises
    ------
    JobsInterrupted
        On Ctrl-C, with the results that had finished.
    """
    with JobRunner(n_jobs) as runner:
        return runner.run(function, tasks, on_result)
