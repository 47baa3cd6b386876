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
import torch
from scipy.optimize import linprog


@dataclass
class NegativeDirection:
    """A uniformly negative direction found by :func:`uniformly_negative_direction`. Chapter 1."""

    direction: np.ndarray  # unit vector v with <v, h_i> < 0 for every i
    margin: float  # the LP's optimum t: max over ||v||_inf <= 1 of min_i -<v, h_i/||h_i||>
    worst_cos: float  # max_i cos(v, h_i) (< 0): the hidden state closest to the boundary


def uniformly_negative_direction(h, tol: float = 1e-7) -> NegativeDirection | None:
    """Gao et al. (2019), Theorem 2: a v with ``<v, h_i> < 0`` for all i, or None. Chapter 1.

    The condition only depends on the directions of the h_i, so the rows are scaled
    to unit length, ``u_i = h_i / ||h_i||``, and a linear program
    (``scipy.optimize.linprog``, HiGHS) is solved over (v, t)::

        maximize t  subject to  <v, u_i> + t <= 0 for every i,  -1 <= v_j <= 1

    It is always feasible (v = 0, t = 0). Its optimum t* is the largest margin
    ``min_i -<v, u_i>`` over the box ``||v||_inf <= 1``: t* > 0 exactly when a
    uniformly negative direction exists, i.e. (Theorem 2) when the convex hull of
    the h_i does not contain the origin. The direction is returned only if
    ``t* > tol`` (HiGHS solves to about 1e-7) *and* it passes the exact check
    ``<v, h_i> < 0`` on every row; otherwise ``None``: up to that tolerance the
    origin lies in the hull, and Theorem 1 pushes no word to infinity.
    """
    h = np.asarray(h, dtype=np.float64)
    if h.ndim != 2 or len(h) == 0:
        raise ValueError(f"expected a non-empty (n, d) matrix of hidden states, not {h.shape}")
    n, d = h.shape
    norms = np.linalg.norm(h, axis=1)
    if (norms == 0).any():  # h_i = 0: <v, 0> < 0 is impossible
        return None
    c = np.zeros(d + 1)
    c[-1] = -1.0  # maximize t
    a_ub = np.hstack([h / norms[:, None], np.ones((n, 1))])
    res = linprog(
        c, A_ub=a_ub, b_ub=np.zeros(n), bounds=[(-1, 1)] * d + [(None, None)], method="highs"
    )
    if res.status != 0:
        raise RuntimeError(f"linprog did not finish: {res.message}")
    t, v = float(res.x[-1]), res.x[:-1]
    if t <= tol or not np.any(v):
        return None
    dots = h @ v
    if dots.max() >= 0:  # within the solver's tolerance
        return None
    cos = dots / norms / np.linalg.norm(v)
    return NegativeDirection(v / np.linalg.norm(v), t, float(cos.max()))


def hull_contains_origin(h, tol: float = 1e-7) -> bool:
    """Theorem 2 read the other way: True when no uniformly negative direction exists. Chapter 1."""
    return uniformly_negative_direction(h, tol) is None


@torch.no_grad()
def hidden_states(
    model,
    ids,
    max_tokens: int = 5000,
    batch_size: int = 16,
    bptt: int = 64,
    before_norm: bool = False,
) -> np.ndarray:
    """The final hidden states h_i of a :class:`aniso.lm.TinyLM` on a token stream. Chapter 1.

    The vectors the output embeddings are multiplied with (Gao et al.'s h_i), one per
    position of the first ``max_tokens`` tokens (batchified as in training, the LSTM
    state carried across windows). ``before_norm=True`` returns the LSTM outputs before
    the LayerNorm instead, to test Theorem 2 with and without layer normalization.
    """
    from aniso.lm.model import batchify
    from aniso.util.threads import one_thread

    was = model.training
    model.eval()
    data = batchify(np.asarray(ids)[:max_tokens], batch_size)
    out, state = [], None
    with one_thread():
        for i in range(0, data.shape[1], bptt):
            x = torch.nn.functional.embedding(data[:, i : i + bptt], model.input_embeddings())
            o, state = model.rnn(x, state)
            out.append((o if before_norm else model.norm(o)).reshape(-1, o.shape[-1]))
    model.train(was)
    return torch.cat(out).numpy().astype(np.float64)


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
    return {
        "spectral_radius": rho,
        "sum": total,
        "nonnegative": bool((a >= 0).all()),
        "holds": rho <= total + 1e-9 * max(1.0, abs(total)),
    }


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
    min_cos = min(float((u[i : i + chunk] @ u.T).min()) for i in range(0, n, chunk))
    total = float(s @ s)
    return {
        "lambda_max": lam_max,
        "sum": total,
        "trace": float(n),
        "min_cos": min(min_cos, 1.0),
        "nonnegative": min_cos >= 0,
        "holds": lam_max <= total + 1e-9 * max(1.0, total),
        "cosreg": (total - n) / n**2,
    }
