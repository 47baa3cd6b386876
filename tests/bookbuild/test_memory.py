"""Tests of the peak-memory measurement of the book's execution (scripts/bookbuild/memory.py):
the sampler measures a process tree that allocates a known amount, and only that tree; the
timings page and `print_timings` show each chapter's peak beside its time and flag a chapter
above Binder's memory; memory_over_limit lists those chapters."""

import json
import os
import subprocess
import sys
import time

import pytest
from bookbuild import common, execute, memory, pages

ALLOCATED_MIB = 200
# a grandchild that allocates ALLOCATED_MIB and writes every page, so that it is resident
GRANDCHILD = f"import time; b = bytearray(b'x') * ({ALLOCATED_MIB} << 20); time.sleep(1.5)"
CHILD = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {GRANDCHILD!r}])"
# what the interpreters themselves may add: two bare Pythons, ~10 MiB resident each
TOLERANCE_MIB = 40


@pytest.mark.skipif(not memory.LINUX, reason="PSS and VmHWM come from /proc (Linux)")
def test_sampler_measures_the_tree_it_started_and_nothing_else():
    """A child whose own child allocates 200 MiB: the peak PSS sum, the largest VmHWM and the
    RSS sum all see it, within the interpreters' own few MiB; this process (pytest) and a child it
    had before, which holds 300 MiB, are left out."""
    before = subprocess.Popen(
        [sys.executable, "-c", "import time; b = bytearray(b'x') * (300 << 20); time.sleep(30)"]
    )
    try:
        time.sleep(0.3)
        assert before.pid in memory.children(os.getpid())
        assert before.pid in memory._children_by_scan()[os.getpid()]  # the fallback agrees
        with memory.TreeSampler(interval=0.1) as mem:
            subprocess.run([sys.executable, "-c", CHILD], timeout=60, check=True)
    finally:
        before.kill()
        before.wait()
    assert mem.measure == "pss"
    assert ALLOCATED_MIB <= mem.peak_mib <= ALLOCATED_MIB + TOLERANCE_MIB, mem.describe()
    assert ALLOCATED_MIB <= mem.hwm_mib <= ALLOCATED_MIB + TOLERANCE_MIB, mem.describe()
    assert mem.peak_mib <= mem.rss_mib <= ALLOCATED_MIB + TOLERANCE_MIB, mem.describe()
    assert mem.processes == 2
    assert mem.pss_reads < mem.ticks, "PSS (a page-table walk) is read only when it can rise"
    assert {n for _, _, _, n in mem.samples} >= {2}
    timings = {"notebooks": {"notebooks/x.ipynb": 3.0}}
    memory.record(timings, "notebooks/x.ipynb", mem)
    assert timings["memory_mib"] == {"notebooks/x.ipynb": mem.peak_mib}
    assert timings["memory_hwm_mib"] == {"notebooks/x.ipynb": mem.hwm_mib}
    assert timings["memory_measure"] == "pss" and timings["memory_interval_s"] == 0.1


def timings_for(peaks: dict[str, int]) -> dict:
    notebooks = common.toc_notebooks()
    return {
        "profile": "quick",
        "notebooks": {nb: 60.0 for nb in notebooks},
        "total": 60.0 * len(notebooks),
        "memory_mib": peaks,
        "memory_hwm_mib": {nb: mib - 100 for nb, mib in peaks.items()},
        "memory_measure": "pss",
        "memory_interval_s": 0.25,
    }


def test_memory_over_limit_lists_the_chapters_above_binders_memory():
    assert memory.BINDER_MEMORY_MIB == 2048
    timings = {"memory_mib": {"a.ipynb": 2048, "b.ipynb": 2049, "c.ipynb": 900}}
    over = memory.memory_over_limit(timings)
    assert len(over) == 1 and over[0].startswith("b.ipynb: peak memory 2049 MiB (PSS")
    assert "sampled every 0.25 s" in over[0] and "2048 MiB" in over[0]
    names = [line.split(":")[0] for line in memory.memory_over_limit(timings, limit=1000)]
    assert names == ["a.ipynb", "b.ipynb"]
    assert memory.memory_over_limit({"notebooks": {"a.ipynb": 1.0}}) == []  # an older file


def test_timings_page_shows_peak_memory_and_flags_a_chapter_above_binders():
    first, second, *_ = common.toc_notebooks()
    page = pages.timings_page(timings_for({first: 1234, second: 2500}))
    assert "| chapter | `quick` profile | `paper` profile | peak memory |" in page
    rows = {line.split(" | ")[0][2:]: line for line in page.splitlines() if line.startswith("| ")}
    assert rows[pages.title_of(first)].endswith(
        "| 1.0 min | not measured in this build "
        "(needs the internet; a GPU recommended) "
        "| 1234 MiB |"
    )
    assert "| **2500 MiB: above Binder's 2048 MiB** |" in rows[pages.title_of(second)]
    assert "the largest: **2500 MiB: above Binder's 2048 MiB**" in page
    assert page.count("\n| ") == len(common.toc_notebooks()) + 1  # one row each, and the total
    assert (
        "proportional set size (PSS" in page
        and "counts once in the sum" in page
        and "sampled every 0.25 s" in page
    )
    assert f"**1 chapter needs more than that**: {pages.title_of(second)}." in page
    fits = pages.timings_page(timings_for({first: 1234}))
    assert "every measured chapter stays below it" in fits and "above Binder" not in fits
    older = pages.timings_page({"profile": "quick", "notebooks": {first: 60.0}})  # no memory
    assert "| 1.0 min |" in older and "Peak memory" not in older


def test_print_timings_prints_peak_memory_beside_the_time(tmp_path, monkeypatch, capsys):
    first, second, *_ = common.toc_notebooks()
    timings = timings_for({first: 1234, second: 2500})
    monkeypatch.setattr(common, "TIMINGS", tmp_path / "timings.json")
    common.TIMINGS.write_text(json.dumps(timings))
    execute.print_timings()
    out = capsys.readouterr().out
    assert "sampled every 0.25 s" in out
    line = next(row for row in out.splitlines() if second in row)
    assert "60.0 s    2500 MiB    2400 MiB   above Binder's 2048 MiB" in line
    assert "above Binder" not in next(row for row in out.splitlines() if first in row)


@pytest.mark.slow
@pytest.mark.skipif(not memory.LINUX, reason="PSS and VmHWM come from /proc (Linux)")
@pytest.mark.skipif(
    not (common.VENV / "share" / "jupyter" / "kernels" / common.KERNEL / "kernel.json").exists(),
    reason="the Jupyter kernel 'aniso' is not registered (make book)",
)
def test_execute_records_each_notebooks_peak_memory_beside_its_time(tmp_path, book_in):
    """`execute` measures the kernel of each notebook: a cell that holds 200 MiB for a second
    (longer than the sampling interval) shows."""
    cells = [
        'PROFILE = "quick"',
        f"import time\nb = bytearray(b'x') * ({ALLOCATED_MIB} << 20)\ntime.sleep(1)",
    ]
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "id": f"c{i}",
                "metadata": {"tags": ["parameters"] if i == 0 else []},
                "source": source,
                "outputs": [],
                "execution_count": None,
            }
            for i, source in enumerate(cells)
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "big.ipynb").write_text(json.dumps(nb))
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: notebooks/big\n")
    execute.execute("quick", None)
    timings = json.loads(common.TIMINGS.read_text())
    assert set(timings["notebooks"]) == {"notebooks/big.ipynb"}  # the older keys stay
    peak = timings["memory_mib"]["notebooks/big.ipynb"]
    assert ALLOCATED_MIB < peak < ALLOCATED_MIB + 200, timings  # the kernel's own ~60 MiB
    assert (
        ALLOCATED_MIB
        < timings["memory_hwm_mib"]["notebooks/big.ipynb"]
        <= timings["memory_rss_mib"]["notebooks/big.ipynb"]
    )
    assert timings["memory_measure"] == "pss" and timings["memory_interval_s"] == 0.25


@pytest.mark.skipif(not memory.LINUX, reason="/proc (Linux)")
def test_age_of_a_process():
    assert 0 <= memory.age_s(os.getpid()) < 24 * 3600 * 365
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        young = memory.age_s(child.pid)
        assert 0 <= young < 2.0 and young < memory.age_s(os.getpid())
    finally:
        child.kill()
        child.wait()
