"""Isotropy and geometry metrics of embedding spaces.

Introduced in chapter "The problem" and used throughout.

Every function takes an embedding matrix of shape ``(n, d)`` -- one row per
sentence (or token) -- as a numpy array, anything ``np.asarray`` accepts, or a
torch tensor (converted with ``.detach().cpu().numpy()``).  All arithmetic is
done in float64.  Inputs are checked by one helper, :func:`as_matrix`, which
raises a :class:`ValueError` saying what is wrong and what to do about it.

Metrics
-------
* :func:`cosine_similarity_matrix`, :func:`paired_cosine` -- plain cosines.
* :func:`average_cosine` -- anisotropy as the expected cosine of two random
  embeddings (Ethayarajh 2019).
* :func:`isotropy_mu_viswanath` -- the partition-function ratio I(W)
  (Mu & Viswanath 2018).
* :func:`isoscore` -- IsoScore (Rudman et al. 2022).
* :func:`effective_rank` -- Roy & Vetterli (2007).
* :func:`singular_spectrum` -- normalized singular values (Gao et al. 2019;
  Wang et al. 2020; Gao, Yao & Chen 2021, SimCSE).
* :func:`alignment`, :func:`uniformity` -- Wang & Isola (2020).
* :func:`cosine_contributions` -- each dimension's share of the average cosine
  (Timkey & van Schijndel 2021, rogue dimensions).
* :func:`isotropy_report` -- all of the above in one dict (used by the CLI).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.spatial.distance import pdist
from scipy.special import logsumexp

__all__ = [
    "cosine_similarity_matrix",
    "average_cosine",
    "paired_cosine",
    "isotropy_mu_viswanath",
    "isoscore",
    "effective_rank",
    "singular_spectrum",
    "alignment",
    "uniformity",
    "cosine_contributions",
    "isotropy_report",
    "as_matrix",
]

# Above this many rows, `uniformity` computes the exact all-pairs mean in row
# blocks instead of materialising the full `pdist` vector (n(n-1)/2 floats).
_PDIST_MAX = 5000
_BLOCK_ROWS = 1024


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------
def as_matrix(
    x: Any, name: str = "embeddings", need_nonzero: bool = False, *, min_rows: int = 2
) -> np.ndarray:
    """Return ``x`` as a finite float64 matrix of shape (n, d), or raise ValueError (chapter "The
    problem"; every measure of this module starts with it).

    Torch tensors are converted with ``.detach().cpu().numpy()``.  Checks, in
    order: 2-D, at least ``min_rows`` rows and one column, all values finite,
    and (when ``need_nonzero``) no row of zero norm.
    """
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor, without importing torch
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} could not be converted to a float array ({exc}); "
            "pass a numeric numpy array or torch tensor of shape (n, d)"
        ) from None
    if arr.ndim != 2:
        hint = (
            " (a single vector? use x[None, :] for one row, or stack several rows)"
            if arr.ndim == 1
            else ""
        )
        raise ValueError(
            f"{name} must be a 2-D array of shape (n, d); got {arr.ndim}-D "
            f"array of shape {arr.shape}{hint}"
        )
    n, d = arr.shape
    if n < min_rows:
        raise ValueError(
            f"{name} has {n} row{'s' if n != 1 else ''}; at least {min_rows} "
            f"rows are needed for this statistic; pass more embeddings"
        )
    if d < 1:
        raise ValueError(f"{name} has 0 columns; embeddings need at least one dimension")
    finite = np.isfinite(arr)
    if not finite.all():
        k = int((~finite.all(axis=1)).sum())
        raise ValueError(
            f"{name} contain NaN or infinite values ({k} row{'s' if k != 1 else ''}); "
            "check the encoder output"
        )
    if need_nonzero:
        k = int((np.linalg.norm(arr, axis=1) == 0).sum())
        if k:
            raise ValueError(
                f"{name}: {k} row{'s have' if k != 1 else ' has'} zero norm; cosine "
                f"similarity is undefined for {'them' if k != 1 else 'it'}; drop "
                f"{'them' if k != 1 else 'it'} (often empty or padding-only inputs) "
                "before computing cosine-based metrics"
            )
    return arr


def _unit_rows(arr: np.ndarray) -> np.ndarray:
    """L2-normalize the rows of a validated matrix with no zero rows."""
    return arr / np.linalg.norm(arr, axis=1, keepdims=True)


def _same_shape(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{what} needs two matrices of the same shape (row i of one paired "
            f"with row i of the other); got shapes {a.shape} and {b.shape}"
        )


def _centered(arr: np.ndarray, center: bool) -> np.ndarray:
    return arr - arr.mean(axis=0, keepdims=True) if center else arr


# --------------------------------------------------------------------------
# cosine similarity
# --------------------------------------------------------------------------
def cosine_similarity_matrix(a: Any, b: Any = None) -> np.ndarray:
    """Cosine similarity of every row of ``a`` with every row of ``b``.

    Introduced in chapter "The problem".

    ``cos(a_i, b_j) = a_i . b_j / (||a_i|| ||b_j||)``; returns an (n, m) array.
    With ``b=None`` it is the (n, n) matrix of ``a`` against itself.  One row is
    enough here.  Rows of zero norm raise ValueError.

    Reference: the standard cosine similarity used for sentence embeddings,
    e.g. Reimers & Gurevych (2019), "Sentence-BERT", EMNLP.
    """
    ua = _unit_rows(as_matrix(a, "embeddings a", need_nonzero=True, min_rows=1))
    if b is None:
        ub = ua
    else:
        ub = _unit_rows(as_matrix(b, "embeddings b", need_nonzero=True, min_rows=1))
        if ub.shape[1] != ua.shape[1]:
            raise ValueError(
                f"a and b must have the same dimension d; got shapes {ua.shape} and {ub.shape}"
            )
    return np.clip(ua @ ub.T, -1.0, 1.0)


def paired_cosine(a: Any, b: Any) -> np.ndarray:
    """Row-wise cosine ``cos(a_i, b_i)`` of two matrices of the same shape (n, d).

    Introduced in chapter "The problem" (it is the STS score of a sentence pair).

    ``cos(a_i, b_i) = a_i . b_i / (||a_i|| ||b_i||)``; returns shape (n,).
    Shapes that differ raise ValueError naming both shapes.

    Reference: the cosine-similarity STS protocol of Reimers & Gurevych (2019),
    "Sentence-BERT", EMNLP; also SimCSE (Gao, Yao & Chen 2021, EMNLP).
    """
    ua = as_matrix(a, "embeddings a", need_nonzero=True, min_rows=1)
    ub = as_matrix(b, "embeddings b", need_nonzero=True, min_rows=1)
    _same_shape(ua, ub, "paired_cosine")
    cos = np.einsum("ij,ij->i", _unit_rows(ua), _unit_rows(ub))
    return np.clip(cos, -1.0, 1.0)


def average_cosine(x: Any, n_pairs: int | None = None, seed: int = 0) -> float:
    """Average cosine similarity of two distinct random rows: an anisotropy measure.

    Introduced in chapter "The problem".

    ``A(X) = E_{i != j} cos(x_i, x_j)``.  Near 0 for an isotropic cloud, near 1
    when all embeddings point the same way.  Ethayarajh (2019) uses it as the
    anisotropy baseline of contextual representations.

    * ``n_pairs=None`` (default): exact mean over all n(n-1)/2 pairs i < j.
      With unit rows u_i, ``sum_{i != j} u_i.u_j = ||sum_i u_i||^2 - sum_i ||u_i||^2``,
      i.e. (sum of the Gram matrix minus its trace) / (n(n-1)); computed in
      O(nd) time and memory without forming the Gram matrix, so any n works.
    * ``n_pairs=k``: mean over k ordered pairs (i, j), i != j, drawn uniformly
      with replacement by ``np.random.default_rng(seed)``; deterministic for a
      given seed.

    Reference: Ethayarajh, K. (2019). How Contextual are Contextualized Word
    Representations? Comparing the Geometry of BERT, ELMo, and GPT-2
    Embeddings. EMNLP-IJCNLP 2019.
    """
    u = _unit_rows(as_matrix(x, need_nonzero=True))
    n = u.shape[0]
    if n_pairs is None:
        s = u.sum(axis=0)
        total = float(s @ s) - float(np.einsum("ij,ij->", u, u))
        return float(np.clip(total / (n * (n - 1)), -1.0, 1.0))
    if isinstance(n_pairs, bool) or not isinstance(n_pairs, (int, np.integer)) or n_pairs < 1:
        raise ValueError(f"n_pairs must be a positive integer or None (all pairs); got {n_pairs!r}")
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, size=int(n_pairs))
    j = (i + rng.integers(1, n, size=int(n_pairs))) % n  # uniform over j != i
    cos = np.einsum("ij,ij->i", u[i], u[j])
    return float(np.clip(cos.mean(), -1.0, 1.0))


# --------------------------------------------------------------------------
# isotropy scores
# --------------------------------------------------------------------------
def isotropy_mu_viswanath(x: Any) -> float:
    """Partition-function isotropy I(W) of Mu & Viswanath (2018); 1 = isotropic.

    Introduced in chapter "The problem".

    ``I(W) = min_{c in C} Z(c) / max_{c in C} Z(c)``, ``Z(c) = sum_i exp(c^T w_i)``,
    where C is the set of eigenvectors of ``W^T W`` (the paper's tractable
    approximation of the min/max over all unit vectors c; Eq. 1 and Sec. 2).
    ``log Z(c)`` is computed with logsumexp and the result is
    ``exp(min log Z - max log Z)``, so large norms do not overflow.

    As in the paper, I(W) is computed on the vectors as given -- they are
    *not* centered -- so a common mean vector drives I(W) towards 0.  Values
    depend on the scale of the vectors (exp(c^T w) is not scale-invariant), and
    each eigenvector's sign is the one returned by ``numpy.linalg.eigh`` (the
    paper does not fix it).

    Reference: Mu, J. & Viswanath, P. (2018). All-but-the-Top: Simple and
    Effective Postprocessing for Word Representations. ICLR 2018.
    """
    w = as_matrix(x)
    _, vecs = np.linalg.eigh(w.T @ w)  # columns = eigenvectors c
    # log Z(c) for each c, 64 eigenvectors at a time: w @ vecs for all of them at once takes
    # n x d floats, several times over inside logsumexp (500 MiB for 20,000 x 640)
    log_z = np.concatenate(
        [logsumexp(w @ vecs[:, k : k + 64], axis=0) for k in range(0, vecs.shape[1], 64)]
    )
    return float(np.exp(log_z.min() - log_z.max()))


def isoscore(x: Any) -> float:
    """IsoScore of Rudman et al. (2022): 0 = one dimension used, 1 = isotropic.

    Introduced in chapter "The problem".

    Algorithm (Rudman et al. 2022, Algorithm 1), for points X in R^d:

    1. reorient X by PCA (centered; no dimensions dropped);
    2. variance vector Sigma_D of the reoriented points = eigenvalues of the
       covariance matrix of X;
    3. normalize: ``S = sqrt(d) Sigma_D / ||Sigma_D||`` (so ``||S|| = sqrt(d)``);
    4. isotropy defect ``delta = ||S - 1|| / sqrt(2 (d - sqrt(d)))`` (distance
       from the isotropic diagonal (1, ..., 1), scaled into [0, 1]);
    5. fraction of dimensions used ``phi = (d - delta^2 (d - sqrt(d)))^2 / d^2``;
    6. rescale to [0, 1]: ``IsoScore = (d phi - 1) / (d - 1)``.

    This follows the reference implementation, ``IsoScore.IsoScore.IsoScore``
    of the ``IsoScore`` package 2.0.1, step for step: it takes the covariance
    with ``ddof=1`` (the scale cancels in step 3) and its singular values
    (= the PCA variances). The package agrees with the paper's algorithm; two
    differences are only in precision: the package evaluates ``sqrt(d)`` and
    ``sqrt(2 (d - sqrt(d)))`` in float32 (torch.sqrt of an integer tensor) and
    keeps float32 inputs in float32, whereas this function is float64
    throughout, so the two agree to ~1e-7 in general and to ~1e-12 when those
    constants are exact in float32 (e.g. d = 4 or 81).

    Requires d >= 2 and a non-constant cloud.  With n < d the covariance is
    rank-deficient and IsoScore is biased low (see IsoScore*, Rudman &
    Eickhoff 2023).

    Reference: Rudman, W., Gillman, N., Rayne, T. & Eickhoff, C. (2022).
    IsoScore: Measuring the Uniformity of Embedding Space Utilization.
    Findings of ACL 2022.
    """
    arr = as_matrix(x)
    d = arr.shape[1]
    if d < 2:
        raise ValueError("IsoScore needs at least 2 dimensions (d >= 2); got d = 1")
    cov = np.atleast_2d(np.cov(arr, rowvar=False))  # steps 1-2: PCA variances
    variances = np.linalg.svd(cov, compute_uv=False)
    norm = np.linalg.norm(variances)
    if norm == 0:
        raise ValueError(
            "all rows of embeddings are identical (zero variance); IsoScore is "
            "undefined; pass a non-degenerate point cloud"
        )
    sqrt_d = math.sqrt(d)
    return _isoscore_from_variances(variances, sqrt_d, math.sqrt(2 * (d - sqrt_d)))


def _isoscore_from_variances(variances: np.ndarray, sqrt_d: float, defect_scale: float) -> float:
    """Steps 3-6 of IsoScore from the PCA variance vector (length d, nonzero).

    ``sqrt_d`` and ``defect_scale`` = sqrt(2 (d - sqrt(d))) are passed in so
    that the tests can reproduce the ``IsoScore`` package's float32 constants.
    """
    d = variances.shape[0]
    normalized = variances * sqrt_d / np.linalg.norm(variances)  # step 3
    defect = np.linalg.norm(normalized - 1.0) / defect_scale  # step 4
    phi = (d - defect**2 * (d - sqrt_d)) ** 2 / d**2  # step 5
    return float((d * phi - 1) / (d - 1))  # step 6


# --------------------------------------------------------------------------
# spectrum
# --------------------------------------------------------------------------
def _singular_values(x: Any, center: bool) -> np.ndarray:
    arr = _centered(as_matrix(x), center)
    s = np.linalg.svd(arr, compute_uv=False)
    if s[0] == 0:
        raise ValueError(
            "the (centered) embedding matrix is all zeros (all rows identical); "
            "its spectrum is undefined; use center=False or pass varied embeddings"
        )
    return s


def effective_rank(x: Any, center: bool = True) -> float:
    """Effective rank of Roy & Vetterli (2007): between 1 and min(n, d).

    Introduced in chapter "The problem".

    With singular values s_1, ..., s_k of X (centered over rows when
    ``center=True``), ``p_i = s_i / sum_j s_j`` and
    ``erank(X) = exp(H(p)) = exp(-sum_i p_i log p_i)`` (with 0 log 0 = 0).
    Equals r exactly for r equal nonzero singular values (e.g. the identity).

    Reference: Roy, O. & Vetterli, M. (2007). The effective rank: A measure of
    effective dimensionality. EUSIPCO 2007.
    """
    s = _singular_values(x, center)
    p = s / s.sum()
    p = p[p > 0]
    return float(np.exp(-np.sum(p * np.log(p))))


def singular_spectrum(x: Any, center: bool = True, normalize: bool = True) -> np.ndarray:
    """Singular values of the (centered) embedding matrix, descending.

    Introduced in chapter "The problem".

    ``s_1 >= s_2 >= ... >= s_k``, k = min(n, d), of X (minus its row mean when
    ``center=True``); with ``normalize=True`` divided by ``s_1``, so the first
    value is 1 -- the "normalized singular value" curve of Gao et al. (2019),
    Wang et al. (2020) and SimCSE (Gao, Yao & Chen 2021, Appendix, Fig. F.1).
    A fast decay means the embeddings occupy a narrow cone / few directions.

    References: Gao, J. et al. (2019). Representation Degeneration Problem in
    Training Natural Language Generation Models. ICLR 2019.  Wang, L. et al.
    (2020). Improving Neural Language Generation with Spectrum Control. ICLR
    2020.  Gao, T., Yao, X. & Chen, D. (2021). SimCSE: Simple Contrastive
    Learning of Sentence Embeddings. EMNLP 2021.
    """
    s = _singular_values(x, center)
    return s / s[0] if normalize else s


# --------------------------------------------------------------------------
# alignment and uniformity
# --------------------------------------------------------------------------
def _on_sphere(u: np.ndarray, normalize: bool, what: str) -> np.ndarray:
    """Unit rows: normalized here, or (``normalize=False``) checked, and refused if not unit."""
    if normalize:
        return _unit_rows(u)
    norms = np.linalg.norm(u, axis=1)
    if not np.allclose(norms, 1.0, atol=1e-4):
        raise ValueError(
            f"{what}: the rows are not unit vectors (norms {norms.min():.3g} to "
            f"{norms.max():.3g}), and Wang & Isola define the loss on the "
            "hypersphere: normalize them, or pass normalize=True"
        )
    return u


def alignment(x: Any, y: Any, alpha: float = 2, normalize: bool = True) -> float:
    """Alignment loss of Wang & Isola (2020); 0 = positive pairs coincide.

    Introduced in chapter "The problem".

    ``L_align = E_{(x, y) ~ p_pos} ||f(x) - f(y)||_2^alpha``: row i of ``x`` and
    row i of ``y`` form a positive pair.  Features are L2-normalized inside
    this function (the definition is on the unit hypersphere), so the value
    lies in [0, 2^alpha].  Shapes must match. ``normalize=False`` says the rows
    are unit vectors already and refuses any that are not (computing the loss on
    raw vectors is a common bug; chapter "Reproducing the numbers").

    Reference: Wang, T. & Isola, P. (2020). Understanding Contrastive
    Representation Learning through Alignment and Uniformity on the
    Hypersphere. ICML 2020 (reference code: ``(x - y).norm(p=2, dim=1)
    .pow(alpha).mean()``).
    """
    ux = as_matrix(x, "embeddings x", need_nonzero=True, min_rows=1)
    uy = as_matrix(y, "embeddings y", need_nonzero=True, min_rows=1)
    _same_shape(ux, uy, "alignment")
    if not alpha > 0:
        raise ValueError(f"alpha must be positive; got {alpha!r}")
    dist = np.linalg.norm(
        _on_sphere(ux, normalize, "alignment x") - _on_sphere(uy, normalize, "alignment y"), axis=1
    )
    return float(np.mean(dist**alpha))


def uniformity(
    x: Any, t: float = 2, max_points: int | None = None, seed: int = 0, normalize: bool = True
) -> float:
    """Uniformity loss of Wang & Isola (2020); lower = more uniform on the sphere.

    Introduced in chapter "The problem".

    ``L_uniform = log E_{i != j} exp(-t ||f(x_i) - f(x_j)||_2^2)`` over all
    distinct pairs of rows, on L2-normalized features (normalized inside this
    function).  Ranges from -4t (two antipodal points) to 0 (all identical).
    Computed exactly as ``logsumexp(-t d_ij) - log(#pairs)`` with
    ``scipy.spatial.distance.pdist(..., "sqeuclidean")`` for n <= 5000 and in
    row blocks (still exact, same result) above that.  ``max_points=m``
    first subsamples m rows without replacement using
    ``np.random.default_rng(seed)`` when n > m. ``normalize=False``: as in
    :func:`alignment`, rows that are not unit vectors are refused.

    Reference: Wang, T. & Isola, P. (2020). Understanding Contrastive
    Representation Learning through Alignment and Uniformity on the
    Hypersphere. ICML 2020 (reference code: ``torch.pdist(x, p=2).pow(2)
    .mul(-t).exp().mean().log()``).
    """
    u = _on_sphere(as_matrix(x, need_nonzero=True), normalize, "uniformity")
    if not t > 0:
        raise ValueError(f"t must be positive; got {t!r}")
    if max_points is not None:
        if (
            isinstance(max_points, bool)
            or not isinstance(max_points, (int, np.integer))
            or max_points < 2
        ):
            raise ValueError(f"max_points must be an integer >= 2 or None; got {max_points!r}")
        if u.shape[0] > max_points:
            rng = np.random.default_rng(seed)
            u = u[np.sort(rng.choice(u.shape[0], size=int(max_points), replace=False))]
    n = u.shape[0]
    n_pairs = n * (n - 1) // 2
    if n <= _PDIST_MAX:
        return float(logsumexp(-t * pdist(u, "sqeuclidean")) - math.log(n_pairs))
    # exact all-pairs value in row blocks: ||u_i - u_j||^2 = 2 - 2 u_i.u_j
    parts = []
    for start in range(0, n - 1, _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, n - 1)
        d2 = np.maximum(2.0 - 2.0 * (u[start:stop] @ u.T), 0.0)
        rows = np.arange(start, stop)[:, None]
        mask = np.arange(n)[None, :] > rows  # pairs i < j only
        parts.append(logsumexp(-t * d2[mask]))
    return float(logsumexp(parts) - math.log(n_pairs))


# --------------------------------------------------------------------------
# rogue dimensions
# --------------------------------------------------------------------------
def cosine_contributions(x: Any) -> np.ndarray:
    """Each dimension's contribution to the average cosine: a ``(d,)`` array summing to
    :func:`average_cosine` ``(x)``.

    Introduced in chapter "Reproducing the numbers".

    With unit rows u_i, ``cos(x_i, x_j) = sum_k u_ik u_jk``, so the average cosine over pairs
    splits into one term per dimension, ``CC_k = E_{i != j} u_ik u_jk`` (Timkey & van Schijndel
    2021, who average over a random sample of pairs; here: exactly, over all n(n-1) ordered
    pairs, in O(nd)). A "rogue" dimension has ``CC_k`` far above the ``average_cosine / d`` of
    an even share.

    Reference: Timkey, W. & van Schijndel, M. (2021). All Bark and No Bite: Rogue Dimensions in
    Transformer Language Models Obscure Representational Quality. EMNLP 2021.
    """
    u = _unit_rows(as_matrix(x, need_nonzero=True))
    n = u.shape[0]
    s = u.sum(axis=0)
    return (s * s - np.einsum("ij,ij->j", u, u)) / (n * (n - 1))


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------
def isotropy_report(
    x: Any, pairs: tuple[Any, Any] | None = None, *, uniformity_max_points: int | None = None
) -> dict[str, float]:
    """All isotropy metrics of one embedding matrix, as a dict of floats (used by the CLI).

    Introduced in chapter "The problem".

    Keys: ``average_cosine`` (exact, all pairs; Ethayarajh 2019),
    ``isoscore`` (Rudman et al. 2022), ``effective_rank`` (centered; Roy &
    Vetterli 2007) and ``i_w`` (I(W) = min_c Z(c) / max_c Z(c); Mu &
    Viswanath 2018).  When ``pairs=(a, b)`` -- two (m, d) matrices whose rows
    are positive pairs -- also ``alignment`` (E||a_i - b_i||^2 on unit
    vectors) of the pairs and ``uniformity`` (log E exp(-2||x_i - x_j||^2))
    of ``x`` (Wang & Isola 2020); ``uniformity_max_points`` subsamples x for
    the uniformity term (seed 0).

    See the individual functions for formulas and references.
    """
    arr = as_matrix(x)
    report = {
        "average_cosine": average_cosine(arr),
        "isoscore": isoscore(arr),
        "effective_rank": effective_rank(arr),
        "i_w": isotropy_mu_viswanath(arr),
    }
    if pairs is not None:
        if not (isinstance(pairs, (tuple, list)) and len(pairs) == 2):
            raise ValueError(
                "pairs must be a tuple (a, b) of two (m, d) matrices of positive-pair embeddings"
            )
        a, b = pairs
        report["alignment"] = alignment(a, b)
        report["uniformity"] = uniformity(arr, max_points=uniformity_max_points)
    return report
