"""The multi-process path of SimCSE training on the CPU (issue: the paper profile proven runnable).

``torchrun --nproc_per_node 2 -m aniso.contrastive`` with the smoke profile's settings (the
paper configuration, the stand-in BERT, the local wiki1m head, 4 steps) on the gloo backend: two
processes of 64 sentences each must give the loss of one process on the same global batch of 128
(the in-batch negatives are gathered across the processes, so the two losses are the same sum),
and an interrupted run must resume from its checkpoint. ``--positive no_dropout`` makes both
runs deterministic. Takes a few minutes.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow
SRC = Path(__file__).resolve().parents[2] / "src"
# the smoke profile's cut of the paper's run (aniso.experiments.profiles), given as options
COMMON = [
    "--profile",
    "paper",
    "--model",
    "mini-bert",
    "--sentences",
    "wiki1m",
    "--max-steps",
    "4",
    "--eval-every",
    "2",
    "--log-every",
    "1",
    "--positive",
    "no_dropout",
]


def _run(args, env, tmp_path):
    proc = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc


def _losses(run_dir: Path) -> np.ndarray:
    rows = json.loads((run_dir / "loss.json").read_text())
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    return np.array([r["loss"] for r in rows])


def test_two_processes_give_the_single_process_loss_and_resume(tmp_path, data_dir):
    env = {
        **os.environ,
        "ANISO_DATA_DIR": str(data_dir),
        "ANISO_CACHE_DIR": str(tmp_path / "cache"),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    module = ["-m", "aniso.contrastive", *COMMON]
    torchrun = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        *module,
        "--batch-size",
        "64",
    ]
    single, multi = tmp_path / "single", tmp_path / "multi"
    _run(
        [sys.executable, *module, "--batch-size", "128", "--output-dir", str(single)], env, tmp_path
    )

    # interrupted after 2 of 4 steps: a checkpoint (with both processes' RNG states), no result
    _run([*torchrun, "--output-dir", str(multi), "--interrupt-at", "2"], env, tmp_path)
    ckpt = multi / "trainer" / "checkpoint-2"
    assert {"rng_state_0.pth", "rng_state_1.pth"} <= {p.name for p in ckpt.iterdir()}
    assert not (multi / "result.json").exists()
    # the same command again resumes from it and finishes
    _run([*torchrun, "--output-dir", str(multi)], env, tmp_path)
    result = json.loads((multi / "result.json").read_text())
    assert result["done"] and result["steps"] == 4 and result["resumed_from"] == "checkpoint-2"
    assert json.loads((multi / "config.json").read_text())["model"] == "mini-bert"

    one, two = _losses(single), _losses(multi)
    print(f"step-1 loss: 1 process x 128 {one[0]:.7f}, 2 processes x 64 {two[0]:.7f}")
    assert abs(one[0] - two[0]) < 1e-4  # the same global batch, the same negatives
    np.testing.assert_allclose(two, one, atol=1e-3)  # averaged gradients: the same updates
    evals = [json.loads(ln) for ln in (multi / "evals.jsonl").read_text().splitlines()]
    assert [e["step"] for e in evals] == [0, 2, 4]  # written once, by the first process
    single_evals = [json.loads(ln) for ln in (single / "evals.jsonl").read_text().splitlines()]
    assert abs(evals[-1]["spearman"] - single_evals[-1]["spearman"]) < 0.05
