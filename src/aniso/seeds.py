"""Results over several seeds: the book's "mean ± sd" and its rule for a tie.

One seed is an anecdote. The chapters report every repeated run as the mean and the
standard deviation across seeds (:func:`mean_sd`), and call two results a tie when their
means differ by less than the spread (:func:`tie`). :mod:`aniso.reference` re-exports both,
which is where the chapters call them. Chapters 1 and 2.
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
