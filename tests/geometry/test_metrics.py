"""Tests of aniso.geometry.metrics: known answers, reference implementations, bad input."""

import numpy as np
import pytest
import torch

from aniso.geometry import metrics as m


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gauss():
    """Isotropic Gaussian sample, n=2000, d=16, seed 0."""
    return np.random.default_rng(0).standard_normal((2000, 16))


@pytest.fixture(scope="module")
def rank_one():
    """x_i = a_i v with positive a_i (all rows point the same way)."""
    rng = np.random.default_rng(1)
    a = rng.uniform(0.5, 2.0, size=200)
    v = rng.standard_normal(16)
    return a[:, None] * v


def random_rotation(d, seed):
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q * np.sign(np.diag(r))


# --------------------------------------------------------------------------
# cosine similarity
# --------------------------------------------------------------------------
def test_cosine_similarity_matrix_matches_sklearn():
    from sklearn.metrics.pairwise import cosine_similarity

    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((7, 5)), rng.standard_normal((4, 5))
    np.testing.assert_allclose(
        m.cosine_similarity_matrix(a, b), cosine_similarity(a, b), atol=1e-12
    )
    s = m.cosine_similarity_matrix(a)
    assert s.shape == (7, 7)
    np.testing.assert_allclose(np.diag(s), 1.0, atol=1e-12)
    np.testing.assert_allclose(s, s.T, atol=1e-15)


def test_paired_cosine_matches_sklearn_diagonal():
    from sklearn.metrics.pairwise import cosine_similarity

    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((30, 12)), rng.standard_normal((30, 12))
    got = m.paired_cosine(a, b)
    assert got.shape == (30,)
    np.testing.assert_allclose(got, np.diag(cosine_similarity(a, b)), atol=1e-12)


def test_torch_input_is_accepted():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((10, 6)).astype(np.float32)
    t = torch.tensor(a, requires_grad=True)
    assert m.average_cosine(t) == pytest.approx(m.average_cosine(a), abs=1e-15)
    np.testing.assert_allclose(m.paired_cosine(t, t * 2), 1.0, atol=1e-12)


# --------------------------------------------------------------------------
# average cosine
# --------------------------------------------------------------------------
def test_average_cosine_all_pairs_equals_brute_force():
    x = np.random.default_rng(5).standard_normal((5, 3))
    cos = [
        x[i] @ x[j] / (np.linalg.norm(x[i]) * np.linalg.norm(x[j]))
        for i in range(5)
        for j in range(i + 1, 5)
    ]
    assert m.average_cosine(x) == pytest.approx(np.mean(cos), abs=1e-14)


def test_average_cosine_sampled_is_deterministic_and_close(gauss):
    a = m.average_cosine(gauss, n_pairs=5000, seed=7)
    assert a == m.average_cosine(gauss, n_pairs=5000, seed=7)
    assert a != m.average_cosine(gauss, n_pairs=5000, seed=8)
    assert abs(a - m.average_cosine(gauss)) < 0.02
    # sampled pairs never pair a row with itself: a 2-row matrix has one pair
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert m.average_cosine(x, n_pairs=100) == 0.0


def test_isotropic_gaussian_known_values(gauss):
    avg = m.average_cosine(gauss)
    assert abs(avg) < 0.02
    assert avg == pytest.approx(0.000277642, abs=1e-6)
    iso = m.isoscore(gauss)
    assert iso > 0.9
    assert iso == pytest.approx(0.990073376, abs=1e-6)
    assert m.effective_rank(gauss) == pytest.approx(15.98114, abs=1e-4)


def test_rank_one_sample(rank_one):
    assert m.average_cosine(rank_one) == pytest.approx(1.0, abs=1e-12)
    assert m.average_cosine(rank_one, n_pairs=50) == pytest.approx(1.0, abs=1e-12)
    assert m.isoscore(rank_one) < 0.05
    assert m.effective_rank(rank_one, center=False) == pytest.approx(1.0, abs=1e-9)
    assert m.effective_rank(rank_one) == pytest.approx(1.0, abs=1e-9)


# --------------------------------------------------------------------------
# IsoScore against the reference package
# --------------------------------------------------------------------------
def test_isoscore_matches_package_exact_constants():
    """d = 4 and 81: sqrt(d) and sqrt(2(d - sqrt d)) are exact in float32."""
    from IsoScore.IsoScore import IsoScore

    rng = np.random.default_rng(6)
    for d in (4, 81):
        for n in (50, 300):
            x = rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) + rng.standard_normal(d)
            assert m.isoscore(x) == pytest.approx(IsoScore(x).item(), abs=1e-10)


def test_isoscore_matches_package_with_its_float32_constants():
    """For any d the only difference is the package's float32 sqrt constants."""
    from IsoScore.IsoScore import IsoScore

    rng = np.random.default_rng(7)
    for d in (2, 3, 10, 16, 50):
        x = rng.standard_normal((200, d)) @ rng.standard_normal((d, d))
        ref = IsoScore(x).item()
        assert m.isoscore(x) == pytest.approx(ref, abs=1e-6)
        n = torch.tensor(d)
        sqrt32 = torch.sqrt(n)
        scale32 = torch.sqrt(2 * (n - sqrt32))
        var = np.linalg.svd(np.cov(x, rowvar=False), compute_uv=False)
        assert m._isoscore_from_variances(var, float(sqrt32), float(scale32)) == pytest.approx(
            ref, abs=1e-8
        )


def test_isoscore_is_rotation_and_scale_invariant(gauss):
    x = gauss[:300] * np.linspace(0.2, 3, 16)
    q = random_rotation(16, 8)
    assert m.isoscore(5 * x @ q + 3) == pytest.approx(m.isoscore(x), abs=1e-10)


# --------------------------------------------------------------------------
# I(W) of Mu & Viswanath
# --------------------------------------------------------------------------
def test_iw_isotropic_near_one_shifted_near_zero(gauss):
    q = random_rotation(16, 9)
    assert m.isotropy_mu_viswanath(0.1 * gauss @ q) > 0.97
    mean = np.random.default_rng(10).standard_normal(16)
    mean *= 10 / np.linalg.norm(mean)
    assert m.isotropy_mu_viswanath(gauss + mean) < 1e-3


def test_iw_no_overflow_for_large_norms(gauss):
    v = m.isotropy_mu_viswanath(1000 * gauss[:100])
    assert np.isfinite(v) and 0 <= v <= 1


# --------------------------------------------------------------------------
# spectrum
# --------------------------------------------------------------------------
def test_effective_rank_identity():
    assert m.effective_rank(np.eye(8), center=False) == pytest.approx(8.0, abs=1e-12)


def test_singular_spectrum(gauss):
    s = m.singular_spectrum(gauss[:200] * np.linspace(0.1, 2, 16))
    assert s.shape == (16,)
    assert s[0] == 1.0
    assert np.all(np.diff(s) <= 0) and s[-1] > 0
    raw = m.singular_spectrum(np.eye(3), center=False, normalize=False)
    np.testing.assert_allclose(raw, 1.0, atol=1e-15)


# --------------------------------------------------------------------------
# alignment and uniformity
# --------------------------------------------------------------------------
def test_alignment_known_values():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((20, 5))
    assert m.alignment(x, 3 * x) == pytest.approx(0.0, abs=1e-24)  # normalized inside
    assert m.alignment(x, -x) == pytest.approx(4.0, abs=1e-12)
    assert m.alignment(x, -x, alpha=1) == pytest.approx(2.0, abs=1e-12)


def test_alignment_matches_torch_reference():
    rng = np.random.default_rng(12)
    x, y = rng.standard_normal((40, 8)), rng.standard_normal((40, 8))
    tx = torch.nn.functional.normalize(torch.tensor(x), dim=1)
    ty = torch.nn.functional.normalize(torch.tensor(y), dim=1)
    ref = (tx - ty).norm(p=2, dim=1).pow(2).mean().item()
    assert m.alignment(x, y) == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("t", [1.0, 2.0])
def test_uniformity_matches_torch_reference(t):
    x = np.random.default_rng(13).standard_normal((50, 8))
    tx = torch.nn.functional.normalize(torch.tensor(x), dim=1)
    ref = torch.pdist(tx, p=2).pow(2).mul(-t).exp().mean().log().item()
    assert m.uniformity(x, t=t) == pytest.approx(ref, abs=1e-10)


def test_uniformity_antipodal_points():
    x = np.array([[0.0, 2.0], [0.0, -1.0]])
    assert m.uniformity(x) == pytest.approx(-8.0, abs=1e-12)  # log exp(-2 * 4)
    assert m.uniformity(x, t=1) == pytest.approx(-4.0, abs=1e-12)


def test_uniformity_stays_finite_where_the_reference_formula_underflows():
    # a tiny batch of two antipodal points with a sharp kernel: exp(-t * 4) underflows to 0 in
    # float64, so the reference code's exp().mean().log() returns -inf (a pitfall of chapter
    # "Reproducing the numbers"); the log-sum-exp form gives the exact value -4t
    x, t = np.array([[1.0, 0.0], [-1.0, 0.0]]), 200.0
    naive = torch.pdist(torch.tensor(x), p=2).pow(2).mul(-t).exp().mean().log().item()
    assert naive == -np.inf
    assert m.uniformity(x, t=t) == pytest.approx(-4 * t, abs=1e-9)
    with pytest.raises(ValueError):
        m.uniformity(x[:1])  # one point has no pair: refused, not -inf or nan


def test_uniformity_block_path_equals_pdist(monkeypatch):
    x = np.random.default_rng(14).standard_normal((300, 6))
    exact = m.uniformity(x)
    monkeypatch.setattr(m, "_PDIST_MAX", 10)
    monkeypatch.setattr(m, "_BLOCK_ROWS", 64)
    assert m.uniformity(x) == pytest.approx(exact, abs=1e-12)


def test_uniformity_subsample_is_deterministic():
    x = np.random.default_rng(15).standard_normal((400, 6))
    a = m.uniformity(x, max_points=100, seed=1)
    assert a == m.uniformity(x, max_points=100, seed=1)
    assert a != m.uniformity(x, max_points=100, seed=2)
    assert m.uniformity(x, max_points=1000) == m.uniformity(x)


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------
def test_isotropy_report(gauss):
    x = gauss[:300]
    r = m.isotropy_report(x)
    assert set(r) == {"average_cosine", "isoscore", "effective_rank", "i_w"}
    assert r["isoscore"] == m.isoscore(x)
    assert all(isinstance(v, float) for v in r.values())
    a, b = gauss[300:400], gauss[300:400] + 0.1 * gauss[400:500]
    r = m.isotropy_report(x, pairs=(a, b))
    assert set(r) == {
        "average_cosine",
        "isoscore",
        "effective_rank",
        "i_w",
        "alignment",
        "uniformity",
    }
    assert r["alignment"] == m.alignment(a, b)
    assert r["uniformity"] == m.uniformity(x)


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------
ALL_STATS = [
    m.average_cosine,
    m.isoscore,
    m.isotropy_mu_viswanath,
    m.effective_rank,
    m.singular_spectrum,
    m.uniformity,
    m.isotropy_report,
]


@pytest.mark.parametrize("fn", ALL_STATS + [m.cosine_similarity_matrix])
def test_nan_and_inf_rejected(fn):
    x = np.random.default_rng(16).standard_normal((6, 3))
    x[1, 2] = np.nan
    x[4, 0] = np.inf
    with pytest.raises(ValueError, match=r"NaN or infinite values \(2 rows\); check the encoder"):
        fn(x)


@pytest.mark.parametrize("fn", ALL_STATS + [m.cosine_similarity_matrix])
def test_one_dimensional_input_rejected(fn):
    with pytest.raises(ValueError, match=r"must be a 2-D array.*x\[None, :\]"):
        fn(np.ones(5))


@pytest.mark.parametrize("fn", ALL_STATS)
def test_single_row_rejected(fn):
    with pytest.raises(ValueError, match="has 1 row; at least 2 rows are needed"):
        fn(np.ones((1, 4)))


@pytest.mark.parametrize("fn", [m.average_cosine, m.uniformity, m.cosine_similarity_matrix])
def test_zero_norm_rows_rejected_for_cosine(fn):
    x = np.random.default_rng(17).standard_normal((6, 3))
    x[[0, 3]] = 0.0
    with pytest.raises(ValueError, match="2 rows have zero norm; cosine similarity is undefined"):
        fn(x)


def test_zero_norm_rows_rejected_for_pairs():
    a = np.ones((3, 2))
    b = a.copy()
    b[1] = 0.0
    with pytest.raises(ValueError, match="embeddings b: 1 row has zero norm"):
        m.paired_cosine(a, b)
    with pytest.raises(ValueError, match="embeddings y: 1 row has zero norm"):
        m.alignment(a, b)


def test_zero_norm_rows_allowed_without_cosine():
    x = np.random.default_rng(18).standard_normal((50, 4))
    x[0] = 0.0
    assert 0 < m.isoscore(x) <= 1
    assert m.effective_rank(x) > 1


@pytest.mark.parametrize("fn", [m.paired_cosine, m.alignment])
def test_mismatched_shapes_rejected(fn):
    with pytest.raises(ValueError, match=r"same shape.*\(3, 4\) and \(3, 5\)"):
        fn(np.ones((3, 4)), np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(2, 4\)"):
        fn(np.ones((3, 4)), np.ones((2, 4)))


def test_report_mismatched_pairs_rejected(gauss):
    with pytest.raises(ValueError, match="same shape"):
        m.isotropy_report(gauss[:10], pairs=(gauss[:5], gauss[:4]))


def test_degenerate_inputs_rejected():
    same = np.tile([1.0, 2.0, 3.0], (5, 1))
    with pytest.raises(ValueError, match="zero variance"):
        m.isoscore(same)
    with pytest.raises(ValueError, match="all zeros"):
        m.effective_rank(same)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        m.isoscore(np.arange(5.0)[:, None])
    with pytest.raises(ValueError, match="n_pairs must be a positive integer"):
        m.average_cosine(np.eye(3), n_pairs=0)
    with pytest.raises(ValueError, match="could not be converted"):
        m.average_cosine([["a", "b"], ["c", "d"]])


# --------------------------------------------------------------------------
# rogue dimensions (chapter "Reproducing the numbers")
# --------------------------------------------------------------------------
def test_cosine_contributions_on_a_hand_made_set():
    # unit rows (1, 0), (0, 1), (1, 0): pairs (0,2) share dim 0, no pair shares dim 1
    x = np.array([[2.0, 0.0], [0.0, 3.0], [5.0, 0.0]])
    cc = m.cosine_contributions(x)
    np.testing.assert_allclose(cc, [2 / 6, 0.0])  # 2 of the 6 ordered pairs have cosine 1
    assert cc.sum() == pytest.approx(m.average_cosine(x))


def test_cosine_contributions_sum_to_the_average_cosine_and_match_a_pair_loop():
    x = np.random.default_rng(3).standard_normal((9, 4)) + [3.0, 0, 0, 0]  # dim 0 is rogue
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    loop = np.mean([u[i] * u[j] for i in range(9) for j in range(9) if i != j], axis=0)
    cc = m.cosine_contributions(x)
    np.testing.assert_allclose(cc, loop, atol=1e-12)
    assert cc.sum() == pytest.approx(m.average_cosine(x), abs=1e-12)
    assert cc.argmax() == 0 and cc[0] > 0.5


def test_alignment_and_uniformity_refuse_raw_vectors_when_told_they_are_unit():
    """normalize=False asserts unit rows: raw vectors (the bug of SimCSE #122, where the reference
    code on unnormalized features gave alignment 185) are refused; unit rows give the same value
    as the default, which normalizes."""
    x = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0]])
    y = np.array([[4.0, 3.0], [0.0, 1.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="not unit vectors"):
        m.alignment(x, y, normalize=False)
    with pytest.raises(ValueError, match="not unit vectors"):
        m.uniformity(x, normalize=False)
    ux = x / np.linalg.norm(x, axis=1, keepdims=True)
    uy = y / np.linalg.norm(y, axis=1, keepdims=True)
    assert m.alignment(ux, uy, normalize=False) == pytest.approx(m.alignment(x, y))
    assert m.uniformity(ux, normalize=False) == pytest.approx(m.uniformity(x))
    # by hand: (3,4)/5 vs (4,3)/5 -> squared distance 2/25; (1,0) vs (0,1) -> 2;
    # (0,1) vs (1,1)/sqrt2 -> 2 - sqrt2
    assert m.alignment(x, y) == pytest.approx((2 / 25 + 2 + 2 - np.sqrt(2)) / 3)
