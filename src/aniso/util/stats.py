"""Results over several seeds: the book's "mean ± sd" and its rule for a tie.

One seed is an anecdote. The chapters report every repeated run as the mean and the
standard deviation across seeds (:func:`mean_sd`), and call two results a tie when their
means differ by less than the spread (:func:`tie`). :mod:`aniso.experiments.reference` re-exports
both, which is where the chapters call them. Chapters 1 and 2.
"""

from __future__ import annotations

import numpy as np


def mean_sd(values, digits: int = 1, fmt: str | None = None) -> str:
    """``"mean ± sd"`` of the values across seeds (sd with ddof=1). Chapters 1 and 2.

    One value: ``"x (1 seed)"``; none: ``"–"`` (a reference run still under way). ``fmt``
    (e.g. ``".1e"``) replaces the fixed-point format with ``digits`` decimals.
    """
    a = np.asarray(list(values), dtype=np.float64)
    if len(a) == 0:
        return "–"
    fmt = fmt or f".{digits}f"
    if len(a) == 1:
        return f"{a[0]:{fmt}} (1 seed)"
    return f"{a.mean():{fmt}} ± {a.std(ddof=1):{fmt}}"


def tie(a, b) -> bool:
    """True when two sets of per-seed values differ by less than their spread. Chapters 1, 2.

    The book's rule: the difference of the means is a tie when it is smaller than the
    larger of the two standard deviations across seeds (ddof=1). With one value per side
    there is no spread to compare with, and nothing is called a tie.
    """
    a, b = np.asarray(list(a), dtype=np.float64), np.asarray(list(b), dtype=np.float64)
    if min(len(a), len(b)) < 2:
        return False
    return bool(abs(a.mean() - b.mean()) < max(a.std(ddof=1), b.std(ddof=1)))


#: A fresh run and a committed reference run of the same training "agree" when they differ by
#: less than this fraction of the spread across seeds (:func:`agree`).
AGREEMENT = 0.1


def agree(fresh, reference, spread=None, fraction: float = AGREEMENT) -> tuple[bool, float]:
    """Whether a fresh run's values agree with a committed run's, per seed, within a stated
    tolerance; returns ``(agree, largest difference / tolerance)``. Chapters 1 and 2.

    Two executions of the same training on two machines differ by their rounding: other CPU
    kernels move a language model's perplexity by about 1e-7 of itself (the book's
    "another machine" step measures it). A difference of a tenth of the spread across seeds
    (``fraction`` times ``spread``, by default the standard deviation of ``fresh``, ddof=1)
    would mean another training, not other rounding; that is the tolerance.
    """
    a = np.asarray(list(fresh), dtype=np.float64)
    b = np.asarray(list(reference), dtype=np.float64)
    if a.shape != b.shape or len(a) == 0:
        raise ValueError(f"agree: {a.shape} values against {b.shape}")
    if spread is None:
        if len(a) < 2:
            raise ValueError("agree: one seed has no spread; pass spread=")
        spread = a.std(ddof=1)
    tol = fraction * float(spread)
    worst = float(np.abs(a - b).max()) / tol if tol > 0 else float("inf")
    return bool(worst < 1), worst
