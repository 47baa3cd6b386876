"""Self-similarity and intra-sentence similarity (aniso.contextuality) on hand-made inputs."""

import numpy as np
import pytest

from aniso import contextuality as m


def test_self_similarity_is_one_for_a_static_vector_and_matches_its_definition():
    v = np.array([1.0, 2.0, -1.0])
    assert m.self_similarity(np.stack([v, 2 * v, 0.5 * v])) == pytest.approx(1.0)
    occ = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # cosines: (0,1) 0, (0,2) and (1,2) 1/sqrt(2); Definition 1 averages the 6 ordered pairs
    assert m.self_similarity(occ) == pytest.approx((0 + 2 / np.sqrt(2)) / 3)
    with pytest.raises(ValueError):
        m.self_similarity(np.ones((1, 3)))  # one occurrence: no pair


def test_intra_sentence_similarity():
    tokens = np.array([[1.0, 0.0], [0.0, 1.0]])  # mean (0.5, 0.5): cosine 1/sqrt(2) with each
    assert m.intra_sentence_similarity(tokens) == pytest.approx(1 / np.sqrt(2))
    assert m.intra_sentence_similarity(np.array([[3.0, 4.0]])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="sum to zero"):
        m.intra_sentence_similarity(np.array([[1.0, 0.0], [-1.0, 0.0]]))
