"""scripts/gpu_check.sh on a machine without a GPU: says so, exits 0 after the smoke part."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_check(tmp_path, *args, make_rc=0):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    make = fake_bin / "make"  # stands in for `make smoke` (tested on its own by the smoke run)
    make.write_text(f'#!/bin/sh\necho "fake make $*"\nexit {make_rc}\n')
    make.chmod(0o755)
    env = {
        **os.environ,
        "OUT": str(tmp_path / "out"),
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT / "src"),
    }
    return subprocess.run(
        ["bash", "scripts/gpu_check.sh", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
def test_without_a_gpu_it_says_so_and_exits_0_after_the_smoke_part(tmp_path):
    result = run_check(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "smoke run exit code 0" in result.stdout
    assert "NO GPU on this machine" in result.stdout
    report = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    assert report["gpu"] is None and report["smoke"]["exit_code"] == "0"
    assert "fake make smoke" in (tmp_path / "out" / "smoke.log").read_text()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
def test_a_failing_smoke_run_fails_the_check(tmp_path):
    result = run_check(tmp_path, make_rc=3)
    assert result.returncode == 3
    assert "smoke run exit code 3" in result.stdout
