"""Gao et al.'s (2019) theorems as experiments. Chapter 1.

Gao, J., He, D., Tan, X., Qin, T., Wang, L. & Liu, T.-Y. (2019). Representation
Degeneration Problem in Training Natural Language Generation Models. ICLR 2019.

* :func:`uniformly_negative_direction` -- Definition 1 and Theorem 2 (Section 4.1):
  a direction v with ``<v, h_i> < 0`` for every hidden state h_i exists if and only if
  the convex hull of the h_i does not contain the origin. Found (or refuted) as a
  linear-programming feasibility problem. By Theorem 1 (B), along such a direction the
  likelihood of a word that is never a target keeps improving as its embedding moves
  out to infinity.
* :func:`merikoski` and :func:`cosine_gram_bound` -- Theorem 4 of Section 5 (Merikoski
  1984): the spectral radius of a non-negative matrix is at most the sum of its
  entries. Gao et al. apply it to the row-normalized Gram matrix ``W-hat W-hat^T``
  (entries: the cosines of word pairs) to motivate MLE-CosReg.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog


@dataclass
class NegativeDirection:
    """A uniformly negative direction found by :func:`uniformly_negative_direction`. Chapter 1."""
    direction: np.ndarray   # unit vector v
    margin: float           # min_i -<v, h_i> (> 0): how far the hidden states stay on the negative side
    worst_cos: float        # max_i cos(v, h_i) (< 0)


def uniformly_negative_direction(h, bound: float = 1e4) -> NegativeDirection | None:
    """Gao et al. (2019), Theorem 2: a v with ``<v, h_i> < 0`` for all i, or None. Chapter 1.

    Solves the feasibility problem ``<v, h_i> <= -1`` for all rows h_i of ``h``, with
    ``-bound <= v_j <= bound`` (``scipy.optimize.linprog``, HiGHS). The constraint
    ``<= -1`` rather than ``< 0`` loses nothing (any uniformly negative v can be
    scaled up) except directions whose margin is tiny: a direction is found if one
    exists with ``min_i -<v, h_i> >= ||v||_inf / bound``. ``None`` means the LP is
    infeasible: (up to that margin) the origin lies in the convex hull of the h_i
    (Theorem 2), and no word is pushed to infinity by Theorem 1.
    """
    h = np.asarray(h, dtype=np.float64)
    if h.ndim != 2 or len(h) == 0:
        raise ValueError(f"expected a non-empty (n, d) matrix of hidden states, got shape {h.shape}")
    d = h.shape[1]
    res = linprog(np.zeros(d), A_ub=h, b_ub=-np.ones(len(h)), bounds=[(-bound, bound)] * d,
                  method="highs")
    if res.status == 2:          # infeasible
        return None
    if res.status != 0:
        raise RuntimeError(f"linprog did not finish: {res.message}")
    v = res.x / np.linalg.norm(res.x)
    dots = h @ v
    cos = dots / np.maximum(np.linalg.norm(h, axis=1), 1e-300)
    return NegativeDirection(v, float(-dots.max()), float(cos.max()))


def hull_contains_origin(h, bound: float = 1e4) -> bool:
    """Theorem 2 read the other way: True when no uniformly negative direction exists. Chapter 1."""
    return uniformly_negative_direction(h, bound) is None


def merikoski(a) -> dict:
    """Merikoski's inequality (Gao et al. 2019, Theorem 4) on one square matrix. Chapter 1.

    For a matrix with non-negative entries the spectral radius is at most the sum of
    the entries. Returns ``{"spectral_radius", "sum", "nonnegative", "holds"}``;
    ``holds`` is ``spectral_radius <= sum`` (up to rounding). The inequality is only
    promised when ``nonnegative`` is True.
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {a.shape}")
    rho = float(np.abs(np.linalg.eigvals(a)).max())
    total = float(a.sum())
    return {"spectral_radius": rho, "sum": total, "nonnegative": bool((a >= 0).all()),
            "holds": rho <= total + 1e-9 * max(1.0, abs(total))}


def cosine_gram_bound(w, chunk: int = 2048) -> dict:
    """Merikoski's inequality where Gao et al. use it: on ``A = W-hat W-hat^T``. Chapter 1.

    ``W-hat`` has the rows of W scaled to unit length, so A's entries are the cosines of
    all word pairs, its diagonal is 1 and its trace (= the sum of its eigenvalues) is N.
    Its largest eigenvalue is ``sigma_1(W-hat)^2`` and the sum of its entries
    ``||sum_i w-hat_i||^2`` -- the cosine regularizer R plus N (Section 5). The bound
    ``lambda_max(A) <= Sum(A)`` is promised only when every cosine is non-negative
    (``min_cos >= 0``, the narrow cone); it says nothing about the unnormalized W, whose
    row norms (and so I(W)) it ignores. Computed in O(N d) plus a chunked pass for
    the smallest cosine, never forming the N x N matrix.
    """
    w = np.asarray(w, dtype=np.float64)
    u = w / np.linalg.norm(w, axis=1, keepdims=True)
    n = len(u)
    s = u.sum(0)
    lam_max = float(np.linalg.svd(u, compute_uv=False)[0] ** 2)
    min_cos = min(float((u[i:i + chunk] @ u.T).min()) for i in range(0, n, chunk))
    total = float(s @ s)
    return {"lambda_max": lam_max, "sum": total, "trace": float(n), "min_cos": min(min_cos, 1.0),
            "nonnegative": min_cos >= 0, "holds": lam_max <= total + 1e-9 * max(1.0, total),
            "cosreg": (total - n) / n**2}
