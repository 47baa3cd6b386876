"""Results over several seeds: the book's "mean ± sd", paired intervals, and what a tie is.

One seed is an anecdote. The chapters report every repeated run as the mean and the
standard deviation across seeds (:func:`mean_sd`). Whether two models differ is read from a
confidence interval of their difference (:class:`Interval`): :func:`paired_seed_interval` when
the same seeds trained both (the seeds share their data order), :func:`paired_bootstrap` when
two models score the same sentence pairs, :func:`paired_bootstrap_sets` when they score the
pairs of several sets and the average over the sets is compared. :func:`tie` ("no difference
shown") and :func:`differ` are the two readings of a paired seed interval that the prose uses;
:mod:`aniso.experiments.reference` re-exports them, which is where the chapters call them.
Chapters 1 and 2.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def tie(a, b, confidence: float = 0.95) -> bool:
    """No difference shown: the paired interval of ``a - b`` over seeds covers 0. Chapters 1, 2.

    ``a`` and ``b`` hold one value per seed, in the same seed order
    (:func:`paired_seed_interval`). With three seeds a 95% interval is wide (Student's t with
    2 degrees of freedom is 4.30): a tie says that the seeds cannot tell the two apart, not
    that the two are equal. The book's earlier rule (a difference of the means smaller than
    the larger standard deviation) is retired: it was not a test.
    """
    return paired_seed_interval(a, b, confidence).sign == 0


def differ(a, b, confidence: float = 0.95) -> bool:
    """``a`` and ``b`` differ: the paired interval of ``a - b`` over seeds excludes 0
    ("beyond the seed spread" in the prose). The negation of :func:`tie`. Chapters 1, 2."""
    return not tie(a, b, confidence)


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


# ----------------------------------------------------------------------------- paired intervals
@dataclass(frozen=True)
class Interval:
    """A difference between two models and its confidence interval: the book's test for
    "better", "worse" and "no difference" (:func:`tie`, :func:`differ`).

    ``estimate`` is the difference (first minus second), ``low`` and ``high`` the interval's
    ends at ``confidence``, ``n`` the number of paired units (seeds or sentence pairs) and
    ``method`` how the interval was made.
    """

    estimate: float
    low: float
    high: float
    confidence: float
    n: int
    method: str

    @property
    def sign(self) -> int:
        """+1 when the whole interval lies above 0, -1 when below, 0 when it covers 0."""
        return 1 if self.low > 0 else -1 if self.high < 0 else 0

    def format(self, digits: int = 2) -> str:
        """``"+1.23 [+0.45, +2.01]"``: the difference and its interval."""
        return f"{self.estimate:+.{digits}f} [{self.low:+.{digits}f}, {self.high:+.{digits}f}]"


def paired_seed_interval(a, b, confidence: float = 0.95) -> Interval:
    """The mean of ``a[i] - b[i]`` over seeds and its Student-t interval (the seed comparisons
    of chapters 1, 2, 4, 5, 6 and 7; :func:`tie` reads it).

    ``a`` and ``b`` hold one value per seed, in the same seed order: two models trained with
    the same seed see the same data in the same order and start from the same draw where
    they can, so their difference is measured seed by seed (a paired test), which is tighter
    and more honest than comparing two spreads. The same interval as
    ``scipy.stats.ttest_rel(a, b).confidence_interval(confidence)``. One seed (the smoke and
    paper profiles train one) gives the whole line, ``(-inf, inf)``: no difference is shown.
    """
    a, b = np.asarray(list(a), dtype=np.float64), np.asarray(list(b), dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired_seed_interval: {a.shape} values against {b.shape}")
    if len(a) == 0:
        raise ValueError("paired_seed_interval: no seed")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1, got {confidence}")
    from scipy.stats import t

    d = a - b
    if len(d) == 1:  # one seed has no spread: the interval is the whole line, nothing is shown
        return Interval(float(d[0]), -np.inf, np.inf, confidence, 1, "one seed: no interval")
    mean, se = float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))
    half = float(t.ppf((1 + confidence) / 2, len(d) - 1)) * se
    return Interval(mean, mean - half, mean + half, confidence, len(d), "paired t over seeds")


def paired_bootstrap(
    x, y, gold, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> Interval:
    """Spearman x 100 of ``x`` against ``gold`` minus that of ``y``, with a percentile interval
    from a bootstrap over the pairs (for one model against another on the same STS pairs,
    as in chapters 0 and 3; :func:`paired_bootstrap_sets` for an average over several sets).

    ``x`` and ``y`` are two models' scores (cosines) of the same sentence pairs, ``gold`` the
    human scores. Each resample draws the pairs with replacement and scores both models on
    the same draw (a paired bootstrap), so what is shared by the two models, the hard pairs
    and the easy ones, cancels. :func:`scipy.stats.bootstrap` with ``paired=True`` does the
    resampling; ``seed`` fixes it.
    """
    from scipy.stats import bootstrap, spearmanr

    x, y, gold = (np.asarray(v, dtype=np.float64) for v in (x, y, gold))
    if not x.shape == y.shape == gold.shape or x.ndim != 1:
        raise ValueError(f"paired_bootstrap: shapes {x.shape}, {y.shape}, {gold.shape}")
    if len(x) < 3:
        raise ValueError("paired_bootstrap: at least three pairs")

    def statistic(a, b, g):
        return 100 * (spearmanr(a, g).statistic - spearmanr(b, g).statistic)

    res = bootstrap(
        (x, y, gold),
        statistic,
        n_resamples=n_resamples,
        paired=True,
        vectorized=False,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    ci = res.confidence_interval
    return Interval(
        float(statistic(x, y, gold)),
        float(ci.low),
        float(ci.high),
        confidence,
        len(x),
        f"paired bootstrap over pairs ({n_resamples} resamples)",
    )


def _percentile_interval(estimate, values, confidence: float, n: int, method: str) -> Interval:
    """The estimate with the middle ``confidence`` share of its bootstrap ``values`` (the
    percentile interval of the three bootstraps below)."""
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(float(estimate), float(low), float(high), confidence, n, method)


def paired_bootstrap_sets(
    scores,
    gold,
    differences,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict:
    """Differences of the average Spearman x 100 over several STS sets between models scored on
    the same pairs, each with a percentile interval from a bootstrap that resamples the pairs
    within every set (chapter 7's leaderboard: the seven-set average).

    ``scores`` maps a model's name to its scores (cosines), one array per set; ``gold`` holds
    the human scores, one array per set in the same order; ``differences`` lists the
    ``(model, other)`` names to compare. Every model is scored on the same draws (a paired,
    stratified bootstrap: each set keeps its size, so the average weighs the sets as the
    leaderboard does), so one pass serves every difference. Draw ``b`` of set ``k`` is
    ``rng.integers(0, n_k, n_k)`` with ``rng = numpy.random.default_rng(seed)``, drawn set by
    set, all ``n_resamples`` draws of a set at once. Returns ``{(model, other): Interval}``;
    with one set it is :func:`paired_bootstrap`'s interval on other draws.
    """
    from scipy.stats import rankdata

    gold = [np.asarray(g, dtype=np.float64) for g in gold]
    scores = {m: [np.asarray(s, dtype=np.float64) for s in v] for m, v in scores.items()}
    differences = [tuple(d) for d in differences]
    if not gold:
        raise ValueError("paired_bootstrap_sets: no set")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1, got {confidence}")
    for m, v in scores.items():
        shapes = [s.shape for s in v]
        if shapes != [g.shape for g in gold] or any(s.ndim != 1 or len(s) < 3 for s in v):
            raise ValueError(
                f"paired_bootstrap_sets: {m!r} has scores of shapes {shapes} for sets of "
                f"{[g.shape for g in gold]} gold scores (at least three pairs a set)"
            )
    unknown = {m for d in differences for m in d} - set(scores)
    if unknown:
        raise ValueError(f"paired_bootstrap_sets: no scores for {sorted(unknown)}")

    def rowwise_pearson(a, b):
        a = a - a.mean(axis=-1, keepdims=True)
        b = b - b.mean(axis=-1, keepdims=True)
        return (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1))

    rng = np.random.default_rng(seed)
    names = sorted({m for d in differences for m in d})
    boot = {m: np.zeros(n_resamples) for m in names}
    point = {m: 0.0 for m in names}
    for k, g in enumerate(gold):
        idx = rng.integers(0, len(g), (n_resamples, len(g)))
        g_rank, g_boot = rankdata(g), rankdata(g[idx], axis=1)
        for m in names:
            s = scores[m][k]
            point[m] += 100 * rowwise_pearson(rankdata(s), g_rank) / len(gold)
            boot[m] += 100 * rowwise_pearson(rankdata(s[idx], axis=1), g_boot) / len(gold)
    method = f"paired bootstrap over the pairs of {len(gold)} sets ({n_resamples} resamples)"
    n = sum(len(g) for g in gold)
    return {
        (a, b): _percentile_interval(point[a] - point[b], boot[a] - boot[b], confidence, n, method)
        for a, b in differences
    }


def cluster_bootstrap(
    statistic,
    arrays,
    clusters,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """A statistic of paired samples and its percentile interval from a bootstrap that draws
    whole clusters with replacement (a block bootstrap; chapter 3's Observation 2 test, where
    neighbouring words share neighbours and are not independent draws).

    ``arrays`` are 1-D arrays of one length (e.g. frequency and neighbour distance), one value
    per unit; ``clusters`` gives each unit's cluster label; ``statistic(*arrays)`` returns a
    number. Each resample draws as many clusters as there are, with replacement, with
    ``numpy.random.default_rng(seed).integers``, and keeps every unit of each drawn cluster.
    With one unit per cluster it is the ordinary (percentile) bootstrap. ``Interval.n`` is the
    number of clusters.
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    clusters = np.asarray(clusters)
    if not arrays or any(a.ndim != 1 or a.shape != clusters.shape for a in arrays):
        raise ValueError(
            f"cluster_bootstrap: arrays of shapes {[a.shape for a in arrays]} for "
            f"{clusters.shape} cluster labels"
        )
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1, got {confidence}")
    labels, inverse = np.unique(clusters, return_inverse=True)
    if len(labels) < 2:
        raise ValueError("cluster_bootstrap: at least two clusters")
    members = [np.flatnonzero(inverse == k) for k in range(len(labels))]
    rng = np.random.default_rng(seed)
    values = np.empty(n_resamples)
    for b, drawn in enumerate(rng.integers(0, len(labels), (n_resamples, len(labels)))):
        idx = np.concatenate([members[k] for k in drawn])
        values[b] = statistic(*(a[idx] for a in arrays))
    method = f"cluster bootstrap over {len(labels)} clusters ({n_resamples} resamples)"
    return _percentile_interval(statistic(*arrays), values, confidence, len(labels), method)


def paired_bootstrap_statistic(
    statistic,
    data,
    differences=(),
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict:
    """Any statistic of several models' scores of the same pairs, and differences between
    models, each with a percentile interval from one bootstrap over the pairs (chapter 6's
    length bias: Spearman within pairs of similar length minus within the others, per encoder,
    and one encoder's gap minus another's).

    ``data`` maps a model's name to a tuple of 1-D arrays of one length (e.g. its cosines, the
    gold scores and a group mask); ``statistic(*arrays)`` returns a number. Every model is
    scored on the same draws, ``numpy.random.default_rng(seed).integers(0, n, (n_resamples,
    n))``, so a difference between two models is paired. Returns ``{name: Interval}`` for every
    model and ``{(model, other): Interval}`` for every difference asked for.
    """
    data = {m: [np.asarray(a) for a in arrays] for m, arrays in data.items()}
    lengths = {len(a) for arrays in data.values() for a in arrays}
    if not data or len(lengths) != 1 or any(a.ndim != 1 for v in data.values() for a in v):
        raise ValueError("paired_bootstrap_statistic: 1-D arrays of one length for every model")
    (n,) = lengths
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1, got {confidence}")
    unknown = {m for d in differences for m in d} - set(data)
    if unknown:
        raise ValueError(f"paired_bootstrap_statistic: no data for {sorted(unknown)}")
    draws = np.random.default_rng(seed).integers(0, n, (n_resamples, n))
    point = {m: float(statistic(*arrays)) for m, arrays in data.items()}
    boot = {
        m: np.array([statistic(*(a[k] for a in arrays)) for k in draws])
        for m, arrays in data.items()
    }
    method = f"paired bootstrap over pairs ({n_resamples} resamples)"
    out = {m: _percentile_interval(point[m], boot[m], confidence, n, method) for m in data}
    for a, b in differences:
        out[a, b] = _percentile_interval(
            point[a] - point[b], boot[a] - boot[b], confidence, n, method
        )
    return out
