"""Tests of aniso.util.threads: every thread and worker count stays within the CPUs the process
may use (the affinity mask and the cgroup CPU quota, through loky), not the host's cores."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from joblib.externals import loky
from threadpoolctl import threadpool_info, threadpool_limits

from aniso.lm import model as lm
from aniso.lm import parallel
from aniso.util import threads


@pytest.fixture(autouse=True)
def _restore_threads():
    """The policies change torch's and the BLAS's thread counts for the whole process."""
    before = torch.get_num_threads()
    with threadpool_limits(limits=None):  # restores the BLAS's limits on exit
        yield
    torch.set_num_threads(before)


def _blas_threads() -> list[int]:
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_available_cpus_is_within_the_affinity_mask():
    n = threads.available_cpus()
    assert 1 <= n <= len(os.sched_getaffinity(0)) <= (os.cpu_count() or 1)
    assert 1 <= threads.free_cores() <= n


@pytest.mark.parametrize("quota", [1, 2])
def test_a_quota_bounds_every_policy_and_free_cores(quota, monkeypatch):
    """A container of a 64-core host limited to `quota` CPUs (what loky reads from the cgroup)."""
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(loky, "cpu_count", lambda only_physical_cores=False: quota)
    assert threads.available_cpus() == quota
    assert 1 <= threads.free_cores() <= quota
    assert threads.apply_policy("all") == quota
    assert all(n <= quota for n in _blas_threads())
    with pytest.raises(ValueError, match="free"):
        threads.apply_policy("free")  # gone: a thread count that followed the load
    with threads.all_threads():
        assert torch.get_num_threads() == quota
    assert threads.apply_policy("one") == 1


def test_the_affinity_mask_and_loky_max_cpu_count_are_read(monkeypatch):
    """The real loky cpu_count, with the host's count faked: the mask (taskset -c 0) wins..."""
    monkeypatch.delenv("LOKY_MAX_CPU_COUNT", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert threads.available_cpus() == 1
    assert threads.free_cores() == 1
    assert threads.apply_policy("all") == 1
    monkeypatch.undo()
    # ... and so does $LOKY_MAX_CPU_COUNT, the user's own limit
    monkeypatch.setenv("LOKY_MAX_CPU_COUNT", "1")
    assert threads.available_cpus() == 1


def test_train_many_starts_no_more_workers_than_the_quota(monkeypatch, tmp_path):
    import concurrent.futures

    def no_pool(*args, **kwargs):
        raise AssertionError("a process pool on a one-CPU quota")

    monkeypatch.setattr(loky, "cpu_count", lambda only_physical_cores=False: 1)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_pool)
    ids = np.random.default_rng(0).integers(2, 20, 400)
    corpus = lm.Corpus(
        ["<unk>", "<eos>", *(f"w{i}" for i in range(18))],
        np.bincount(ids, minlength=20),
        ids,
        ids[:100],
        ("toy",),
        "toy",
    )
    cfgs = [
        lm.TrainConfig(
            dim=4, steps=2, batch_size=2, bptt=4, snapshot_every=2, eval_tokens=0, seed=s
        )
        for s in (0, 1)
    ]
    runs = parallel.train_many(corpus, cfgs, cache_dir=tmp_path)  # workers=None: free_cores()
    assert len(runs) == 2 and len(list(tmp_path.glob("*.pt"))) == 2


@pytest.mark.skipif(not shutil.which("taskset"), reason="taskset (util-linux) not installed")
def test_a_process_pinned_to_one_cpu_counts_one():
    code = (
        "from aniso.util.threads import apply_policy, available_cpus, free_cores; "
        "print(available_cpus(), free_cores(), apply_policy('all'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "LOKY_MAX_CPU_COUNT"}
    out = subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "1", "1"]
