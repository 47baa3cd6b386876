"""Self-similarity and intra-sentence similarity (aniso.evaluation.contextuality) on hand-made
inputs."""

import numpy as np
import pytest

from aniso.evaluation import contextuality as m


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


def _states(n_sentences=12, seed=0):
    """Hand-made token states: 2 layers, d = 3, tokens drawn from a 4-word vocabulary. Layer 0
    is static (each word one fixed vector); in layer 1 every token is the same vector."""
    rng = np.random.default_rng(seed)
    static = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 1.0, 0]])
    out = []
    for _ in range(n_sentences):
        ids = rng.integers(0, 4, size=5)
        states = np.stack([static[ids], np.tile([2.0, -1.0, 0.5], (5, 1))], axis=1)
        out.append((ids, states))
    return out


def test_by_layer_on_hand_made_states():
    r = m.by_layer(_states(), min_contexts=3, n_samples=200)
    # layer 0: a static embedding has self-similarity 1; layer 1: everything coincides
    assert r["self_similarity"] == pytest.approx([1.0, 1.0])
    assert r["baseline"][1] == pytest.approx(1.0)
    assert r["intra_sentence_similarity"][1] == pytest.approx(1.0)
    # layer 0 baseline: random pairs of the four static vectors, cosines 0, 1 or 1/sqrt(2)
    assert 0 < r["baseline"][0] < 1
    with pytest.raises(ValueError, match="no token occurs"):
        m.by_layer(_states(2), min_contexts=5)


def test_token_states_match_one_sentence_at_a_time(tiny_bert):
    import torch

    from aniso.encoders.models import TransformerEncoder

    enc = TransformerEncoder.from_path(str(tiny_bert), "tiny")
    sentences = ["a cat sat on the mat", "dogs bark", "the quick brown fox jumps over it"]
    got = m.token_states(enc, sentences, batch_size=2)  # padding inside the first batch
    assert len(got) == 3
    for s, (ids, states) in zip(sentences, got):
        b = enc.tokenizer(s, return_tensors="pt")
        with torch.no_grad():
            hidden = enc.model(**b, output_hidden_states=True).hidden_states
        want = torch.stack(hidden, dim=2)[0, 1:-1].numpy()  # no [CLS], no [SEP]
        assert ids.tolist() == b["input_ids"][0, 1:-1].tolist()
        assert states.shape == want.shape == (len(ids), 3, 32)
        np.testing.assert_allclose(states, want, atol=1e-5)
