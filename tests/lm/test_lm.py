"""Tests of aniso.lm.model and aniso.encoders.gguf: pinned regularizer values, the SVD
reparameterization, perplexity, determinism, corpus building, GGUF reading."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from aniso.encoders import gguf as real_lm
from aniso.geometry import metrics
from aniso.lm import model as lm
from aniso.lm import parallel, spectrum


# --------------------------------------------------------------------------
# regularizers on hand-made matrices
# --------------------------------------------------------------------------
def test_cosine_regularizer_orthogonal_is_zero():
    assert lm.cosine_regularizer(torch.eye(2)).item() == pytest.approx(0.0, abs=1e-7)


def test_cosine_regularizer_equal_vectors():
    w = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    r = lm.cosine_regularizer(w).item()
    assert r == pytest.approx(0.5)  # (1/N^2) * 2 ordered pairs * cos 1
    assert r * 2 / (2 - 1) == pytest.approx(1.0)  # = 1 before the (N-1)/N scaling: the mean cosine


def test_cosine_regularizer_three_vectors_by_hand():
    # cos(w1,w2) = 0, cos(w1,w3) = 1/sqrt2, cos(w2,w3) = 1/sqrt2; scale must not matter
    w = torch.tensor([[2.0, 0.0], [0.0, 3.0], [5.0, 5.0]], dtype=torch.float64)
    expected = 2 * (0 + 2 / math.sqrt(2)) / 9
    assert lm.cosine_regularizer(w).item() == pytest.approx(expected, rel=1e-12)
    # and it is (N-1)/N times the book's average cosine
    assert expected == pytest.approx(2 / 3 * metrics.average_cosine(w.numpy()), rel=1e-12)


def test_portable_uniform_is_a_rounded_float64_draw():
    """The initialisation of every tiny LM: torch's float64 sampler, scaled in float64 and
    rounded once to float32 (the same bits with every CPU kernel, unlike float32 uniform_)."""
    torch.manual_seed(3)
    w = lm.portable_uniform((4, 3), 0.1)
    torch.manual_seed(3)
    u = torch.rand(4, 3, dtype=torch.float64).numpy()
    assert w.dtype == torch.float32
    np.testing.assert_array_equal(w.numpy(), (u * 0.2 - 0.1).astype(np.float32))
    assert float(w.abs().max()) <= 0.1


def test_canonical_svd_reproduces_w_with_scikit_learns_signs():
    from sklearn.utils.extmath import svd_flip

    w = lm.portable_uniform((40, 6), 0.1)
    u, s, vt = lm.canonical_svd(w)
    assert u.dtype == s.dtype == vt.dtype == torch.float32
    np.testing.assert_allclose((u * s) @ vt, w, atol=1e-6)
    ref_u, ref_s, ref_vt = np.linalg.svd(w.double().numpy(), full_matrices=False)
    ref_u, ref_vt = svd_flip(ref_u, ref_vt)  # the column of U with the largest |entry| > 0
    np.testing.assert_allclose(u, ref_u, atol=1e-6)
    np.testing.assert_allclose(vt, ref_vt, atol=1e-6)
    np.testing.assert_allclose(s, ref_s, rtol=1e-6)
    # a flipped input flips no sign of the output's convention: U's largest entries stay > 0
    u2, _, _ = lm.canonical_svd(-w)
    assert (u2[u2.abs().argmax(0), torch.arange(6)] > 0).all()


def test_svd_reparameterization_reproduces_matrix():
    w0 = torch.randn(50, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    e = lm.SVDEmbedding(w0)
    assert torch.allclose(e.weight(), w0, atol=1e-6)
    assert spectrum.orthogonality_regularizer(e.u, e.v).item() < 1e-20
    # with prescribed singular values: same singular vectors, the new spectrum
    e2 = lm.SVDEmbedding(w0, sigma0=torch.arange(8, 0, -1, dtype=torch.float64))
    np.testing.assert_allclose(
        torch.linalg.svdvals(e2.weight()).detach().numpy(), np.arange(8, 0, -1), atol=1e-9
    )


# --------------------------------------------------------------------------
# model, perplexity, training
# --------------------------------------------------------------------------
def test_perplexity_uniform_model_is_vocab_size():
    model = lm.TinyLM(7, dim=4)
    with torch.no_grad():
        model.emb_weight.zero_()
        model.bias.zero_()
    assert lm.perplexity(model, np.arange(41) % 7, batch_size=2, bptt=5) == pytest.approx(
        7.0, rel=1e-6
    )


def test_perplexity_is_exp_mean_nll():
    # zero embeddings: P(j) = softmax(bias); ids 0,1,0,1,... -> targets alternate 1,0,...
    model = lm.TinyLM(3, dim=4)
    p = np.array([0.5, 0.3, 0.2])
    with torch.no_grad():
        model.emb_weight.zero_()
        model.bias.copy_(torch.tensor(np.log(p)))
    ids = np.array([0, 1, 0, 1, 0])  # one stream: targets 1, 0, 1, 0
    expected = math.exp(-(2 * math.log(0.3) + 2 * math.log(0.5)) / 4)
    assert lm.perplexity(model, ids, batch_size=1, bptt=3) == pytest.approx(expected, rel=1e-6)


def test_untied_model_has_separate_matrices():
    tied, untied = lm.TinyLM(20, dim=4), lm.TinyLM(20, dim=4, tied=False)
    assert tied.output_embeddings() is tied.input_embeddings()
    assert untied.output_embeddings() is not untied.input_embeddings()
    assert untied.out_weight.shape == untied.emb_weight.shape == (20, 4)
    n_tied = sum(p.numel() for p in tied.parameters())
    assert sum(p.numel() for p in untied.parameters()) == n_tied + 20 * 4


def _toy_corpus(n=3000, vocab=30, seed=0):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(vocab - 2)]
    probs = 1 / np.arange(1, vocab - 1)
    ids = rng.choice(vocab - 2, size=n, p=probs / probs.sum()) + 2
    return lm.Corpus(
        ["<unk>", "<eos>", *words],
        np.bincount(ids, minlength=vocab),
        ids,
        ids[:500],
        ("toy",),
        "toy",
    )


@pytest.mark.parametrize("reg", ["mle", "cosreg", "spectrum"])
def test_training_is_deterministic(reg, tmp_path):
    corpus = _toy_corpus()
    cfg = lm.TrainConfig(
        dim=8, steps=4, batch_size=4, bptt=8, snapshot_every=2, eval_tokens=0, reg=reg
    )
    a = lm.train_lm(corpus, cfg, progress=False, cache=False)
    b = lm.train_lm(corpus, cfg, progress=False, cache=False)
    assert [h["nll"] for h in a.history] == [h["nll"] for h in b.history]
    assert a.test_ppl == b.test_ppl
    assert sorted(a.snapshots) == [0, 2, 4]
    assert not np.array_equal(a.snapshots[0], a.snapshots[4])  # it did learn
    c = lm.train_lm(corpus, replace(cfg, seed=1), progress=False, cache=False)
    assert c.history[0]["nll"] != a.history[0]["nll"]


def test_training_cache_round_trip(tmp_path):
    corpus = _toy_corpus()
    cfg = lm.TrainConfig(
        dim=8, steps=3, batch_size=4, bptt=8, snapshot_every=1, eval_tokens=0, tied=False
    )
    a = lm.train_lm(corpus, cfg, progress=False, cache_dir=tmp_path)
    b = lm.train_lm(corpus, cfg, progress=False, cache_dir=tmp_path)  # loaded, not trained
    assert len(list(tmp_path.glob("*.pt"))) == 1
    assert a.test_ppl == b.test_ppl and a.history == b.history
    np.testing.assert_array_equal(a.out_snapshots[3], b.out_snapshots[3])
    np.testing.assert_array_equal(b.model.out_weight.detach().numpy(), a.out_snapshots[3])


def test_target_counts_match_training_windows():
    corpus = _toy_corpus()
    cfg = lm.TrainConfig(steps=5, batch_size=4, bptt=8)
    counts = lm.target_counts(corpus, cfg)
    assert counts.sum() == 5 * 4 * 8
    data = lm.batchify(corpus.train, 4).numpy()
    assert counts[data[0, 1]] >= 1


def test_prior_initialisation_and_penalty_follow_the_paper_form():
    # exponential: sigma0 = c1 exp(-c2 k^gamma) with the book's c2, gamma and c1 = prior_scale
    cfg = lm.TrainConfig(dim=8, reg="spectrum", prior="exponential")
    model = lm.make_model(30, cfg)
    shape = spectrum.BOOK_PRIORS["exponential"]
    frob = math.sqrt(30 * 8 / 3) * 0.1
    c1 = spectrum.prior_scale(frob, 8, "exponential", shape["c2"], shape["gamma"])
    want = spectrum.spectrum_prior(8, "exponential", c1, shape["c2"], shape["gamma"])
    np.testing.assert_allclose(model.emb.sigma.detach().numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(lm.prior_values(30, cfg), want, rtol=1e-12)
    # at the start the penalty is zero (U, V from an exact SVD, sigma at the prior) ...
    assert lm.regularizer(model, cfg).item() == pytest.approx(0.0, abs=1e-8)
    # ... and it is lambda_sv times the squared gap when sigma moves
    with torch.no_grad():
        model.emb.sigma[0] += 0.5
    assert lm.regularizer(model, replace(cfg, lambda_sv=10.0)).item() == pytest.approx(
        2.5, rel=1e-4
    )
    # "svd": the singular values of the random initialisation
    svd = lm.make_model(30, replace(cfg, sigma_init="svd"))
    w0 = lm.make_model(30, replace(cfg, reg="mle")).emb_weight.detach()
    np.testing.assert_allclose(
        svd.emb.sigma.detach().numpy(), torch.linalg.svdvals(w0).numpy(), rtol=1e-5
    )


def test_paper_profile_builds():
    cfg = lm.PROFILES["paper"]["config"]
    model = lm.make_model(100, replace(cfg, steps=1))
    logits, _ = model(torch.zeros(2, 5, dtype=torch.long))
    assert logits.shape == (2, 5, 100) and model.rnn.num_layers == 3


# --------------------------------------------------------------------------
# corpus and GGUF
# --------------------------------------------------------------------------
def test_tokenize():
    assert lm.tokenize("The 2006 co @-@ star 's <unk> .", "wikitext") == [
        "the",
        "2006",
        "co",
        "-",
        "star",
        "'s",
        "<unk>",
        ".",
    ]
    assert lm.tokenize("Don't stop!") == ["don", "'t", "stop", "!"]


def test_build_corpus_small(data_dir):
    c = lm.build_corpus(500, train_sources=("wikitext2-valid",), data_dir=data_dir)
    assert len(c.vocab) == 500 and c.vocab[:2] == ["<unk>", "<eos>"]
    assert c.counts.sum() == len(c.train) and (c.counts[3:] <= c.counts[2:-1]).all()
    assert c.test.max() < 500 and len(c.test) > 100000


def test_read_gguf_tensor_round_trip(tmp_path):
    gguf = pytest.importorskip("gguf")
    from gguf.quants import quantize

    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 64)).astype(np.float32)
    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_token_list([f"t{i}" for i in range(6)])
    q = quantize(w, gguf.GGMLQuantizationType.Q8_0)
    writer.add_tensor("token_embd.weight", q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    got, tokens, meta = real_lm.read_gguf_tensor(path)
    assert tokens == [f"t{i}" for i in range(6)] and meta["tensors"] == ["token_embd.weight"]
    np.testing.assert_allclose(got, w, atol=np.abs(w).max() / 127)  # Q8_0 precision
    sub, _, _ = real_lm.read_gguf_tensor(path, rows=[4, 1])
    np.testing.assert_array_equal(sub, got[[4, 1]])
    # decoded lazily, a block of rows at a time: the same rows, whatever the block size
    lazy, _, _ = real_lm.read_gguf_tensor(path, lazy=True)
    assert len(lazy) == 6 and lazy.shape == (6, 64) and lazy.dtype == np.float32
    np.testing.assert_array_equal(lazy[[4, 1]], got[[4, 1]])
    np.testing.assert_array_equal(lazy[2], got[2])
    np.testing.assert_array_equal(np.asarray(lazy), got)
    real_lm.DECODE_ROWS, saved = 4, real_lm.DECODE_ROWS
    try:
        np.testing.assert_array_equal(lazy[1:6], got[1:6])  # two blocks: rows 1-4 and 5
    finally:
        real_lm.DECODE_ROWS = saved


def test_train_many_matches_train_lm(tmp_path):
    corpus = _toy_corpus()
    cfgs = [
        lm.TrainConfig(
            dim=8, steps=3, batch_size=4, bptt=8, snapshot_every=3, eval_tokens=0, seed=s, reg=r
        )
        for s, r in [(0, "mle"), (1, "mle"), (0, "spectrum")]
    ]
    many = parallel.train_many(corpus, cfgs, workers=2, cache_dir=tmp_path / "a")
    single = [lm.train_lm(corpus, c, progress=False, cache=False) for c in cfgs]
    assert [r.test_ppl for r in many] == [r.test_ppl for r in single]
    np.testing.assert_array_equal(many[2].snapshots[3], single[2].snapshots[3])
    assert len(list((tmp_path / "a").glob("*.pt"))) == 3


def test_train_many_keeps_every_snapshot_only_where_asked(tmp_path):
    corpus = _toy_corpus()
    cfgs = [
        lm.TrainConfig(
            dim=8, steps=4, batch_size=4, bptt=8, snapshot_every=1, eval_tokens=0, seed=s, tied=t
        )
        for s, t in [(0, True), (1, True), (1, False)]
    ]
    full = parallel.train_many(corpus, cfgs, workers=1, cache_dir=tmp_path)
    kept = parallel.train_many(
        corpus, cfgs, workers=1, cache_dir=tmp_path, all_snapshots=lambda c: c.seed == 0
    )
    assert sorted(kept[0].snapshots) == [0, 1, 2, 3, 4] == sorted(full[1].snapshots)
    assert sorted(kept[1].snapshots) == [0, 4] and sorted(kept[2].out_snapshots) == [0, 4]
    for k in (0, 4):
        np.testing.assert_array_equal(kept[1].snapshots[k], full[1].snapshots[k])
        np.testing.assert_array_equal(kept[2].out_snapshots[k], full[2].out_snapshots[k])
    assert [r.test_ppl for r in kept] == [r.test_ppl for r in full]
