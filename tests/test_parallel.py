"""``lrfinder.parallel``: how a :class:`JobRunner` hands large arrays to its workers."""

from __future__ import annotations

import os

import numpy as np
import pytest
from joblib import parallel_config

from lrfinder import parallel
from lrfinder.parallel import SHARE_BYTES, JobRunner


def _total(array: np.ndarray) -> float:
    """A job that reads the whole array (module level: pickled to the workers)."""
    return float(np.sum(array, dtype=np.float64))


@pytest.fixture()
def large() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.standard_normal(SHARE_BYTES // 8 + 1000).astype(np.float64)


def test_a_large_array_reaches_process_workers_as_a_map_that_goes_with_the_runner(large):
    with JobRunner(n_jobs=2) as runner:
        shared = runner.share(large)
        assert isinstance(shared, np.memmap) and not shared.flags.writeable
        assert np.array_equal(shared, large)
        assert runner.share(large) is shared  # dumped once, however often it is passed
        folder = os.path.dirname(shared.filename)
        assert os.path.exists(shared.filename)
        totals = runner.run(_total, [(shared,), (shared[::2],)])
    assert totals == [_total(large), _total(large[::2])]
    assert not os.path.exists(folder)


def test_a_large_array_stays_as_it_is_where_no_worker_process_needs_a_copy(large):
    small = np.ones(10)
    with JobRunner(n_jobs=2) as runner:
        assert runner.share(small) is small
    with JobRunner(n_jobs=1) as runner:  # jobs run in this process
        assert runner.share(large) is large
    with parallel_config("threading"), JobRunner(n_jobs=2) as runner:  # threads share memory
        assert runner.share(large) is large


def test_the_map_is_removed_when_a_job_fails(large, monkeypatch):
    with pytest.raises(ZeroDivisionError):
        with JobRunner(n_jobs=2) as runner:
            shared = runner.share(large)
            runner.run(divmod, [(1, 0)])
    assert not os.path.exists(shared.filename)
    monkeypatch.setattr(parallel.os, "name", "nt")  # no POSIX unlink of an open map
    with JobRunner(n_jobs=2) as runner:
        assert runner.share(large) is large


def test_an_array_that_cannot_be_written_out_goes_to_joblib_as_it_is(large, monkeypatch):
    import joblib

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(joblib, "dump", full)
    with JobRunner(n_jobs=2) as runner:
        assert runner.share(large) is large
        assert runner.run(_total, [(large,)]) == [_total(large)]
