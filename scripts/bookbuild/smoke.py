"""`make smoke`: every chapter executed with PROFILE = "smoke".

The smoke profile (aniso.experiments.profiles: the one place that says what it changes) is the
paper profile's code path with local stand-ins: the stand-in BERT in place of bert-base-uncased,
the local wiki1m head in place of wiki1m-full, a few training steps, the smallest language model,
about 300 pairs of each STS task; the chapters pass it to the functions that need it, and no
library function reads a switch. The executed copies go to _build/smoke (never into the book);
the per-notebook times to _build/smoke/timings.json. Offline, like `make test`; budget 10 minutes
on 2 cores, with the embedding cache that the book's execution has filled.
"""

from __future__ import annotations

import json
import os
import shutil
import time

from . import common
from .common import say
from .execute import execute_notebook

SMOKE = common.BUILD / "smoke"
BUDGET_S = 600


def smoke() -> None:
    """Execute every notebook of _toc.yml with PROFILE = "smoke"."""
    os.environ.setdefault("ANISO_CACHE_DIR", str(common.BUILD / "cache"))
    shutil.rmtree(SMOKE, ignore_errors=True)
    for name in ("notebooks",):
        shutil.copytree(
            common.ROOT / name, SMOKE / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    times = {}
    start = time.perf_counter()
    for nb in common.toc_notebooks():
        times[nb] = round(execute_notebook(common.ROOT / nb, SMOKE / nb, "smoke", name=nb), 1)
        say(f"smoke {nb}: {times[nb]:.1f} s")
    total = time.perf_counter() - start
    (SMOKE / "timings.json").write_text(
        json.dumps({"profile": "smoke", "notebooks": times, "total": round(total, 1)}, indent=2)
        + "\n"
    )
    print('\nSmoke run (PROFILE = "smoke": the paper profile\'s code with local stand-ins):')
    for nb, secs in times.items():
        print(f"  {nb:<45} {secs:8.1f} s")
    print(f"  {'total':<45} {total:8.1f} s (budget {BUDGET_S} s)")
    if total > BUDGET_S:
        raise SystemExit(f"[book] smoke run took {total:.0f} s, over its budget of {BUDGET_S} s")
