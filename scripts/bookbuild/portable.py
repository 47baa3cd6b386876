"""Another machine (`another-machine`, a step of `make test`): chapters executed the way a
newcomer's machine would execute them, and their numbers compared with the book's.

A reader's machine differs from the one that built the book in three ways that have broken the
book before, and this step gives the chapters all three at once:

* **other CPU kernels.** torch runs with ``ATEN_CPU_CAPABILITY=default`` (its portable kernels,
  no AVX2/AVX-512), which round differently from the native ones;
* **no shared data folder.** The data folder starts empty and every file is fetched from its
  pinned public source (:mod:`aniso.data.sources`) through ``ANISO_DATA_MIRROR``: a local HTTP
  server stands in for the upstream hosts (GitHub, PyPI, Debian), serving their files from the
  book's own data folder (``ANISO_DATA_DIR``, ``../shared/data`` in CI, the user cache
  elsewhere) and from the artifacts that the set-up phase downloaded into
  ``_build/upstream`` (gensim's sdist from PyPI, janeaustenr's package from Debian; the wiki1m
  prefix is rebuilt from the shared head and ``tests/fixtures/wiki1m_prefix_tail.txt``, the 311
  bytes that follow it in the pinned file). Each artifact is checked against its pinned sha256;
* **an empty cache.** Everything is computed again.

The chapters (:data:`CHAPTERS`: 1 and 2 train the language models whose numbers are the most
sensitive to rounding, and read WikiText-2 and the Wikipedia samples; 3 reads every sentence of
the STS sets and SICK; the appendix reads the rest of the stand-in's pretraining text)
execute strictly: every claim of their prose must hold. Then the step checks that they fetched
every data file the book reads, and reports for each chapter the largest relative difference
between the numbers it glued here and in the book's execution (`_build/stage`). That report is
the evidence for the tolerances the chapters state; it is not compared with a threshold, since
no check compares two executions exactly (the determinism step on one machine excepted).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from pathlib import Path

from . import common
from .browser import serve
from .common import say

CHAPTERS = [
    "notebooks/01_representation_degeneration.ipynb",
    "notebooks/02_spectrum_control.ipynb",
    "notebooks/03_bert_flow_whitening.ipynb",
    "notebooks/A_stand_in_bert.ipynb",
]
# Glued numbers that are themselves differences between two executions (a fresh run against a
# reference run): 0 on the machine that made the reference, rounding elsewhere. A relative
# difference between two of them says nothing, so the report leaves them out.
DIFFERENCES = {"ref_agree_worst"}
OUT = common.BUILD / "another-machine"
UPSTREAM = common.BUILD / "upstream"  # artifacts for the stand-in hosts (set-up phase)
WIKI1M_TAIL = common.ROOT / "tests" / "fixtures" / "wiki1m_prefix_tail.txt"
STANDIN_KEYS = ("gensim-4.4.0-sdist", "r-cran-janeaustenr-deb")  # fetched in the set-up phase
# Files of the data folders that travel with the data but no chapter reads: licences, readmes,
# the STS scoring script and STS12's pooled gold file.
NOT_READ = re.compile(r"(readme|license|licence|correlation\.pl|copyright|STS\.gs\.ALL)", re.I)
NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?")


def fetch_standin_artifacts() -> None:
    """Download the artifacts the stand-in hosts serve beyond the shared data folder (network:
    the set-up phase of `make test`), each checked against its pinned sha256."""
    from aniso.data.datadir import retrieve
    from aniso.data.sources import UPSTREAMS, artifact_relpath

    for key in STANDIN_KEYS:
        up, rel = UPSTREAMS[key], artifact_relpath(key)
        target = UPSTREAM / rel
        if not target.exists():
            say(f"stand-in upstream: downloading {up.urls[0]}")
        retrieve(up.urls[0], target.parent, target.name, up.sha256, timeout=60.0)


def mirror_tree(data_dir: Path, dest: Path, keys=None) -> list[str]:
    """Lay out ``dest`` as ``<host>/<path>`` of every artifact's first URL that can be had here
    (of ``keys`` only, when given); returns the keys laid out. A GitHub file is its own data
    file; the wiki1m prefix is rebuilt (and checked); the PyPI and Debian artifacts come from
    ``_build/upstream``."""
    from urllib.parse import urlsplit

    from aniso.data.datadir import sums
    from aniso.data.sources import UPSTREAMS, artifact_relpath
    from aniso.util.files import sha256

    laid = []
    for key in UPSTREAMS if keys is None else keys:
        up = UPSTREAMS[key]
        url = urlsplit(up.urls[0])
        target = dest / url.netloc / url.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if key in sums() and (data_dir / key).exists():
            os.symlink((data_dir / key).resolve(), target)
        elif key == "wiki1m-prefix":
            head = (data_dir / "wiki1m_sample/wiki1m_head.txt").read_bytes()
            target.write_bytes(head + WIKI1M_TAIL.read_bytes())
            if sha256(target) != up.sha256:
                raise SystemExit(f"[book] the rebuilt wiki1m prefix does not have {up.sha256}")
        elif (UPSTREAM / artifact_relpath(key)).exists():
            os.symlink((UPSTREAM / artifact_relpath(key)).resolve(), target)
        else:
            continue  # a fallback (SimCSE's full wiki1m, janeaustenr's .rda): not served
        laid.append(key)
    return laid


def numbers(text: str) -> list[float]:
    """The numbers in a glued value's text form ("418.3 ± 4.5" -> [418.3, 4.5])."""
    return [float(m.replace(",", "")) for m in NUMBER.findall(text)]


def largest_difference(a: dict, b: dict) -> tuple[float, str, int]:
    """(largest relative difference, glue name, numbers compared) between two executions' glued
    values (:func:`bookbuild.execute.glued_values`); values whose text holds different counts
    of numbers are left out, so are the timers, the :data:`DIFFERENCES` and numbers that are 0
    in either execution (their relative difference is undefined)."""
    from .execute import TIMERS

    worst, where, n = 0.0, "", 0
    for name in sorted(set(a) & set(b) - TIMERS - DIFFERENCES):
        xa, xb = (numbers(str(v.get("text/plain", ""))) for v in (a[name], b[name]))
        if len(xa) != len(xb):
            continue
        for x, y in zip(xa, xb):
            if x == 0 or y == 0:
                continue
            n += 1
            rel = abs(x - y) / max(abs(x), abs(y))
            if math.isfinite(rel) and rel > worst:
                worst, where = rel, name
    return worst, where, n


def another_machine() -> dict:
    """Execute :data:`CHAPTERS` as another machine would (see the module docstring)."""
    from aniso.data.datadir import book_files, fetch_all, resolve_data_dir

    from .execute import execute_notebook, glued_values

    shared = resolve_data_dir()  # the book's own data folder, complete (checked here)
    fetch_all(shared, progress=False)
    shutil.rmtree(OUT, ignore_errors=True)
    data, cache, site = OUT / "data", OUT / "cache", OUT / "upstream-hosts"
    for folder in (data, cache, site):
        folder.mkdir(parents=True)
    laid = mirror_tree(shared, site)
    httpd, base = serve(site)
    base = base.rstrip("/")
    saved = {
        k: os.environ.get(k)
        for k in ("ANISO_DATA_DIR", "ANISO_CACHE_DIR", "ANISO_DATA_MIRROR", "ATEN_CPU_CAPABILITY")
    }
    os.environ.update(
        ANISO_DATA_DIR=str(data),
        ANISO_CACHE_DIR=str(cache),
        ANISO_DATA_MIRROR=base,
        ATEN_CPU_CAPABILITY="default",
    )
    say(
        f"another machine: torch's portable kernels, an empty data folder fetched from "
        f"{len(laid)} artifacts served at {base}, an empty cache"
    )
    report = {"chapters": {}}
    try:
        for nb in CHAPTERS:
            out = OUT / nb
            out.parent.mkdir(parents=True, exist_ok=True)
            secs = execute_notebook(common.ROOT / nb, out, "quick", name=f"{nb} (another machine)")
            worst, where, n = largest_difference(glued_values(common.STAGE / nb), glued_values(out))
            report["chapters"][nb] = {
                "seconds": round(secs, 1),
                "largest relative difference": worst,
                "in": where,
                "numbers compared": n,
            }
    finally:
        httpd.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    fetched = {p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file()}
    unread = [r for r in book_files() if not NOT_READ.search(r) and r not in fetched]
    report["files fetched"] = len(fetched)
    (OUT / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    if unread:
        common.fail(
            "another machine: the chapters did not fetch every data file the book reads:", unread
        )
    print(
        "\nAnother machine (portable kernels, data fetched from the stand-in hosts, empty cache):"
    )
    for nb, r in report["chapters"].items():
        print(
            f"  {nb:<50} {r['seconds']:7.1f} s   largest relative difference of "
            f"{r['numbers compared']} glued numbers: {r['largest relative difference']:.1e}"
            f"{' (' + r['in'] + ')' if r['in'] else ''}"
        )
    say(
        f"another machine: every claim held; {len(fetched)} data files fetched and checked "
        f"({time.strftime('%H:%M:%S')})"
    )
    return report
