"""The paired intervals of aniso.util.stats, against scipy and an independent computation."""

import numpy as np
import pytest
from scipy.stats import spearmanr, t, ttest_rel

from aniso.util.stats import (
    Interval,
    cluster_bootstrap,
    paired_bootstrap,
    paired_bootstrap_sets,
    paired_bootstrap_statistic,
    paired_seed_interval,
)


def test_paired_seed_interval_pins_a_tiny_case_and_equals_scipys_ttest_rel():
    a, b = [1.0, 2.0, 3.0, 4.0, 5.0], [0.5, 1.9, 2.5, 3.6, 4.4]  # d = .5 .1 .5 .4 .6
    iv = paired_seed_interval(a, b)
    d = np.array([0.5, 0.1, 0.5, 0.4, 0.6])
    half = t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5)  # by hand: mean ± t(0.975, 4) s / sqrt(n)
    assert iv.estimate == pytest.approx(0.42, abs=1e-12)
    assert (iv.low, iv.high) == pytest.approx((0.42 - half, 0.42 + half), abs=1e-12)
    assert round(iv.low, 4) == 0.1812 and round(iv.high, 4) == 0.6588  # pinned
    ci = ttest_rel(a, b).confidence_interval(0.95)
    assert (iv.low, iv.high) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert iv.sign == 1 and iv.n == 5 and iv.format() == "+0.42 [+0.18, +0.66]"
    ci90 = ttest_rel(a, b).confidence_interval(0.9)
    assert (paired_seed_interval(a, b, 0.9).low) == pytest.approx(ci90.low, abs=1e-12)


def test_pairing_is_what_makes_a_shared_seed_effect_cancel():
    """Seeds that move both models together: each model's spread is wide, the difference is
    steady; the paired interval sees the difference, two separate spreads would not."""
    seed_effect = np.array([10.0, -8.0, 3.0, -5.0, 7.0])
    a, b = 100 + seed_effect + 1.0, 100 + seed_effect + np.array([0.1, -0.1, 0.05, 0, -0.05])
    iv = paired_seed_interval(a, b)
    assert iv.sign == 1 and a.std(ddof=1) > 5 * abs(a.mean() - b.mean())
    assert paired_seed_interval(b, a).sign == -1
    assert paired_seed_interval([1, 2, 3], [2, 1, 3]).sign == 0  # covers 0


def test_paired_seed_interval_refuses_what_it_cannot_test():
    one = paired_seed_interval([1.0], [2.0])  # one seed: the whole line, nothing is shown
    assert (one.estimate, one.low, one.high, one.n, one.sign) == (-1.0, -np.inf, np.inf, 1, 0)
    with pytest.raises(ValueError, match="no seed"):
        paired_seed_interval([], [])
    with pytest.raises(ValueError, match="against"):
        paired_seed_interval([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="confidence"):
        paired_seed_interval([1.0, 2.0], [0.0, 1.0], confidence=95)


def _pairs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    gold = rng.uniform(0, 5, n)
    x = gold + rng.normal(0, 1.0, n)  # the better model
    y = gold + rng.normal(0, 2.0, n)
    return x, y, gold


def test_paired_bootstrap_estimate_is_the_difference_of_spearmans():
    x, y, gold = _pairs()
    iv = paired_bootstrap(x, y, gold, n_resamples=300)
    direct = 100 * (spearmanr(x, gold).statistic - spearmanr(y, gold).statistic)
    assert iv.estimate == pytest.approx(direct, abs=1e-12)
    assert iv.low < iv.estimate < iv.high and iv.sign == 1 and iv.n == 300
    assert paired_bootstrap(x, y, gold, n_resamples=300) == iv  # a fixed seed: the same draw


def test_paired_bootstrap_agrees_with_a_hand_written_resampling():
    """An independent percentile bootstrap (numpy, other draws) gives the same interval within
    the Monte Carlo error of two sets of 2,000 resamples: a 2.5% quantile estimated from B
    draws has a standard error of about sqrt(p (1 - p) / B) / phi(1.96) = 0.06 times the
    bootstrap's sd s, the difference of two such estimates 0.085 s; allowed: 4 of those."""
    x, y, gold = _pairs()
    rng = np.random.default_rng(123)
    diffs = []
    for idx in rng.integers(0, len(x), (2000, len(x))):
        diffs.append(
            100 * (spearmanr(x[idx], gold[idx]).statistic - spearmanr(y[idx], gold[idx]).statistic)
        )
    low, high = np.percentile(diffs, [2.5, 97.5])
    tol = 4 * 0.085 * np.std(diffs)
    iv = paired_bootstrap(x, y, gold, n_resamples=2000)
    assert 0.5 < tol < 3  # the bootstrap's sd: a few points of Spearman x 100
    assert iv.low == pytest.approx(low, abs=tol) and iv.high == pytest.approx(high, abs=tol)


def test_paired_bootstrap_of_a_model_against_itself_is_zero():
    x, _, gold = _pairs(50)
    iv = paired_bootstrap(x, x, gold, n_resamples=100)
    assert (iv.estimate, iv.low, iv.high, iv.sign) == (0.0, 0.0, 0.0, 0)
    with pytest.raises(ValueError, match="shapes"):
        paired_bootstrap(x, x[:-1], gold)


def test_interval_is_a_plain_value():
    iv = Interval(-1.5, -2.0, -1.0, 0.95, 3, "x")
    assert iv.sign == -1 and iv.format(1) == "-1.5 [-2.0, -1.0]"


def _sets(seed=0):
    """Three sets of different sizes; model "x" is the better on every one."""
    sets = [_pairs(n, seed + k) for k, n in enumerate((40, 25, 60))]
    return ({"x": [s[0] for s in sets], "y": [s[1] for s in sets]}, [s[2] for s in sets])


def test_paired_bootstrap_sets_equals_a_hand_written_stratified_resampling():
    """The same draws (the documented order: set by set, all resamples of a set at once),
    scored with scipy's spearmanr one resample at a time: the same interval to rounding."""
    scores, gold = _sets()
    iv = paired_bootstrap_sets(scores, gold, [("x", "y")], n_resamples=200, seed=7)["x", "y"]
    direct = np.mean(
        [
            100 * (spearmanr(x, g).statistic - spearmanr(y, g).statistic)
            for x, y, g in zip(scores["x"], scores["y"], gold)
        ]
    )
    assert iv.estimate == pytest.approx(direct, abs=1e-10)
    rng = np.random.default_rng(7)
    diffs = np.zeros(200)
    for x, y, g in zip(scores["x"], scores["y"], gold):
        for b, idx in enumerate(rng.integers(0, len(g), (200, len(g)))):
            diffs[b] += (
                100
                * (spearmanr(x[idx], g[idx]).statistic - spearmanr(y[idx], g[idx]).statistic)
                / 3
            )
    assert (iv.low, iv.high) == pytest.approx(tuple(np.percentile(diffs, [2.5, 97.5])), abs=1e-9)
    assert iv.n == 125 and iv.sign == 1
    assert (round(iv.estimate, 3), round(iv.low, 3), round(iv.high, 3)) == (18.182, 7.642, 35.116)


def test_paired_bootstrap_sets_serves_several_differences_from_one_pass():
    scores, gold = _sets()
    scores["z"] = [s + 0.0 for s in scores["x"]]  # the same scores as x: a difference of exactly 0
    out = paired_bootstrap_sets(scores, gold, [("x", "y"), ("y", "x"), ("x", "z")], 100)
    assert out["y", "x"].estimate == pytest.approx(-out["x", "y"].estimate, abs=1e-12)
    assert out["y", "x"].low == pytest.approx(-out["x", "y"].high, abs=1e-9)
    assert out["x", "z"].estimate == 0 and out["x", "z"].low == out["x", "z"].high == 0
    # one set: the interval of paired_bootstrap on other draws, within Monte Carlo error
    one = paired_bootstrap_sets(
        {k: v[:1] for k, v in scores.items()}, gold[:1], [("x", "y")], 2000
    )["x", "y"]
    ref = paired_bootstrap(scores["x"][0], scores["y"][0], gold[0], n_resamples=2000)
    assert one.estimate == pytest.approx(ref.estimate, abs=1e-10)
    width = ref.high - ref.low
    assert abs(one.low - ref.low) < 0.15 * width and abs(one.high - ref.high) < 0.15 * width


def test_paired_bootstrap_sets_refuses_what_it_cannot_score():
    scores, gold = _sets()
    with pytest.raises(ValueError, match="shapes"):
        paired_bootstrap_sets({"x": scores["x"][:2], "y": scores["y"]}, gold, [("x", "y")])
    with pytest.raises(ValueError, match="no scores"):
        paired_bootstrap_sets(scores, gold, [("x", "w")])
    with pytest.raises(ValueError, match="no set"):
        paired_bootstrap_sets({"x": [], "y": []}, [], [("x", "y")])


def _rho(a, b):
    return spearmanr(a, b).statistic


def test_cluster_bootstrap_with_one_unit_per_cluster_is_the_ordinary_bootstrap():
    x, y, _ = _pairs(n=50)
    iv = cluster_bootstrap(_rho, (x, y), np.arange(50), n_resamples=300, seed=3)
    rng = np.random.default_rng(3)
    by_hand = [_rho(x[i], y[i]) for i in rng.integers(0, 50, (300, 50))]
    assert (iv.low, iv.high) == pytest.approx(tuple(np.percentile(by_hand, [2.5, 97.5])), abs=1e-12)
    assert iv.estimate == pytest.approx(_rho(x, y), abs=1e-12) and iv.n == 50
    assert (round(iv.estimate, 4), round(iv.low, 4), round(iv.high, 4)) == (0.5031, 0.267, 0.6717)


def test_cluster_bootstrap_widens_the_interval_when_units_come_in_copies():
    """Each of 40 units repeated 5 times: a bootstrap over the 200 rows believes it has 200
    independent draws; drawing the 40 clusters gives the honest, wider interval, about
    sqrt(5) times as wide."""
    x, y, _ = _pairs(n=40, seed=1)
    xs, ys, cl = np.repeat(x, 5), np.repeat(y, 5), np.repeat(np.arange(40), 5)
    naive = cluster_bootstrap(_rho, (xs, ys), np.arange(200), n_resamples=500)
    blocks = cluster_bootstrap(_rho, (xs, ys), cl, n_resamples=500)
    ratio = (blocks.high - blocks.low) / (naive.high - naive.low)
    assert 1.6 < ratio < 3.2 and blocks.n == 40
    with pytest.raises(ValueError, match="shapes"):
        cluster_bootstrap(_rho, (xs, ys[:-1]), cl)
    with pytest.raises(ValueError, match="two clusters"):
        cluster_bootstrap(_rho, (xs, ys), np.zeros(200))


def test_paired_bootstrap_statistic_scores_every_model_on_the_same_draws():
    """A statistic of several arrays per model; the same draws for every model, so the
    difference's interval comes from paired values; checked against a hand-written loop."""
    x, y, gold = _pairs(n=60)
    group = np.arange(60) % 3 == 0

    def gap(cos, g, grp):  # Spearman within the group minus outside it
        return _rho(cos[grp], g[grp]) - _rho(cos[~grp], g[~grp])

    out = paired_bootstrap_statistic(
        gap, {"x": (x, gold, group), "y": (y, gold, group)}, [("x", "y")], n_resamples=200, seed=5
    )
    draws = np.random.default_rng(5).integers(0, 60, (200, 60))
    bx = np.array([gap(x[k], gold[k], group[k]) for k in draws])
    by = np.array([gap(y[k], gold[k], group[k]) for k in draws])
    assert out["x"].estimate == pytest.approx(gap(x, gold, group), abs=1e-12)
    assert (out["x"].low, out["x"].high) == pytest.approx(tuple(np.percentile(bx, [2.5, 97.5])))
    d = out["x", "y"]
    assert d.estimate == pytest.approx(out["x"].estimate - out["y"].estimate, abs=1e-12)
    assert (d.low, d.high) == pytest.approx(tuple(np.percentile(bx - by, [2.5, 97.5])), abs=1e-12)
    assert d.n == 60 and (round(d.estimate, 4), round(d.low, 4), round(d.high, 4)) == (
        0.0935,
        -0.2685,
        0.5713,
    )
    with pytest.raises(ValueError, match="one length"):
        paired_bootstrap_statistic(gap, {"x": (x, gold[:-1], group)})
    with pytest.raises(ValueError, match="no data"):
        paired_bootstrap_statistic(gap, {"x": (x, gold, group)}, [("x", "z")])
