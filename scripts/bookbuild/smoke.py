"""`make smoke`: every chapter executed with PROFILE = "paper" and the smoke overrides.

The overrides come from one place, the environment variable ANISO_SMOKE read by
aniso.util.smoke (the stand-in BERT for bert-base-uncased, the local wiki1m head for wiki1m-full, a
few training steps, the smallest language model). Everything else is the paper profile's code
path. The executed copies go to _build/smoke (never into the book); the per-notebook times to
_build/smoke/timings.json. Offline, like `make test`; budget 10 minutes on 2 cores.
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
    """Execute every notebook of _toc.yml in the paper profile with ANISO_SMOKE=1."""
    os.environ["ANISO_SMOKE"] = "1"
    os.environ.setdefault("ANISO_CACHE_DIR", str(common.BUILD / "cache"))
    shutil.rmtree(SMOKE, ignore_errors=True)
    for name in ("notebooks",):
        shutil.copytree(
            common.ROOT / name, SMOKE / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    times = {}
    start = time.perf_counter()
    for nb in common.toc_notebooks():
        times[nb] = round(execute_notebook(common.ROOT / nb, SMOKE / nb, "paper", name=nb), 1)
        say(f"smoke {nb}: {times[nb]:.1f} s")
    total = time.perf_counter() - start
    (SMOKE / "timings.json").write_text(
        json.dumps(
            {"profile": "paper (smoke)", "notebooks": times, "total": round(total, 1)}, indent=2
        )
        + "\n"
    )
    print("\nSmoke run of the paper profile (ANISO_SMOKE=1):")
    for nb, secs in times.items():
        print(f"  {nb:<45} {secs:8.1f} s")
    print(f"  {'total':<45} {total:8.1f} s (budget {BUDGET_S} s)")
    if total > BUDGET_S:
        raise SystemExit(f"[book] smoke run took {total:.0f} s, over its budget of {BUDGET_S} s")
