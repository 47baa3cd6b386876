"""Several tiny language models trained at once, with the numbers of one run at a time.

Chapters 1 and 2 train every model with five seeds. :func:`train_many` spreads the runs
over the idle cores, one process and one thread per run, so each run computes exactly
what :func:`aniso.lm.train_lm` computes alone (reductions depend on the thread count,
not on the number of processes).

Each worker goes through :func:`aniso.lm.train_lm`, which locks the cache entry it trains
(:func:`aniso.util.files.locked`); the parent holds no lock while it waits for its workers, and
locks one entry at a time afterwards, so no process ever waits for a lock that a process
waiting for it holds. Two notebooks training the same runs at once train each run once.
"""

from __future__ import annotations


def _train_into_cache(args) -> None:
    from aniso.lm.model import train_lm
    from aniso.util.threads import one_thread

    corpus, cfg, cache_dir = args
    with one_thread():
        train_lm(corpus, cfg, progress=False, cache=True, cache_dir=cache_dir)


def train_many(
    corpus,
    configs,
    workers: int | None = None,
    cache_dir=None,
    progress: bool = False,
    all_snapshots=None,
) -> list:
    """:func:`aniso.lm.train_lm` for several configs, up to ``workers`` at a time. Chapters 1, 2.

    Each run trains in its own process on one thread, so the numbers are exactly those
    of ``train_lm`` (seeds, data order, thread count); the results travel through the
    cache (``$ANISO_CACHE_DIR/lm``) and are returned in the order of ``configs``.
    ``workers=None``: the cores idle right now (:func:`aniso.util.threads.free_cores`, at most the
    CPUs this process may use, :func:`aniso.util.threads.available_cpus`).
    ``all_snapshots``, a predicate on a config: the runs for which it is false keep only their
    first and last snapshots (the cache keeps them all). Chapter 1 holds thirty runs, about
    30 MB of snapshots each; only seed 0's training curves need the steps in between, and a
    reader's Binder has 2 GB.
    """
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from aniso.lm.model import cache_path, train_lm
    from aniso.util.threads import free_cores

    configs = list(configs)
    todo = {}
    for c in configs:
        path = cache_path(corpus, c, cache_dir)
        if not path.exists():
            todo.setdefault(path, c)
    todo = list(todo.values())
    workers = free_cores() if workers is None else workers
    if workers > 1 and len(todo) > 1:
        with ProcessPoolExecutor(min(workers, len(todo)), mp_context=get_context("spawn")) as ex:
            list(ex.map(_train_into_cache, [(corpus, c, cache_dir) for c in todo]))
    results = []
    for c in configs:
        r = train_lm(corpus, c, progress=progress, cache_dir=cache_dir)
        if all_snapshots is not None and not all_snapshots(c):
            r.snapshots, r.out_snapshots = _ends(r.snapshots), _ends(r.out_snapshots)
        results.append(r)
    return results


def _ends(snapshots: dict) -> dict:
    """The first and last of a run's snapshots (step -> matrix)."""
    return {k: snapshots[k] for k in (min(snapshots), max(snapshots))} if snapshots else {}
