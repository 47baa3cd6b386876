"""Spectrum control as Wang et al. (2020) publish it, and their isotropy criteria. Chapter 2.

Wang, L., Huang, J., Huang, K., Hu, Z., Wang, G. & Gu, Q. (2020). Improving Neural
Language Generation with Spectrum Control. ICLR 2020. Section and equation numbers
below are the paper's (equations are numbered by section: Eq. (4.1) is the
reparameterized softmax ``W = U Sigma V^T``).

* :func:`orthogonality_regularizer` -- Section 4.1, the four-term penalty that keeps
  U and V orthonormal (Frobenius and spectral-norm errors, lambda_1..lambda_4).
* :func:`spectrum_prior` -- Section 4.2, the two prior families:
  exponential ``c1 exp(-c2 k^gamma)`` and polynomial ``c1 k^(-gamma)``, k = 1..d.
* :func:`prior_scale` -- how *this book* chooses c1 (the paper reports none of
  c1, c2, gamma; see :data:`BOOK_PRIORS`).
* :func:`singular_value_regularizer` -- Section 4.2, ``R_e`` / ``R_p``:
  ``lambda sum_k (sigma_k - prior_k)^2``.
* :func:`isotropy_i1`, :func:`isotropy_i2`, :func:`isotropy_criteria` -- Section 5.1,
  I1(W) and I2(W) on ``Z(a) = sum_i exp(<w_i, a>)`` over the eigenvectors a of
  ``W^T W``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import logsumexp

PRIOR_KINDS = ("exponential", "polynomial")

# The book's choice of the prior's shape (the paper does not report c2 or gamma).
# Both decay slowly enough that the last of the d = 64 singular values keeps a fair
# share of the first: exp(-0.05 * 63) = 0.043 and 64^(-1/2) = 0.125 -- slower than
# the tiny MLE model's own spectrum, which is the paper's point (Section 4.2:
# "larger gamma means faster decay"). c1 is not a constant: see prior_scale().
BOOK_PRIORS = {
    "exponential": {"c2": 0.05, "gamma": 1.0},
    "polynomial": {"c2": 0.0, "gamma": 0.5},
}


def _sym_error(m: torch.Tensor) -> torch.Tensor:
    return m.T @ m - torch.eye(m.shape[1], dtype=m.dtype, device=m.device)


def orthogonality_regularizer(
    u: torch.Tensor, v: torch.Tensor, lambdas=(1.0, 1.0, 1.0, 1.0)
) -> torch.Tensor:
    """Wang et al. (2020), Section 4.1: the orthogonality penalty on U and V. Chapter 2.

    ``lambda_1 ||U^T U - I||_F^2 + lambda_2 ||V^T V - I||_F^2
    + lambda_3 ||U^T U - I||_2^2 + lambda_4 ||V^T V - I||_2^2``,
    with ``||.||_F`` the Frobenius norm and ``||.||_2`` the spectral norm (the largest
    singular value; for these symmetric matrices the largest absolute eigenvalue).
    The paper takes the four terms from Jiang et al. (2019) and searches each lambda
    in {0.01, 0.1, 1, 10} (Section 5.1). It is 0 exactly when U and V have
    orthonormal columns.
    """
    l1, l2, l3, l4 = (float(x) for x in lambdas)
    eu, ev = _sym_error(u), _sym_error(v)
    total = l1 * (eu**2).sum() + l2 * (ev**2).sum()
    if l3:
        total = total + l3 * torch.linalg.eigvalsh(eu).abs().max() ** 2
    if l4:
        total = total + l4 * torch.linalg.eigvalsh(ev).abs().max() ** 2
    return total


def spectrum_prior(
    d: int, kind: str = "polynomial", c1: float = 1.0, c2: float = 1.0, gamma: float = 0.5
) -> np.ndarray:
    """Wang et al. (2020), Section 4.2: the prior singular values for k = 1..d. Chapter 2.

    ``exponential`` (the family P_e(gamma)): ``c1 exp(-c2 k^gamma)``;
    ``polynomial`` (P_p(gamma)): ``c1 k^(-gamma)`` (c2 is not used).
    Larger gamma means faster decay. The paper reports neither c1, c2 nor gamma;
    the book's shapes are :data:`BOOK_PRIORS` and its c1 is :func:`prior_scale`.
    """
    k = np.arange(1, d + 1, dtype=np.float64)
    if kind == "exponential":
        return c1 * np.exp(-c2 * k**gamma)
    if kind == "polynomial":
        return c1 * k ** (-gamma)
    raise ValueError(f"kind must be one of {PRIOR_KINDS}, got {kind!r}")


def prior_scale(frobenius: float, d: int, kind: str, c2: float, gamma: float) -> float:
    """The book's c1: the scale at which the prior has the given Frobenius norm. Chapter 2.

    ``sqrt(sum_k sigma_k^2)`` is the Frobenius norm of ``U Sigma V^T`` when U and V
    are orthonormal, so with this c1 a matrix whose spectrum *is* the prior has the
    Frobenius norm of the model's random initial embedding matrix
    (``sqrt(N d / 3) * init_range`` for uniform entries): the penalty shapes the
    spectrum without shrinking or inflating the matrix as a whole.
    """
    p = spectrum_prior(d, kind, 1.0, c2, gamma)
    return float(frobenius / np.linalg.norm(p))


def singular_value_regularizer(sigma: torch.Tensor, prior, lam: float = 1.0) -> torch.Tensor:
    """Wang et al. (2020), Section 4.2: ``lambda sum_k (sigma_k - prior_k)^2``. Chapter 2.

    With the exponential prior this is R_e (weight lambda_e), with the polynomial
    one R_p (lambda_p); the paper's grid for both is {0.1, 1, 10, 100}. ``prior`` is
    the vector of :func:`spectrum_prior` values; sigma_k is the k-th largest singular
    value, so the entries of ``sigma`` are sorted by magnitude before the comparison.
    """
    s = torch.sort(sigma.abs(), descending=True).values
    p = torch.as_tensor(np.asarray(prior), dtype=s.dtype, device=s.device)
    return lam * ((s - p) ** 2).sum()


# --------------------------------------------------------------------------
# isotropy criteria (Section 5.1)
# --------------------------------------------------------------------------
def _log_z(w) -> np.ndarray:
    w = np.asarray(w, dtype=np.float64)
    _, vecs = np.linalg.eigh(w.T @ w)  # columns: the eigenvectors a of W^T W
    return logsumexp(w @ vecs, axis=0)  # log Z(a) = log sum_i exp(<w_i, a>)


def isotropy_i1(w) -> float:
    """Wang et al. (2020), Section 5.1: ``I1(W) = min_a Z(a) / max_a Z(a)``. Chapter 2.

    1 = isotropic, 0 = all mass on one side.

    ``Z(a) = sum_i exp(<w_i, a>)`` (Arora et al. 2016) over the eigenvectors a of
    ``W^T W`` (as Mu & Viswanath 2018, whose I(W) this is:
    :func:`aniso.geometry.metrics.isotropy_mu_viswanath`). Computed in log space. Each
    eigenvector's sign is the one ``numpy.linalg.eigh`` returns (the paper does not fix it).
    """
    lz = _log_z(w)
    return float(math.exp(lz.min() - lz.max()))


def isotropy_i2(w) -> float:
    """Wang et al. (2020), Section 5.1: I2(W), the relative spread of Z(a). Chapter 2.

    0 = isotropic.

    ``I2(W) = sqrt( sum_a (Z(a) - Zbar)^2 / (|E| Zbar^2) )``, Zbar the mean of Z(a) over
    the set E of eigenvectors of ``W^T W``: the standard deviation of Z(a) divided by its
    mean. It does not change when every Z(a) is multiplied by one constant, so it is
    computed from ``Z(a) / max_a Z(a)`` (no overflow).
    """
    lz = _log_z(w)
    z = np.exp(lz - lz.max())
    return float(np.sqrt(((z - z.mean()) ** 2).sum() / (len(z) * z.mean() ** 2)))


def isotropy_criteria(w) -> dict:
    """Both criteria of Wang et al. (2020), Section 5.1: ``{"I1": ..., "I2": ...}``. Chapter 2."""
    lz = _log_z(w)
    z = np.exp(lz - lz.max())
    return {
        "I1": float(z.min()),
        "I2": float(np.sqrt(((z - z.mean()) ** 2).sum() / (len(z) * z.mean() ** 2))),
    }
