"""Tests of aniso.lm.spectrum (chapter 2): Wang et al.'s (2020) Section 4.1 penalty, the
Section 4.2 priors and regularizers, and the Section 5.1 isotropy criteria I1 and I2."""

import math

import numpy as np
import pytest
import torch

from aniso.geometry import metrics
from aniso.lm import spectrum


def _orthonormal(n, d, seed):
    q, _ = torch.linalg.qr(
        torch.randn(n, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    )
    return q


def test_orthogonality_regularizer_zero_for_orthonormal_u_and_v():
    u, v = _orthonormal(7, 3, 0), _orthonormal(3, 3, 1)
    r = spectrum.orthogonality_regularizer(u, v, (1.0, 2.0, 3.0, 4.0))
    assert r.item() == pytest.approx(0.0, abs=1e-24)


def test_orthogonality_regularizer_four_terms_by_numpy():
    rng = np.random.default_rng(3)
    u, v = rng.standard_normal((5, 3)), rng.standard_normal((3, 3))
    lam = (0.5, 2.0, 3.0, 10.0)

    def terms(m):
        e = m.T @ m - np.eye(m.shape[1])
        return np.sum(e**2), np.linalg.norm(e, 2) ** 2  # Frobenius^2, spectral^2

    (fu, su), (fv, sv) = terms(u), terms(v)
    expected = lam[0] * fu + lam[1] * fv + lam[2] * su + lam[3] * sv
    got = spectrum.orthogonality_regularizer(torch.tensor(u), torch.tensor(v), lam).item()
    assert got == pytest.approx(expected, rel=1e-10)
    # each term on its own
    for i, want in enumerate([fu, fv, su, sv]):
        one = [0.0] * 4
        one[i] = 1.0
        got = spectrum.orthogonality_regularizer(torch.tensor(u), torch.tensor(v), one).item()
        assert got == pytest.approx(want, rel=1e-10)


def test_orthogonality_regularizer_by_hand():
    # U = 2 I (2x2): U^T U - I = 3 I -> Frobenius^2 18, spectral^2 9; V = 0 (1x1): -1 -> 1 and 1
    u, v = 2 * torch.eye(2), torch.zeros(1, 1)
    assert spectrum.orthogonality_regularizer(u, v, (1, 1, 0, 0)).item() == pytest.approx(19.0)
    assert spectrum.orthogonality_regularizer(u, v, (1, 1, 1, 1)).item() == pytest.approx(29.0)


def test_spectral_terms_have_gradients():
    u = torch.tensor([[1.0, 0.2], [0.0, 1.1], [0.3, 0.0]], requires_grad=True)
    spectrum.orthogonality_regularizer(u, torch.eye(2), (0, 0, 1, 0)).backward()
    assert torch.isfinite(u.grad).all() and u.grad.abs().sum() > 0


@pytest.mark.parametrize("c1,c2,gamma", [(2.0, 0.05, 1.0), (1.5, 0.3, 0.5), (3.0, 1.0, 2.0)])
def test_exponential_prior_at_1_and_d(c1, c2, gamma):
    d = 64
    p = spectrum.spectrum_prior(d, "exponential", c1, c2, gamma)
    assert p[0] == pytest.approx(c1 * math.exp(-c2))
    assert p[-1] == pytest.approx(c1 * math.exp(-c2 * d**gamma))
    assert (np.diff(p) <= 0).all()


@pytest.mark.parametrize("c1,gamma", [(1.0, 0.5), (4.0, 1.0), (2.0, 2.0)])
def test_polynomial_prior_at_1_and_d(c1, gamma):
    d = 64
    p = spectrum.spectrum_prior(d, "polynomial", c1, 123.0, gamma)  # c2 is not used
    assert p[0] == pytest.approx(c1)
    assert p[-1] == pytest.approx(c1 * d ** (-gamma))


def test_prior_kind_checked():
    with pytest.raises(ValueError):
        spectrum.spectrum_prior(3, "gaussian")


def test_prior_scale_sets_the_frobenius_norm():
    for kind, shape in spectrum.BOOK_PRIORS.items():
        c1 = spectrum.prior_scale(7.5, 64, kind, shape["c2"], shape["gamma"])
        p = spectrum.spectrum_prior(64, kind, c1, shape["c2"], shape["gamma"])
        assert np.linalg.norm(p) == pytest.approx(7.5)


def test_singular_value_regularizer():
    prior = spectrum.spectrum_prior(3, "polynomial", 6.0, 0.0, 1.0)  # (6, 3, 2)
    s = torch.tensor([6.0, 3.0, 2.0])
    assert spectrum.singular_value_regularizer(s, prior, 10.0).item() == pytest.approx(0.0)
    # sorted by magnitude first: (6, 4, 1) -> 1 + 1 = 2, times lambda
    s = torch.tensor([1.0, -6.0, 4.0])
    assert spectrum.singular_value_regularizer(s, prior, 0.1).item() == pytest.approx(0.2)


def test_isotropy_perfectly_isotropic_toy_set():
    # the rows +-e_j: W^T W = 2 I, Z(e_j) = e + 1/e + 2 (d - 1) for every j
    w = np.vstack([np.eye(5), -np.eye(5)])
    assert spectrum.isotropy_i1(w) == pytest.approx(1.0, abs=1e-12)
    assert spectrum.isotropy_i2(w) == pytest.approx(0.0, abs=1e-12)
    assert spectrum.isotropy_criteria(w) == pytest.approx({"I1": 1.0, "I2": 0.0}, abs=1e-12)


def test_isotropy_i2_by_hand_and_i1_matches_metrics():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((200, 4)) * 0.3 + np.array([0.5, 0.0, 0.0, 0.0])
    _, vecs = np.linalg.eigh(w.T @ w)
    z = np.exp(w @ vecs).sum(0)
    i2 = np.sqrt(np.sum((z - z.mean()) ** 2) / (len(z) * z.mean() ** 2))
    assert spectrum.isotropy_i2(w) == pytest.approx(i2, rel=1e-10)
    assert spectrum.isotropy_i1(w) == pytest.approx(z.min() / z.max(), rel=1e-10)
    assert spectrum.isotropy_i1(w) == pytest.approx(metrics.isotropy_mu_viswanath(w), rel=1e-12)
    assert spectrum.isotropy_i2(w) > 0.05  # a common mean direction is anisotropic


def test_isotropy_large_norms_do_not_overflow():
    w = np.vstack([np.eye(3), -np.eye(3)]) * 1000.0
    w[0, 0] = 2000.0
    c = spectrum.isotropy_criteria(w)
    assert 0 <= c["I1"] < 1e-100 and np.isfinite(c["I2"]) and c["I2"] > 0
