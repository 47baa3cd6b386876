"""Execution (`execute`): stage the book, run every notebook with papermill, record the times;
and the determinism check, which executes one chapter a second time and compares its glue.

Notebooks are executed into a staged copy of the book (_build/stage), so the notebooks in the
repository stay without outputs; the book is then built from that copy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

from . import common, memory
from .common import say

STAGED = [
    "_config.yml",
    "_toc.yml",
    "book",
    "notebooks",
    "_mathjax_build",
    "src",
    "binder",
]  # src and binder: literalinclude (the taught functions, the Colab cell)
DETERMINISM_CHAPTER = "notebooks/00_the_problem.ipynb"


def stage(keep_executed: bool) -> None:
    """Copy the book sources to _build/stage; keep already executed notebooks if asked."""
    if not keep_executed:
        shutil.rmtree(common.STAGE, ignore_errors=True)
    for name in STAGED:
        src, dst = common.ROOT / name, common.STAGE / name
        if src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        elif src.is_dir():

            def ignore(folder, names, _src=src, _dst=dst):
                skip = {n for n in names if n in (".ipynb_checkpoints", "__pycache__")}
                if (
                    Path(folder).name == "aniso"
                ):  # src/aniso/models: weights, not for literalinclude
                    skip.add("models")
                if keep_executed:
                    target = _dst / Path(folder).relative_to(_src)
                    skip |= {n for n in names if n.endswith(".ipynb") and (target / n).exists()}
                return skip

            shutil.copytree(src, dst, ignore=ignore, dirs_exist_ok=True)


def execute(profile: str, only: str | None) -> None:
    """Execute the notebooks of _toc.yml (or the one named by `only`) into the stage."""
    notebooks = common.toc_notebooks()
    if only:
        notebooks = [nb for nb in notebooks if only in (nb, Path(nb).name, Path(nb).stem)]
        if not notebooks:
            sys.exit(f"[book] --only {only}: no such notebook in _toc.yml")
    stage(keep_executed=bool(only))
    os.environ.setdefault("ANISO_CACHE_DIR", str(common.BUILD / "cache"))
    cache = Path(os.environ["ANISO_CACHE_DIR"])
    cache.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("ANISO_DATA_DIR"):
        say("ANISO_DATA_DIR is not set: the notebooks download their data (sha256-checked) or fail")
    timings_file = common.TIMINGS
    timings = json.loads(timings_file.read_text()) if only and timings_file.exists() else {}
    timings.setdefault("notebooks", {})
    timings.setdefault("cold_cache", [])
    timings["profile"] = profile
    for nb in notebooks:
        if nb in timings["cold_cache"]:
            timings["cold_cache"].remove(nb)
        if not any(cache.iterdir()):  # this execution computes everything, nothing read back
            timings["cold_cache"].append(nb)
        with memory.TreeSampler() as mem:  # the kernel and every process it starts
            secs = execute_notebook(common.ROOT / nb, common.STAGE / nb, profile, name=nb)
        timings["notebooks"][nb] = round(secs, 1)
        memory.record(timings, nb, mem)
        say(f"{nb}: {timings['notebooks'][nb]:.1f} s; {mem.describe()}")
    timings["total"] = round(sum(timings["notebooks"].values()), 1)
    timings_file.write_text(json.dumps(timings, indent=2) + "\n")
    print_timings()


STRICT = "ANISO_STRICT"  # aniso.book.chapter: a claim that the numbers do not support stops the run


def execute_notebook(
    src: Path,
    out: Path,
    profile: str,
    name: str | None = None,
    parameters: dict | None = None,
    strict: bool = True,
) -> float:
    """Execute one notebook with papermill into `out`; the seconds it took.

    A failing cell stops everything (exit code 1) with the notebook's name, the
    cell's source and its traceback on stderr: never a page with missing output.
    ``strict`` (the book's build): the kernel runs with ANISO_STRICT=1, so that a sentence of
    the prose its numbers no longer support fails the execution (:mod:`aniso.book`); without it
    the chapter runs as in a student's Jupyter. ``parameters`` are set besides PROFILE
    (``papermill -p``).
    """
    import papermill as pm

    name = name or src.name
    say(f"executing {name} (profile {profile}{'' if strict else ', not strict'}) ...")
    saved = os.environ.pop(STRICT, None)
    if strict:
        os.environ[STRICT] = "1"  # the kernel inherits this process's environment
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            str(src),
            str(out),
            parameters={"PROFILE": profile, **(parameters or {})},
            kernel_name=common.KERNEL,
            language="python",
            cwd=str(out.parent),
            progress_bar=False,
        )
    except pm.PapermillExecutionError as err:
        print(
            f"\n[book] FAILED: {name}, cell {err.cell_index} (execution count {err.exec_count}):\n"
            f"{'-' * 78}\n{err.source}\n{'-' * 78}",
            file=sys.stderr,
        )
        print(re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(err.traceback)), file=sys.stderr)
        print(f"[book] {err.ename}: {err.evalue}\n[book] partial output: {out}", file=sys.stderr)
        sys.exit(1)
    except Exception as err:  # dead kernel, timeout, missing kernel...
        sys.exit(f"[book] FAILED: {name}: {type(err).__name__}: {err}")
    finally:
        os.environ.pop(STRICT, None)
        if saved is not None:
            os.environ[STRICT] = saved
    seconds = time.perf_counter() - start
    hide_injected_parameters(out)
    return seconds


def hide_injected_parameters(path: Path) -> None:
    """Tag the cell papermill injects after a notebook's parameters cell (``injected-parameters``:
    ``PROFILE = "quick"`` again, and whatever else was passed) ``remove-cell``, so that the page
    shows the chapter's own parameters cell once. The executed notebook keeps the cell: it is
    the record of what the run was given."""
    nb = json.loads(path.read_text())
    changed = False
    for cell in nb["cells"]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
            changed = True
    if changed:
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def unexecuted(stage_dir: Path, notebooks: list[str]) -> list[str]:
    """The staged notebooks that papermill has not run to the end: they would render without
    output."""
    bad = []
    for nb in notebooks:
        path = stage_dir / nb
        meta = (
            json.loads(path.read_text()).get("metadata", {}).get("papermill")
            if path.exists()
            else None
        )
        if not meta or meta.get("exception") or not meta.get("end_time"):
            bad.append(nb)
    return bad


def print_timings() -> None:
    if not common.TIMINGS.exists():
        return
    timings = json.loads(common.TIMINGS.read_text())
    peak, hwm = timings.get("memory_mib", {}), timings.get("memory_hwm_mib", {})
    measure = timings.get("memory_measure", "pss").upper()
    width = max([len(nb) for nb in timings["notebooks"]] + [5])
    print(f"\nNotebook execution times (profile {timings['profile']}):")
    if peak:
        print(
            f"  {'':<{width}}  {'time':>10}  {'peak ' + measure:>10}  {'VmHWM':>10}   (peak: the "
            f"kernel and its processes, sampled every {timings.get('memory_interval_s')} s; "
            "VmHWM: the largest process)"
        )
    for nb, secs in timings["notebooks"].items():
        line = f"  {nb:<{width}}  {secs:8.1f} s"
        if nb in peak:
            line += f"  {peak[nb]:6d} MiB  " + (f"{hwm[nb]:6d} MiB" if hwm.get(nb) else " " * 10)
            if peak[nb] > memory.BINDER_MEMORY_MIB:
                line += f"   above Binder's {memory.BINDER_MEMORY_MIB} MiB"
        print(line)
    print(f"  {'total':<{width}}  {timings['total']:8.1f} s")


# ----------------------------------------------------------------------------- determinism
def glued_values(path: Path) -> dict[str, dict[str, str]]:
    """Every value a notebook glued (myst-nb `glue`), by name: {mime type: data}, images left out.

    A figure is compared by its text form (e.g. "<Figure size 748x352 with 2 Axes>"), not its
    pixels.
    """
    values = {}
    for cell in json.loads(path.read_text())["cells"]:
        for out in cell.get("outputs", []):
            record = out.get("metadata", {}).get("scrapbook")
            if record:
                data = out.get("data", {}).items()
                values[record["name"]] = {
                    mime.split("/", 2)[-1]: value
                    for mime, value in data
                    if not mime.split("/", 2)[-1].startswith("image/")
                }
    return values


# glued wall times and rates: different in every run by nature (every chapter's own time; chapter
# 3's flow, 4's and 5's training, 6's encoding rate of all-MiniLM-L6-v2 and what it implies)
TIMERS = {
    "chapter_seconds",
    "flow_seconds",
    "train_seconds",
    "au_seconds",
    "minilm_rate",
    "minilm_semeval_min",
}


def glue_differences(a: dict, b: dict) -> list[str]:
    a = {k: v for k, v in a.items() if k not in TIMERS}
    b = {k: v for k, v in b.items() if k not in TIMERS}
    problems = [
        f"{name}: glued only in the {which} run"
        for which, x, y in (("first", a, b), ("second", b, a))
        for name in sorted(set(x) - set(y))
    ]
    for name in sorted(set(a) & set(b)):
        for mime in sorted(set(a[name]) | set(b[name])):
            if a[name].get(mime) != b[name].get(mime):
                problems.append(
                    f"{name} ({mime}): {str(a[name].get(mime))[:80]!r} != "
                    f"{str(b[name].get(mime))[:80]!r}"
                )
    return problems


def determinism(nb: str = DETERMINISM_CHAPTER) -> None:
    """Execute `nb` a second time, with its own empty cache, and compare every glued value with
    the book's."""
    import tempfile

    first = common.STAGE / nb
    timings = json.loads(common.TIMINGS.read_text()) if common.TIMINGS.exists() else {}
    if timings.get("profile") != "quick" or not first.exists():
        sys.exit(
            f"[book] determinism: {nb} has no quick-profile execution in {common.STAGE} "
            f"to compare with"
        )
    cold = nb in timings.get("cold_cache", [])
    with tempfile.TemporaryDirectory(prefix="aniso-determinism-") as tmp:
        second = Path(tmp) / "notebooks" / Path(nb).name
        second.parent.mkdir()
        saved = os.environ.get("ANISO_CACHE_DIR")
        # an empty cache: everything is computed again
        os.environ["ANISO_CACHE_DIR"] = str(Path(tmp) / "cache")
        try:
            secs = execute_notebook(
                common.ROOT / nb, second, "quick", name=f"{nb} (second run, empty cache)"
            )
        finally:
            os.environ["ANISO_CACHE_DIR"] = saved or str(common.BUILD / "cache")
        a, b = glued_values(first), glued_values(second)
    problems = glue_differences(a, b) or ([] if a else [f"{nb} glues nothing: nothing to compare"])
    if problems:
        common.fail(f"determinism FAILED: {nb} glued different values in two executions:", problems)
    say(
        f"determinism: {nb} executed twice in the quick profile "
        f"({'both' if cold else 'the second'} with an empty embedding cache; {secs:.0f} s): "
        f"all {len(a)} glued values identical"
    )
