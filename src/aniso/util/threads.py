"""The thread policy of the whole book, in one place (introduced in chapter "The problem").

Two policies, both measured on a 2-core machine:

* ``"one"``: torch and the BLAS on one thread. Reductions depend on the thread
  count, so this gives the same numbers on every machine; chapters 1 and 2 (tiny
  language models, where one thread is also the fastest) use it.
* ``"all"``: one torch thread per CPU this process may use (:func:`available_cpus`), for every
  other chapter, and inside the SimCSE trainer and the STS evaluation (:class:`all_threads`).

The thread count never follows the machine's load. It once did (a policy ``"free"``: as many
threads as idle cores, because two threads on a machine where another process holds a core
run several times slower than one), but a float sum depends on the thread count, so the same
command gave other numbers (1e-7 apart) when something else was running: a SimCSE run trained
twice in one test differed in its third loss. A busy machine is now slower, never different.
Only the number of worker *processes* of :func:`aniso.lm.parallel.train_many` follows the load
(:func:`free_cores`); each worker runs on one thread, so its numbers do not depend on it.

Every count here comes from :func:`available_cpus`, never from ``os.cpu_count()``: in a
container (Binder, Docker, Kubernetes) the host's cores are visible but the process may use
only those of its affinity mask and its cgroup CPU quota. ``"all"`` also caps the
BLAS's thread pools (which start one thread per host core) at that number.
"""

from __future__ import annotations

import os
import time

import torch

POLICIES = ("one", "all")


def available_cpus() -> int:
    """The CPUs this process may use (at least 1), for every thread and worker count of the book.

    Chapter "The problem". The smallest of the machine's logical CPUs (``os.cpu_count()``, the
    host's in a container), the affinity mask (``taskset``, ``docker --cpuset-cpus``), the cgroup
    v1 or v2 CPU quota (``docker --cpus``, Kubernetes and Binder limits; a fractional quota
    rounds up) and ``$LOKY_MAX_CPU_COUNT`` when set: loky's ``cpu_count()`` (joblib's process
    pool), which reads them all. Logical CPUs (``only_physical_cores=False``): the mask and the
    quota count logical CPUs, loky ignores the physical-core count whenever one of them binds,
    and ``os.cpu_count()``, used before, counted logical CPUs too.
    """
    from joblib.externals import loky

    return max(1, int(loky.cpu_count(only_physical_cores=False)))


def free_cores() -> int:
    """CPUs not busy with other processes right now (at least 1, at most :func:`available_cpus`),
    as the number of worker processes to start.

    Chapter 1 (the worker processes of :func:`aniso.lm.parallel.train_many`, each on one
    thread). Measured from ``/proc/stat`` over 0.3 s, on the CPUs of the affinity mask (all of
    them when their lines are missing); :func:`available_cpus` off Linux.
    """
    n = available_cpus()
    try:
        mask = {f"cpu{i}" for i in os.sched_getaffinity(0)}
    except (AttributeError, OSError):  # no affinity mask off Linux
        mask = set()

    def sample():
        mine, everything = [0, 0], [0, 0]  # total, idle + iowait
        with open("/proc/stat") as f:
            for line in f:
                name, *fields = line.split()
                if not name.startswith("cpu"):
                    break  # the CPU lines come first
                v = [int(x) for x in fields]
                into = everything if name == "cpu" else mine if name in mask else None
                if into is not None:
                    into[0] += sum(v)
                    into[1] += v[3] + (v[4] if len(v) > 4 else 0)
        return mine if mine[0] else everything

    try:
        t0, i0 = sample()
        time.sleep(0.3)
        t1, i1 = sample()
    except (OSError, ValueError, IndexError):
        return n
    busy = n * (1 - (i1 - i0) / max(t1 - t0, 1))
    return max(1, min(n, int(n - busy + 0.5)))


def _limit_blas(n: int):
    import scipy.linalg  # noqa: F401  (load SciPy's own BLAS now, so that the limit covers it)
    from threadpoolctl import threadpool_limits

    return threadpool_limits(n, user_api="blas")


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


class all_threads:
    """Use one torch thread per CPU this process may use (:func:`available_cpus`) inside the
    block, then restore: a count that depends on the machine, never on its load. Chapter
    "SimCSE"."""

    def __enter__(self):
        self.before = torch.get_num_threads()
        torch.set_num_threads(available_cpus())
        return self

    def __exit__(self, *exc):
        torch.set_num_threads(self.before)


def apply_policy(policy: str) -> int:
    """Apply a thread policy (one of :data:`POLICIES`) from now on; returns torch's thread count.

    Chapter "The problem". ``"all"`` also caps the BLAS at :func:`available_cpus`.
    """
    if policy not in POLICIES:
        raise ValueError(f"thread policy {policy!r}: expected one of {POLICIES}")
    if policy == "one":
        one_thread().__enter__()
        return torch.get_num_threads()
    _limit_blas(available_cpus())
    torch.set_num_threads(available_cpus())
    return torch.get_num_threads()
