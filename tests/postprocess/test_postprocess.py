"""Post-processors of chapter "BERT-flow and its rivals" against independent computations."""

import hashlib
import json

import numpy as np
import pytest
import torch

from aniso.encoders.models import Encoder
from aniso.experiments import cli
from aniso.postprocess.flow import GlowFlow
from aniso.postprocess.transforms import (
    AllButTheTop,
    Center,
    Flow,
    Standardize,
    Whitening,
    fit_on_sentences,
    load,
    make_postprocessor,
    target_sentences,
)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny tensors: one thread is fastest, and immune to other processes competing for cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _anisotropic(n=400, d=8, seed=0):
    """Correlated, shifted Gaussian data: a narrow, off-centre cloud."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(d, d)) * np.linspace(3, 0.2, d)
    return rng.normal(size=(n, d)) @ a + 5.0


class HashEncoder(Encoder):
    """Deterministic pseudo-embeddings from a hash of each sentence (no model)."""

    name = "hash"
    poolings = ("mean",)

    def __init__(self, d=6):
        self.d = d
        self.mix = np.random.default_rng(1).normal(size=(d, d)) + 2 * np.eye(d)

    def fingerprint(self):
        return f"hash-{self.d}"

    def _encode(self, sentences, pooling, batch_size, show_progress):
        rows = [
            np.frombuffer(hashlib.sha256(s.encode()).digest()[: self.d], np.uint8)
            for s in sentences
        ]
        return (np.asarray(rows, float) / 255.0) @ self.mix + 1.0


# ----------------------------------------------------------------------------- whitening
def test_whitening_gives_identity_covariance_on_fit_data():
    x = _anisotropic()
    y = Whitening().fit_transform(x)
    assert np.abs(y.mean(0)).max() < 1e-10
    assert np.abs(y.T @ y / len(y) - np.eye(8)).max() < 1e-8


def test_whitening_matches_su_et_al_formula():
    x = _anisotropic(seed=3)
    mu = x.mean(0)
    u, s, _ = np.linalg.svd(np.cov(x.T, bias=True))
    w = Whitening().fit(x)
    y_ref = (x - mu) @ (u / np.sqrt(s))
    # equal up to the sign of each column (SVD signs are arbitrary)
    signs = np.sign(np.sum(y_ref * w.transform(x), axis=0))
    np.testing.assert_allclose(w.transform(x), y_ref * signs, atol=1e-9)


def test_whitening_is_invariant_to_the_order_of_fit_rows():
    x = _anisotropic(seed=1)
    perm = np.random.default_rng(5).permutation(len(x))
    a, b = Whitening().fit(x), Whitening().fit(x[perm])
    np.testing.assert_allclose(a.transform(x), b.transform(x), atol=1e-10)
    np.testing.assert_allclose(
        Whitening(k=3).fit(x).transform(x), Whitening(k=3).fit(x[perm]).transform(x), atol=1e-10
    )


def test_whitening_is_invariant_to_the_order_of_fit_sentences(tmp_path, monkeypatch):
    monkeypatch.setenv("ANISO_CACHE_DIR", str(tmp_path))
    enc = HashEncoder()
    sentences = [f"sentence number {i}" for i in range(60)]
    shuffled = [sentences[i] for i in np.random.default_rng(0).permutation(60)]
    a = fit_on_sentences(Whitening(), enc, sentences, pooling="mean")
    b = fit_on_sentences(Whitening(), enc, shuffled, pooling="mean")
    probe = enc.encode(["a new sentence", "another one"], pooling="mean")
    np.testing.assert_allclose(a.transform(probe), b.transform(probe), atol=1e-10)


def test_whitening_drops_empty_directions():
    x = _anisotropic(n=300)
    x[:, -1] = 3.0 - x[:, :-1].sum(1)  # an exact linear constraint, like a LayerNorm output's
    w = Whitening().fit(x)
    y = w.transform(x)
    assert w.rank_ == 7 and y.shape == (300, 7)
    np.testing.assert_allclose(y.T @ y / len(y), np.eye(7), atol=1e-8)
    assert Whitening().fit(_anisotropic(n=5)).rank_ == 4  # 5 points span 4 directions
    with pytest.raises(ValueError, match="all identical"):
        Whitening().fit(np.ones((4, 3)))


def test_whitening_k_keeps_k_dimensions_with_identity_covariance():
    x = _anisotropic()
    full, red = Whitening().fit(x), Whitening(k=3).fit(x)
    y = red.transform(x)
    assert y.shape == (len(x), 3)
    np.testing.assert_allclose(y.T @ y / len(y), np.eye(3), atol=1e-8)
    np.testing.assert_allclose(y, full.transform(x)[:, :3], atol=1e-10)  # the first k columns of W


# ------------------------------------------------------------- all-but-the-top, centering
@pytest.mark.parametrize("D", [1, 2, 3])
def test_all_but_the_top_removes_exactly_the_top_directions(D):
    x = _anisotropic(seed=2)
    y = AllButTheTop(D=D).fit_transform(x)
    # independent: eigenvectors of the covariance, largest eigenvalues first
    c = x - x.mean(0)
    vals, vecs = np.linalg.eigh(c.T @ c)
    vecs = vecs[:, np.argsort(vals)[::-1]]
    top, rest = vecs[:, :D], vecs[:, D:]
    assert np.abs(y @ top).max() < 1e-9  # top-D projections are gone
    np.testing.assert_allclose(y @ rest, c @ rest, atol=1e-9)  # everything else is untouched
    np.testing.assert_allclose(y, c - c @ top @ top.T, atol=1e-9)


def test_all_but_the_top_default_D_is_d_over_100():
    x = np.random.default_rng(0).normal(size=(600, 250))
    assert AllButTheTop().fit(x).directions_.shape == (250, 2)
    assert AllButTheTop().fit(x[:, :40]).directions_.shape == (40, 1)


def test_center():
    x = _anisotropic()
    c = Center().fit(x)
    np.testing.assert_allclose(c.transform(x), x - x.mean(0))
    assert np.abs(c.transform(x).mean(0)).max() < 1e-10


def test_standardize_matches_sklearn_and_a_hand_made_case():
    from sklearn.preprocessing import StandardScaler

    x = _anisotropic()
    np.testing.assert_allclose(
        Standardize().fit_transform(x), StandardScaler().fit_transform(x), atol=1e-12
    )
    tiny = np.array([[1.0, 5.0], [3.0, 5.0]])  # dim 0: mean 2, sd 1; dim 1 constant: centred only
    np.testing.assert_array_equal(Standardize().fit_transform(tiny), [[-1.0, 0.0], [1.0, 0.0]])
    assert isinstance(make_postprocessor("standardize"), Standardize)


# ----------------------------------------------------------------------------- save / load
@pytest.mark.parametrize(
    "post",
    [
        Center(),
        Standardize(),
        AllButTheTop(D=2),
        Whitening(),
        Whitening(k=4),
        Flow(n_steps=2, hidden=16, max_steps=20, show_progress=False),
        Flow(
            n_steps=2, hidden=16, coupling="affine", mixing="lu", max_steps=20, show_progress=False
        ),
    ],
)
def test_save_load_round_trip(post, tmp_path):
    x = _anisotropic()
    post.fit(x)
    path = post.save(tmp_path / "post.npz")
    again = load(path)
    assert type(again) is type(post) and again._config() == post._config()
    np.testing.assert_array_equal(again.transform(x), post.transform(x))


# ----------------------------------------------------------------------------- the flow
def _tiny_flow(coupling, mixing, d=4, seed=0):
    flow = GlowFlow(d, n_steps=3, hidden=8, coupling=coupling, mixing=mixing, seed=seed).double()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        flow(torch.as_tensor(_anisotropic(n=64, d=d, seed=seed)))  # data-dependent actnorm init
        for p in flow.parameters():  # move away from the identity-initialized couplings
            p.add_(0.3 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return flow


@pytest.mark.parametrize(
    "coupling,mixing", [("additive", "permute"), ("affine", "lu"), ("affine", "permute")]
)
def test_flow_is_invertible(coupling, mixing):
    flow = _tiny_flow(coupling, mixing)
    x = torch.as_tensor(_anisotropic(n=50, d=4, seed=7))
    with torch.no_grad():
        z, _ = flow(x)
        back = flow.inverse(z)
    assert not torch.allclose(z, x)
    assert torch.max(torch.abs(back - x)) < 1e-5


@pytest.mark.parametrize(
    "coupling,mixing", [("additive", "permute"), ("affine", "lu"), ("affine", "permute")]
)
def test_flow_log_determinant_equals_brute_force_jacobian(coupling, mixing):
    flow = _tiny_flow(coupling, mixing)
    xs = torch.as_tensor(_anisotropic(n=5, d=4, seed=11))
    _, logdet = flow(xs)
    for x, ld in zip(xs, logdet):
        jac = torch.autograd.functional.jacobian(lambda v: flow(v[None])[0][0], x)
        sign, logabs = torch.linalg.slogdet(jac)
        assert sign != 0
        assert float(logabs) == pytest.approx(float(ld.detach()), abs=1e-8)


def test_flow_training_reduces_nll_on_a_toy_gaussian():
    x = _anisotropic(n=2000, d=4, seed=4)
    barely = Flow(n_steps=2, hidden=16, max_steps=1, show_progress=False).fit(x)
    trained = Flow(
        n_steps=2, hidden=16, coupling="affine", mixing="lu", epochs=8, show_progress=False
    ).fit(x)
    assert trained.history_[-1] < trained.history_[0]
    assert trained.nll(x) < barely.nll(x) - 0.05
    # the best any flow can do on a Gaussian is the Gaussian's own entropy per dimension
    c = np.cov(x.T, bias=True)
    entropy = 0.5 * np.log(2 * np.pi * np.e) + 0.5 * np.linalg.slogdet(c)[1] / 4
    assert trained.nll(x) > entropy - 0.05
    z = trained.transform(x)
    assert np.abs(np.corrcoef(z.T) - np.eye(4)).max() < 0.1  # the latent is close to decorrelated


def test_flow_is_deterministic_under_its_seed():
    x = _anisotropic(n=300)
    a = Flow(n_steps=2, hidden=16, max_steps=30, show_progress=False).fit(x).transform(x)
    b = Flow(n_steps=2, hidden=16, max_steps=30, show_progress=False).fit(x).transform(x)
    np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "make",
    [
        Center,
        AllButTheTop,
        Whitening,
        lambda: Flow(n_steps=1, hidden=4, max_steps=2, show_progress=False),
    ],
)
def test_bad_input_raises_clear_errors(make):
    with pytest.raises(ValueError, match="not fitted"):
        make().transform(np.ones((3, 8)))
    with pytest.raises(ValueError, match="at least 2"):
        make().fit(np.ones((1, 8)))
    post = make().fit(_anisotropic(n=200))
    with pytest.raises(ValueError, match="fitted on 8-dimensional"):
        post.transform(np.ones((3, 5)))
    with pytest.raises(ValueError, match="2-D"):
        post.transform(np.ones(8))
    with pytest.raises(ValueError, match="NaN"):
        post.transform(np.full((2, 8), np.nan))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="k"):
        Whitening(k=0)
    with pytest.raises(ValueError, match="larger than the embedding dimension"):
        Whitening(k=9).fit(_anisotropic())
    with pytest.raises(ValueError, match="only 4 of the 8 directions"):
        Whitening(k=6).fit(_anisotropic(n=5))  # 5 points in 8 dimensions: 4 directions of variance
    with pytest.raises(ValueError, match="D"):
        AllButTheTop(D=0)
    with pytest.raises(ValueError, match="coupling"):
        Flow(coupling="spline")
    with pytest.raises(ValueError, match="whiten-k needs"):
        make_postprocessor("whiten-k")
    with pytest.raises(ValueError, match="unknown post-processing"):
        make_postprocessor("pca")
    assert make_postprocessor("none") is None


# ----------------------------------------------------------------------------- data and CLI
def test_target_sentences_cover_all_splits_without_duplicates(data_dir):
    sents = target_sentences("stsb", data_dir)
    assert len(sents) == len(set(sents)) and len(sents) > 2 * 1379
    from aniso.data import tasks as data

    train = data.load_task("stsb-train", data_dir)
    assert train.sentences1[0] in sents and data.load_task("stsb", data_dir).sentences2[-1] in sents


def test_cli_postprocess_whiten_on_a_small_task(data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANISO_CACHE_DIR", str(tmp_path))
    args = ["--model", "glove", "--tasks", "sts16", "--data-dir", str(data_dir)]
    assert cli.main(args + ["--json"]) == 0
    raw = json.loads(capsys.readouterr().out)
    assert cli.main(args + ["--postprocess", "whiten", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["postprocess"] == "whiten"
    assert out["results"]["sts16"]["n"] == 1186
    assert out["results"]["sts16"]["all"] != raw["results"]["sts16"]["all"]
    assert cli.main(args + ["--postprocess", "whiten-k", "--whiten-k", "20"]) == 0
    assert "whiten-k 20" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--postprocess", "whiten-k"], "needs --whiten-k"),
        (["--whiten-k", "5"], "only applies"),
        (["--postprocess", "whiten-k", "--whiten-k", "999"], "larger than"),
        (["--postprocess", "pca"], "invalid choice"),
    ],
)
def test_cli_bad_postprocess_arguments_exit_2(
    extra, message, data_dir, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("ANISO_CACHE_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as e:
        cli.main(["--model", "glove", "--tasks", "sts16", "--data-dir", str(data_dir)] + extra)
    assert e.value.code == 2
    assert message in capsys.readouterr().err
