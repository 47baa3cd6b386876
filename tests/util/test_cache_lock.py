"""The locks of the run caches (aniso.util.files.locked): two processes asking for the same language
model or SimCSE run at once (two chapters open in JupyterLab) train it once; the second waits for
the first, then reads the cached result.

The order is forced, not left to the scheduler: the first process signals (a marker file) that it
holds the lock and trains, the second is started then, and the first finishes only once the second
has said that it waits (its line on stderr)."""

import io
import json
import os
import subprocess
import sys
import threading
import time

import pytest
from conftest import SENTENCES

from aniso.util import files

WAITING = "waiting for another process"

# One child process: trains (or reads) a tiny LM or SimCSE run in $ANISO_CACHE_DIR and prints
# whether it trained, when it started and finished, and the numbers of the result.
CHILD = r"""
import json, sys, time
from pathlib import Path

kind, role, folder = sys.argv[1], sys.argv[2], Path(sys.argv[3])
report = {"trained": False, "start": time.time()}


def hold():
    # inside the training, so inside the lock: the first process waits for the test's go
    report["trained"] = True
    if role == "first":
        (folder / "holding").touch()
        deadline = time.time() + 120
        while not (folder / "go").exists() and time.time() < deadline:
            time.sleep(0.02)
    report["trained_until"] = time.time()


if kind == "lm":
    import numpy as np
    from aniso.lm import model as lm

    real = lm.perplexity

    def perplexity(model, ids, **kw):  # train_lm scores the model only when it trains
        hold()
        return real(model, ids, **kw)

    lm.perplexity = perplexity
    ids = np.random.default_rng(0).integers(2, 30, 600)
    corpus = lm.Corpus(["<unk>", "<eos>", *(f"w{i}" for i in range(28))],
                       np.bincount(ids, minlength=30), ids, ids[:200], ("toy",), "toy")
    cfg = lm.TrainConfig(dim=8, steps=5, batch_size=4, bptt=8, snapshot_every=5, eval_tokens=0)
    res = lm.train_lm(corpus, cfg, progress=False)
    report["numbers"] = [res.test_ppl, [h["nll"] for h in res.history]]
else:
    import numpy as np
    from transformers import TrainerCallback
    from aniso.contrastive import trainer as C
    from aniso.data.tasks import STSData
    from aniso.evaluation.sts import DevProbe

    class Hold(TrainerCallback):
        def on_train_begin(self, args, state, control, **kw):
            hold()

    s = (folder / "s.txt").read_text().splitlines()
    dev = STSData("tiny-dev", s[:12], s[12:24], np.random.default_rng(0).uniform(0, 5, 12),
                  ["x"] * 12)
    C.DevProbe = lambda task="stsb-dev", data_dir=None: DevProbe(dev)
    cfg = C.SimCSEConfig(model=sys.argv[4], sentences=str(folder / "s.txt"), n_sentences=8,
                         batch_size=4, lr=1e-3, max_length=16, eval_every=2, log_every=1, seed=3)
    run = C.train_simcse(cfg, callbacks=[Hold()])
    report["numbers"] = [run.summary, list(run.loss.loss), list(run.evals.spearman)]
    report["run_dir"] = str(run.dir)
report["end"] = time.time()
print(json.dumps(report))
"""


def _wait_until(condition, proc, err, what, timeout=180):
    deadline = time.time() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(
                f"a process ended (exit code {proc.returncode}) before {what}:\n"
                + err.read_text()[-3000:]
            )
        if time.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _race(kind, tmp_path, *extra):
    """Run the two processes; returns their reports and stderr texts, first process first."""
    (tmp_path / "s.txt").write_text("\n".join(SENTENCES) + "\n")
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "ANISO_CACHE_DIR": str(tmp_path / "cache")}
    procs, logs = [], []
    try:
        for role in ("first", "second"):
            out, err = tmp_path / f"{role}.out", tmp_path / f"{role}.err"
            with open(out, "w") as fo, open(err, "w") as fe:
                cmd = [sys.executable, str(script), kind, role, str(tmp_path), *map(str, extra)]
                procs.append(subprocess.Popen(cmd, stdout=fo, stderr=fe, env=env))
            logs.append((out, err))
            if role == "first":  # the second starts once the first holds the lock and trains
                holding = (tmp_path / "holding").exists
                _wait_until(holding, procs[0], err, "the first held the lock")
        second_err = logs[1][1]
        _wait_until(
            lambda: WAITING in second_err.read_text(), procs[1], second_err, "the second waited"
        )
        (tmp_path / "go").touch()
        for p in procs:
            p.wait(timeout=180)
    finally:
        for p in procs:  # a failed test leaves no process behind
            if p.poll() is None:
                p.kill()
                p.wait()
    reports, errs = [], []
    for p, (out, err) in zip(procs, logs):
        assert p.returncode == 0, err.read_text()[-3000:]
        reports.append(json.loads(out.read_text().splitlines()[-1]))
        errs.append(err.read_text())
    return reports, errs


def _check(reports, errs):
    first, second = reports
    assert first["trained"] and not second["trained"]  # exactly one trained
    assert WAITING not in errs[0]
    assert sum(WAITING in line for line in errs[1].splitlines()) == 1  # one line, then on
    # the second asked while the first trained and finished only after the first had trained
    assert second["start"] < first["trained_until"] < second["end"]
    assert second["numbers"] == first["numbers"]  # read from the cache the first wrote


def test_two_processes_train_one_language_model(tmp_path):
    reports, errs = _race("lm", tmp_path)
    _check(reports, errs)
    lm_dir = tmp_path / "cache" / "lm"
    assert len(list(lm_dir.glob("*.pt"))) == 1  # the lock file is no cache entry
    assert [p.name for p in lm_dir.glob(".*.lock")] == [
        files.lock_path(next(lm_dir.glob("*.pt"))).name
    ]


def test_two_processes_train_one_simcse_run(tmp_path, tiny_bert):
    reports, errs = _race("simcse", tmp_path, tiny_bert)
    _check(reports, errs)
    assert reports[0]["numbers"][0]["done"] and reports[0]["run_dir"] == reports[1]["run_dir"]
    runs = tmp_path / "cache" / "runs"
    assert [p.name for p in runs.glob("simcse-*")] == [os.path.basename(reports[0]["run_dir"])]


# ----------------------------------------------------------------------------- the helper
class _Stderr(io.StringIO):
    """A stderr that tells when something was written to it."""

    def __init__(self):
        super().__init__()
        self.written = threading.Event()

    def write(self, s):
        n = super().write(s)
        self.written.set()
        return n


def test_locked_says_it_waits_only_when_it_waits(tmp_path, monkeypatch):
    entry = tmp_path / "lm" / "abc.pt"
    stderr = _Stderr()
    monkeypatch.setattr(sys, "stderr", stderr)
    with files.locked(entry, what="the test entry") as waited:
        assert not waited
    assert stderr.getvalue() == ""
    lock = files.lock_path(entry)
    assert lock == tmp_path / "lm" / ".abc.pt.lock" and lock.exists()
    assert not list(entry.parent.glob("*.pt")) and not list(entry.parent.glob("abc*"))

    held, order = threading.Event(), []

    def holder():  # another holder (its own lock object, as another process would have)
        with files.locked(entry):
            held.set()
            stderr.written.wait(60)  # until the main thread says that it waits
            order.append("holder done")

    t = threading.Thread(target=holder)
    t.start()
    assert held.wait(60)
    with files.locked(entry, what="the test entry") as waited:
        order.append("waiter in")
        assert waited
    t.join(60)
    assert order == ["holder done", "waiter in"]
    lines = stderr.getvalue().splitlines()
    assert len(lines) == 1 and WAITING in lines[0] and "the test entry" in lines[0]


def test_lock_files_are_not_cache_entries(tmp_path):
    run = tmp_path / "runs" / "simcse-0123456789abcdef"
    assert files.lock_path(run).name == ".simcse-0123456789abcdef.lock"
    with files.locked(run):
        pass
    assert not list((tmp_path / "runs").glob("simcse-*"))
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [".simcse-0123456789abcdef.lock"]
