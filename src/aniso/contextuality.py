"""How contextual token representations are: self-similarity and intra-sentence similarity
(Ethayarajh 2019).

Introduced in chapter "Reproducing the numbers". Both are average cosines, so they inherit the
anisotropy of the space: compare them with the anisotropy baseline, the average cosine of random
tokens (:func:`aniso.metrics.average_cosine`), as Ethayarajh does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .metrics import _as_matrix, average_cosine, paired_cosine

__all__ = ["self_similarity", "intra_sentence_similarity"]


def self_similarity(occurrences: Any) -> float:
    """Self-similarity of one word: the average cosine between its representations in
    different contexts (rows of ``occurrences``, at least two).

    Introduced in chapter "Reproducing the numbers".

    ``SelfSim(w) = 1 / (n^2 - n) sum_j sum_{k != j} cos(f(s_j, i_j), f(s_k, i_k))`` (Ethayarajh
    2019, Definition 1): 1 for a static embedding, lower the more the context changes the
    vector. Compare it with the anisotropy baseline, :func:`average_cosine` of random words.

    Reference: Ethayarajh, K. (2019). How Contextual are Contextualized Word Representations?
    EMNLP-IJCNLP 2019.
    """
    return average_cosine(_as_matrix(occurrences, "occurrences of one word", need_nonzero=True))


def intra_sentence_similarity(tokens: Any) -> float:
    """Intra-sentence similarity: the average cosine between each token of one sentence (rows
    of ``tokens``) and the sentence's mean vector.

    Introduced in chapter "Reproducing the numbers".

    ``IntraSim(s) = 1/n sum_i cos(s_vec, f(s, i))`` with ``s_vec = 1/n sum_i f(s, i)``
    (Ethayarajh 2019, Definition 2).

    Reference: Ethayarajh, K. (2019). How Contextual are Contextualized Word Representations?
    EMNLP-IJCNLP 2019.
    """
    arr = _as_matrix(tokens, "token vectors of one sentence", need_nonzero=True, min_rows=1)
    mean = arr.mean(axis=0, keepdims=True)
    if not np.linalg.norm(mean) > 0:
        raise ValueError("the token vectors sum to zero: the sentence's mean vector has no "
                         "direction, so its cosine with the tokens is undefined")
    return float(paired_cosine(np.repeat(mean, len(arr), axis=0), arr).mean())
