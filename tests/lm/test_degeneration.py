"""Tests of aniso.lm.degeneration (chapter 1): Gao et al.'s (2019) Theorem 2 as an LP
feasibility test, and Merikoski's inequality (their Theorem 4)."""

import numpy as np
import pytest

from aniso.lm import degeneration


def test_hull_containing_the_origin_has_no_negative_direction():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((300, 5))  # the origin is deep inside the hull
    assert degeneration.uniformly_negative_direction(h) is None
    assert degeneration.hull_contains_origin(h)
    # a small exact case: +-e_1, +-e_2
    h = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    assert degeneration.uniformly_negative_direction(h) is None


def test_hull_away_from_the_origin_gives_a_direction():
    rng = np.random.default_rng(1)
    h = rng.standard_normal((500, 6)) * 0.5 + np.array([2.0, 1.0, 0, 0, 0, 0])
    found = degeneration.uniformly_negative_direction(h)
    assert found is not None
    v = found.direction
    assert np.linalg.norm(v) == pytest.approx(1.0)
    assert (h @ v < 0).all()  # uniformly negative: checked on every point
    # the margin is the LP optimum over ||v||_inf <= 1: min_i -<v_box, h_i / ||h_i||>
    v_box = v / np.abs(v).max()
    u = h / np.linalg.norm(h, axis=1, keepdims=True)
    assert found.margin == pytest.approx(-(u @ v_box).max(), rel=1e-5)
    assert found.margin > 0
    assert found.worst_cos == pytest.approx((u @ v).max())
    assert found.worst_cos < 0
    assert not degeneration.hull_contains_origin(h)


def test_direction_for_layer_norm_like_states_off_centre():
    # states on a sphere cap (all within 60 degrees of u): -u works, the LP must find one
    rng = np.random.default_rng(2)
    u = np.ones(8) / np.sqrt(8)
    x = rng.standard_normal((400, 8))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    h = x[x @ u > 0.5]
    found = degeneration.uniformly_negative_direction(h)
    assert found is not None and (h @ found.direction < 0).all()


def test_bad_input():
    with pytest.raises(ValueError):
        degeneration.uniformly_negative_direction(np.zeros(3))


def test_merikoski_on_random_nonnegative_matrix():
    rng = np.random.default_rng(0)
    for n in (2, 5, 30):
        a = rng.random((n, n))
        m = degeneration.merikoski(a)
        rho = np.abs(np.linalg.eigvals(a)).max()
        assert m["nonnegative"] and m["holds"]
        assert m["spectral_radius"] == pytest.approx(rho)
        assert m["sum"] == pytest.approx(a.sum()) and rho <= a.sum()


def test_merikoski_can_fail_with_negative_entries():
    a = np.array([[1.0, -1.0], [-1.0, 1.0]])  # eigenvalues 0 and 2, sum of entries 0
    m = degeneration.merikoski(a)
    assert not m["nonnegative"] and not m["holds"] and m["spectral_radius"] == pytest.approx(2.0)


def test_cosine_gram_bound_matches_the_full_matrix():
    rng = np.random.default_rng(4)
    w = rng.standard_normal((50, 3)) + np.array([3.0, 0, 0])  # a cone: all cosines > 0?
    u = w / np.linalg.norm(w, axis=1, keepdims=True)
    a = u @ u.T
    b = degeneration.cosine_gram_bound(w, chunk=7)
    assert b["lambda_max"] == pytest.approx(np.linalg.eigvalsh(a).max())
    assert b["sum"] == pytest.approx(a.sum()) and b["trace"] == pytest.approx(np.trace(a))
    assert b["min_cos"] == pytest.approx(a.min())
    assert b["nonnegative"] == (a.min() >= 0)
    assert b["holds"]
    assert b["cosreg"] == pytest.approx((a.sum() - 50) / 50**2)
