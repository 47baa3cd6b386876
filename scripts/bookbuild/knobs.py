"""A student's run (`knobs`, a step of `make test`): chapters executed with the parameters an
exercise invites a student to change, in the mode a student's Jupyter runs them.

The book's build is strict (``ANISO_STRICT=1``: a sentence of the prose that the numbers no
longer support stops it). A student's Jupyter, Binder or Colab is not: a failed claim warns, and
a hidden bookkeeping cell that stops on an error (a row the prose describes is gone because the
student changed the chapter's parameters) warns and the chapter goes on (:mod:`aniso.book.chapter`).
This step executes the chapters of :data:`RUNS` with ``papermill -p`` and other values of their
parameters, without ``ANISO_STRICT``, into ``_build/knobs``, and fails unless each one runs to
its end and its output shows that the new values took effect. It prints how many claims and
bookkeeping cells warned.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from . import common
from .common import say

OUT = common.BUILD / "knobs"
# notebook -> (parameters to set, a pattern that the executed outputs must contain)
RUNS = {
    "notebooks/01_representation_degeneration.ipynb": (
        {"GAMMAS": [0.5, 2.0], "SEEDS": [0, 1]},
        re.escape("CosReg γ=0.5"),  # a model the book does not train, in the chapter's tables
    ),
    "notebooks/04_simcse.ipynb": (
        {"TEMPERATURE": 0.1},
        # the settings table: the paper's temperature, then this run's
        r"<th>temperature</th>\s*<td>0\.05</td>\s*<td>0\.1</td>",
    ),
}
WARNINGS = re.compile(r"\b(ClaimWarning|BookkeepingWarning)\b")


def outputs_text(path: Path) -> str:
    """Every text output of an executed notebook, joined (streams, results, displays)."""
    parts = []
    for cell in json.loads(path.read_text())["cells"]:
        for out in cell.get("outputs", []):
            if "text" in out:
                parts.append("".join(out["text"]))
            for mime, value in out.get("data", {}).items():
                if mime in ("text/plain", "text/html", "text/markdown"):
                    parts.append("".join(value) if isinstance(value, list) else str(value))
    return "\n".join(parts)


def knobs() -> dict:
    """Execute :data:`RUNS` as a student would (see the module docstring)."""
    from .execute import execute_notebook

    shutil.rmtree(OUT, ignore_errors=True)
    report = {}
    for nb, (params, expect) in RUNS.items():
        out = OUT / nb
        out.parent.mkdir(parents=True, exist_ok=True)
        secs = execute_notebook(
            common.ROOT / nb,
            out,
            "quick",
            name=f"{nb} with {params}",
            parameters=params,
            strict=False,
        )
        text = outputs_text(out)
        if not re.search(expect, text):
            common.fail(
                f"knobs: {nb} executed with {params}, but no output shows "
                f"the pattern {expect!r}: the parameters did not take effect",
                [str(out)],
            )
        found = WARNINGS.findall(text)
        report[nb] = {
            "parameters": params,
            "seconds": round(secs, 1),
            "claims that warned": found.count("ClaimWarning"),
            "bookkeeping cells that warned": found.count("BookkeepingWarning"),
        }
    print("\nChapters run the way a student runs them (not strict), with other parameters:")
    for nb, r in report.items():
        print(
            f"  {nb:<50} {r['seconds']:7.1f} s  {r['parameters']}: "
            f"{r['claims that warned']} claim(s) and {r['bookkeeping cells that warned']} "
            f"bookkeeping cell(s) warned, and the chapter went on"
        )
    say("knobs: every chapter ran to its end with the changed parameters")
    return report
