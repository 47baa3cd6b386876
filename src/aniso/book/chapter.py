"""The chapters' own bookkeeping: set-up, glue, checked claims and the "What reproduces" ledger.

Introduced in chapter "The problem"; every chapter calls it from cells whose input the
rendered page hides, so that the code a reader sees is the code that teaches.

* :func:`start_chapter` / :func:`finish_chapter` open and close a chapter: the book's
  figure style, the warning filters, the thread policy and the chapter's timer.
* :func:`glue` and :func:`glue_many` hand numbers to the prose (MyST-NB ``glue``).
* :func:`claim` guards a qualitative sentence of the prose: when the numbers stop
  supporting it, the book's build fails with the sentence's text (:func:`strict`); in a
  reader's Jupyter, Binder or Colab it warns and the chapter goes on (the smoke profile prints
  it).
* :func:`ledger_row` records one line of the chapter's "What reproduces" table, whose verdict
  follows from the page's rubric (:func:`verdict_for`); :func:`show_ledger` prints the
  chapter's rows and glues them for the book's page, which :func:`read_ledger` collects from
  the executed notebooks.

**Strict and student runs.** The book's build (``make book``, ``make test``, CI, the publishing
workflow) sets ``ANISO_STRICT=1``: a sentence the numbers no longer support stops it. Anywhere
else (a student in Jupyter, Binder or Colab, a teacher's ``papermill -p``) the run is not strict:
a failed claim is a :class:`ClaimWarning`, and the hidden bookkeeping cells (the cells that
call :func:`glue`, :func:`claim` or :func:`ledger_row`) cannot stop "Run all": an error in one
of them, for instance because an exercise changed the chapter's parameters and a row the prose
describes no longer exists, becomes a :class:`BookkeepingWarning` (:func:`run_bookkeeping`,
installed by :func:`start_chapter` as an IPython input transformer).
"""

from __future__ import annotations

import ast
import json
import os
import re
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

VERDICTS = ("reproduced", "partly", "not at this scale", "contradicted")
LEDGER_GLUE = "ledger_rows"  # the glue name under which a chapter stores its ledger rows
STRICT_ENV = "ANISO_STRICT"  # set to 1 by the book's build: a failed claim stops it
# A cell that calls one of these is a bookkeeping cell (the chapters' hidden cells; a test of
# the repository checks that no visible cell calls them).
BOOKKEEPING_CALL = re.compile(r"\b(glue|glue_many|claim|ledger_row|show_ledger|finish_chapter)\(")


class ClaimError(AssertionError):
    """A sentence of the prose that the chapter's numbers no longer support."""


class ClaimWarning(UserWarning):
    """In a run that is not strict: a sentence of the prose this run's numbers do not support."""


class BookkeepingWarning(UserWarning):
    """In a run that is not strict: a hidden bookkeeping cell stopped on an error."""


def strict() -> bool:
    """Whether this run is the book's build (``ANISO_STRICT`` set to anything but ""/"0").

    Chapter "The problem". Then a claim that fails stops the execution; otherwise it warns.
    """
    return os.environ.get(STRICT_ENV, "").strip() not in ("", "0")


@dataclass
class LedgerRow:
    """One central claim of a paper, the paper's number, ours, and the verdict."""

    chapter: str
    claim: str
    where: str
    paper: str
    ours: str
    verdict: str
    note: str = ""
    experiment: str = ""  # MyST label of the experiment that tests an explanation
    evidence: str = ""  # our effect's interval (or "one computation"), as the rubric read it
    section: str = ""  # MyST label of the section of the chapter that tests the claim


@dataclass
class _Chapter:
    name: str
    profile: object  # an aniso.experiments.profiles.Profile
    threads: int
    start: float
    rows: list


_CURRENT: _Chapter | None = None


def start_chapter(profile, chapter: str, threads: str = "all"):
    """Open a chapter and return its :class:`aniso.experiments.profiles.Profile` (``profile``
    is the parameters cell's ``PROFILE``, a name): style, warning filters, thread policy
    (:mod:`aniso.util.threads`), the device (the quick profile stays on the CPU:
    :func:`aniso.util.devices.cpu_only`) and timer.

    ``chapter`` is the short name the ledger shows (e.g. ``"1. Gao et al. 2019"``).
    Chapter "The problem".
    """
    global _CURRENT
    from aniso.book.plotting import set_style
    from aniso.experiments.profiles import changes_table
    from aniso.experiments.profiles import profile as as_profile
    from aniso.util.devices import cpu_only
    from aniso.util.threads import apply_policy

    p = as_profile(profile)
    cpu_only(p.cpu_only)  # the book's numbers on every machine, GPU or not
    set_style()
    warnings.filterwarnings("ignore", message="IProgress not found")
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    n = apply_policy(threads)
    _CURRENT = _Chapter(chapter, p, n, time.perf_counter(), [])
    warnings.simplefilter("always", ClaimWarning)  # every run of a cell shows its warnings again
    warnings.simplefilter("always", BookkeepingWarning)
    if not strict():
        install_bookkeeping_guard()
    if p.cut:
        print(
            f"Profile {p.name!r}: the paper profile's code with these changes\n"
            + changes_table(p).to_string(index=False)
        )
    return p


def _chapter() -> _Chapter:
    if _CURRENT is None:
        raise RuntimeError("call aniso.book.start_chapter(PROFILE, ...) first")
    return _CURRENT


def finish_chapter() -> float:
    """Close the chapter: glue its wall time as ``chapter_seconds`` and return it."""
    ch = _chapter()
    secs = time.perf_counter() - ch.start
    glue("chapter_seconds", secs)
    print(f"chapter: {secs:.0f} s wall, {time.process_time():.0f} s CPU, {ch.threads} thread(s)")
    return secs


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def glue(name: str, value, display: bool = False):
    """Glue a value for the chapter's prose; numpy scalars become Python numbers.

    MyST-NB formats ``{glue:text}`name:.2f``` from the stored text, and numpy 2
    writes ``np.float64(0.5)`` there, which cannot be formatted. Verdicts are not
    glued: a sentence that depends on the numbers is written and guarded by
    :func:`claim`. Chapter "The problem".
    """
    from myst_nb import glue as _glue

    return _glue(name, _plain(value), display=display)


def glue_many(prefix: str, mapping: dict) -> None:
    """Glue every ``key: value`` of ``mapping`` as ``{prefix}{key}`` (one call per table).

    Chapter "The problem".
    """
    if not isinstance(mapping, dict):
        raise TypeError(f"glue_many expects a dict, got {type(mapping).__name__}")
    for key, value in mapping.items():
        glue(f"{prefix}{key}", value)


def claim(text: str, holds) -> None:
    """Fail the execution with ``text`` when a sentence of the prose stops holding.

    ``holds`` is the check, computed from the chapter's numbers, e.g.
    ``claim("whitening beats the best raw pooling on STS-B", white > best)``.
    In a run that is not :func:`strict` (a reader's Jupyter) it warns instead
    (:class:`ClaimWarning`) and the chapter goes on.
    In a chapter started with the smoke profile (:mod:`aniso.experiments.profiles`: the
    stand-ins, a few training steps) a sentence the numbers do not support is printed instead:
    the smoke run checks that the code runs, and its numbers are not the ones the prose
    describes. Chapter "The problem".
    """
    if not isinstance(holds, (bool, np.bool_)):
        raise TypeError(f"claim {text!r}: the check must be a bool, got {type(holds).__name__}")
    if not holds:
        p = _CURRENT.profile if _CURRENT is not None else None
        if (
            p is not None and not p.claims_fail
        ):  # the smoke run: code paths, not the prose's numbers
            print(
                f"{p.name} run: the prose says {text!r}; these numbers (a few steps, the "
                "stand-in) do not support it (a failure in a real run)"
            )
            return
        message = f"the prose says {text!r}, and this execution's numbers do not support it"
        if strict():
            raise ClaimError(message)
        warnings.warn(
            f"{message}. The book's build would stop here; your run goes on.",
            ClaimWarning,
            stacklevel=2,
        )


RUBRIC = {
    "reproduced": "our effect points the paper's way beyond the noise, and the whole claim holds",
    "partly": "our effect points the paper's way beyond the noise, and part of the claim does "
    "not hold (the row says which)",
    "not at this scale": "our interval covers zero: the experiment cannot tell",
    "contradicted": "our effect points against the paper beyond the noise",
}


def verdict_for(sign: int, partial: str = "") -> str:
    """The verdict the "What reproduces" page's rubric (:data:`RUBRIC`) gives a row.

    ``sign`` is the sign of our effect, oriented so that +1 is the paper's direction: +1 (or
    -1) when its 95% interval lies wholly on that side (or the other), 0 when it covers no
    effect (:attr:`aniso.util.stats.Interval.sign`). ``partial`` says what part of the claim
    does not hold ("" when the whole claim does). Chapter "The problem".
    """
    if sign not in (-1, 0, 1):
        raise ValueError(f"sign must be -1, 0 or +1, got {sign!r}")
    if sign < 0:
        return "contradicted"
    if sign == 0:
        return "not at this scale"
    return "partly" if partial else "reproduced"


def _evidence(effect, margin: float = 0.0) -> tuple[int, str]:
    """(sign, text) of a row's effect: an Interval, or the sign of one computation. With a
    ``margin`` (a claim that one method does as well as another) the interval is read against
    ``-margin`` instead of 0."""
    from aniso.util.stats import Interval

    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if isinstance(effect, Interval):
        text = f"{effect.format()} ({effect.method}, n = {effect.n})"
        if not margin:
            return effect.sign, text
        sign = 1 if effect.low > -margin else -1 if effect.high < -margin else 0
        return sign, f"{text}; as good within {margin:g}"
    if margin:
        raise TypeError("a margin needs an Interval: the sign of one computation has no width")
    if isinstance(effect, (bool, np.bool_)) or effect not in (-1, 0, 1):
        raise TypeError(
            "effect must be an aniso.util.stats.Interval (oriented: positive is the paper's "
            f"direction) or the sign -1, 0 or +1 of one exact computation, got {effect!r}"
        )
    return int(effect), "one computation, no interval"


def ledger_row(
    claim_text: str,
    where: str,
    paper: str,
    ours: str,
    effect,
    partial: str = "",
    note: str = "",
    experiment: str = "",
    margin: float = 0.0,
    test: str = "",
    section: str = "",
) -> LedgerRow:
    """Record one row of the chapter's "What reproduces" table; the verdict is derived.

    ``paper`` and ``ours`` are the two numbers as text (ours formatted from a computed
    value). ``effect`` is our effect in the paper's direction: an
    :class:`aniso.util.stats.Interval` whose positive side is the paper's (a paired interval
    over seeds, or a paired bootstrap over sentence pairs), or, where one exact computation
    decides (a toy, a fixed set of vectors, a single run where no seeds were trained), its
    sign; the page then says "one computation, no interval". ``partial`` names the part of the
    claim that does not hold. :func:`verdict_for` turns the two into the verdict.
    ``experiment`` is the MyST label (``(name)=`` above a section of the chapter) of the
    experiment that tests an explanation; a "contradicted" row must have one, and the book's
    ledger page links to it. ``section`` is the label of the section where the chapter tests
    the claim; the ledger page links the row to it. Chapter "The problem".
    """
    sign, evidence = _evidence(effect, margin)
    if test:
        evidence = test
    verdict = verdict_for(sign, partial)
    if verdict == "contradicted" and not experiment:  # the prose owes the reader a test
        claim(
            f"{claim_text!r} is not contradicted; a contradicted row must name the experiment "
            "that tests an explanation (experiment='<MyST label of its section>')",
            False,
        )
    if partial:
        note = f"Partly: {partial}." + (f" {note}" if note else "")
    row = LedgerRow(
        _chapter().name,
        claim_text,
        where,
        paper,
        ours,
        verdict,
        note,
        experiment,
        evidence,
        section,
    )
    _chapter().rows.append(row)
    return row


def ledger_table(rows) -> "pd.DataFrame":  # noqa: F821
    """The rows as a table: claim, where, the paper's number, ours, verdict."""
    import pandas as pd

    frame = pd.DataFrame([asdict(r) if isinstance(r, LedgerRow) else r for r in rows])
    if frame.empty:
        return frame
    return frame[["claim", "where", "paper", "ours", "evidence", "verdict"]].rename(
        columns={
            "where": "in the paper",
            "paper": "paper's number",
            "evidence": "our effect [95% interval]",
        }
    )


def show_ledger():
    """Glue the chapter's rows for the book's "What reproduces" page and return them as a table."""
    rows = _chapter().rows
    if not rows:
        raise RuntimeError("the chapter recorded no ledger rows (aniso.book.ledger_row)")
    glue(LEDGER_GLUE, json.dumps([asdict(r) for r in rows]))
    return ledger_table(rows).style.hide(axis="index")


def read_ledger(executed_notebook: str | Path) -> list[dict]:
    """The ledger rows an executed notebook glued (empty when it glued none)."""
    for cell in json.loads(Path(executed_notebook).read_text())["cells"]:
        for out in cell.get("outputs", []):
            record = out.get("metadata", {}).get("scrapbook", {})
            if record.get("name") == LEDGER_GLUE:
                # display=False stores the value under "<mime_prefix>text/plain" (papermill record)
                text = out["data"][record.get("mime_prefix", "") + "text/plain"]
                text = "".join(text) if isinstance(text, list) else text
                return json.loads(ast.literal_eval(text))
    return []


def run_bookkeeping(source: str, namespace: dict):
    """Run a bookkeeping cell's ``source``; an error in it becomes a :class:`BookkeepingWarning`.

    Chapter "The problem". In a run that is not :func:`strict`, :func:`start_chapter` routes
    every cell that calls :data:`BOOKKEEPING_CALL`'s functions through here
    (:func:`install_bookkeeping_guard`), so that a hidden cell that glues numbers for the
    prose cannot stop a student's "Run all" after an exercise changed the chapter's
    parameters. The cell runs in ``namespace`` (the notebook's globals); the value of its
    last line, if that is an expression, is returned, so the notebook shows it as it would.
    """
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    try:
        exec(compile(tree, "<bookkeeping cell>", "exec"), namespace)
        if last is not None:
            expr = ast.Expression(last.value)
            return eval(compile(expr, "<bookkeeping cell>", "eval"), namespace)
    except Exception as err:  # noqa: BLE001 - any error of a hidden cell becomes a warning
        warnings.warn_explicit(  # no source line: the transformed cell is one long call
            f"a hidden cell that checks the prose and hands it numbers stopped on "
            f"{type(err).__name__}: {err}. This happens when the chapter's parameters differ "
            "from the book's (its prose describes the book's); the chapter goes on.",
            BookkeepingWarning,
            filename="<hidden cell>",
            lineno=0,
        )
    return None


def guard_bookkeeping(lines: list[str]) -> list[str]:
    """IPython input transformer: a bookkeeping cell becomes a call of :func:`run_bookkeeping`.

    Chapter "The problem". Other cells (the teaching code) are left as they are.
    """
    source = "".join(lines)
    if not BOOKKEEPING_CALL.search(source):
        return lines
    try:
        ast.parse(source)
    except SyntaxError:
        return lines  # let IPython report it as usual
    return [f"__import__('aniso.book.chapter').book.run_bookkeeping({source!r}, globals())\n"]


def install_bookkeeping_guard() -> bool:
    """Register :func:`guard_bookkeeping` with the running IPython (once); False outside IPython.

    Chapter "The problem"."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    if guard_bookkeeping not in shell.input_transformers_post:
        shell.input_transformers_post.append(guard_bookkeeping)
    return True
