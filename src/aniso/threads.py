"""The thread policy of the whole book, in one place (introduced in chapter "The problem").

Two policies, both measured on a 2-core machine:

* ``"one"``: torch and the BLAS on one thread. Reductions depend on the thread
  count, so this gives the same numbers on every machine; chapters 1 and 2 (tiny
  language models, where one thread is also the fastest) use it.
* ``"all"``: torch's default, one thread per core (chapters that only encode with a fixed
  thread count, for numbers that do not depend on the machine's load: chapter 0, the appendix).
* ``"free"``: as many torch threads as there are idle cores (:func:`free_cores`).
  With two threads on a machine where another process holds a core, every operation
  waits for the starved thread and training runs several times slower than with one.
"""

from __future__ import annotations

import os
import time

import torch

POLICIES = ("one", "free", "all")


def free_cores() -> int:
    """Cores not busy with other processes right now (at least 1), to use as torch's thread count.

    Chapter "SimCSE". Measured from ``/proc/stat`` over 0.3 s. Falls back to
    ``os.cpu_count()`` off Linux.
    """
    n = os.cpu_count() or 1

    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + (v[4] if len(v) > 4 else 0)  # total, idle + iowait

    try:
        t0, i0 = sample()
        time.sleep(0.3)
        t1, i1 = sample()
    except (OSError, ValueError):
        return n
    busy = n * (1 - (i1 - i0) / max(t1 - t0, 1))
    return max(1, min(n, int(n - busy + 0.5)))


class one_thread:
    """Run torch and the BLAS on one CPU thread inside the block (``with one_thread():``), or
    from now on (``one_thread().__enter__()``): the same numbers on every machine (reductions
    depend on the thread count), and much faster on a busy 2-core machine. Chapters 1 and 2."""

    def __enter__(self):
        import scipy.linalg  # noqa: F401  (load SciPy's own BLAS now, so that the limit covers it)
        from threadpoolctl import threadpool_limits

        self.n, self.blas = torch.get_num_threads(), threadpool_limits(1)
        torch.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        torch.set_num_threads(self.n)
        self.blas.restore_original_limits()


class free_threads:
    """Use :func:`free_cores` torch threads inside the block (re-measured on entry), then restore.

    Chapter "SimCSE"."""

    def __enter__(self):
        self.before = torch.get_num_threads()
        torch.set_num_threads(free_cores())
        return self

    def __exit__(self, *exc):
        torch.set_num_threads(self.before)


def apply_policy(policy: str) -> int:
    """Apply a thread policy (one of :data:`POLICIES`) from now on; returns torch's thread count."""
    if policy == "one":
        one_thread().__enter__()
    elif policy == "free":
        torch.set_num_threads(free_cores())
    elif policy == "all":
        torch.set_num_threads(os.cpu_count() or 1)
    else:
        raise ValueError(f"thread policy {policy!r}: expected one of {POLICIES}")
    return torch.get_num_threads()
