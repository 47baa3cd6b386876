"""Tiny tied-embedding language models, the cosine regularizer and spectrum control.

Introduced in chapter 1 ("Representation degeneration", Gao et al. 2019) and
chapter 2 ("Spectrum control", Wang et al. 2020).

* :func:`build_corpus` -- a word-level corpus from the shared data: the most
  frequent words of the training text, ``<unk>`` for the rest.
* :class:`TinyLM` -- embedding -> LSTM -> LayerNorm -> softmax over the
  vocabulary, with input and output embeddings tied (or not), and optionally
  the embedding matrix reparameterized by its SVD (spectrum control).
* :func:`train_lm` -- a seeded training loop with a progress bar, embedding
  snapshots and held-out perplexity; :func:`perplexity`.
* :func:`cosine_regularizer` -- Gao et al.'s MLE-CosReg; spectrum control's
  penalties and priors (Wang et al. 2020, Sections 4.1-4.2) are in :mod:`aniso.lm.spectrum`.

The real pretrained models of chapter 1 are read by :mod:`aniso.encoders.gguf`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from aniso.data.datadir import data_file, resolve_data_dir, sums
from aniso.lm.spectrum import (
    BOOK_PRIORS,
    orthogonality_regularizer,
    singular_value_regularizer,
    spectrum_prior,
)
from aniso.util import files
from aniso.util.threads import one_thread

UNK, EOS = "<unk>", "<eos>"
TRAINING_VERSION = 2  # bump when training changes: cached runs and reference hashes follow it
SOURCES = {  # name -> (relative path, kind); the train/test split is by source
    "wikitext2-valid": ("wikitext2/valid.txt", "wikitext"),
    "wikitext2-test": ("wikitext2/test.txt", "wikitext"),
    "enwiki": ("enwiki_sample/enwiki_sample_sentences.txt", "lines"),
    "wiki1m": ("wiki1m_sample/wiki1m_head.txt", "lines"),
    "austen": ("janeausten", "lines"),
    "shakespeare": ("tinyshakespeare/input.txt", "lines"),
}
_TOKEN = re.compile(r"<unk>|'?[^\W\d_]+|\d+|[^\w\s]")
_WIKI_AT = re.compile(r" @(.)@ ")


def tokenize(line: str, kind: str = "lines") -> list[str]:
    """Lower-cased words, numbers and punctuation; WikiText's ``@-@`` joins undone. Chapter 1."""
    if kind == "wikitext":
        line = _WIKI_AT.sub(r"\1", line)
    return _TOKEN.findall(line.lower())


def _lines(name: str, data_dir: Path):
    rel, kind = SOURCES[name]
    if rel in sums():
        paths = [data_file(rel, data_dir)]
    else:  # a folder: every .txt file of it (fetched and checked like the others)
        paths = [
            data_file(r, data_dir)
            for r in sorted(sums())
            if r.startswith(rel + "/") and r.endswith(".txt")
        ]
    for f in paths:
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            s = line.strip()
            if not s or (kind == "wikitext" and s.startswith("= ")):  # skip headings
                continue
            yield tokenize(s, kind) + [EOS]


@dataclass
class Corpus:
    """Vocabulary (``vocab[i]`` is word i), training counts, and the id streams. Chapter 1."""

    vocab: list[str]
    counts: np.ndarray
    train: np.ndarray
    test: np.ndarray
    train_sources: tuple
    test_source: str

    @property
    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.vocab)}

    def encode(self, words) -> np.ndarray:
        idx, unk = self.index, self.vocab.index(UNK)
        return np.asarray([idx.get(w, unk) for w in words], dtype=np.int64)


def build_corpus(
    vocab_size: int = 10000,
    train_sources=("wikitext2-valid", "enwiki", "wiki1m"),
    test_source: str = "wikitext2-test",
    data_dir=None,
) -> Corpus:
    """Word-level corpus: the ``vocab_size - 2`` most frequent training words, ``<unk>``, ``<eos>``.

    Chapter 1. Words are ordered by training frequency (ties alphabetically);
    every line ends with ``<eos>``; WikiText headings are skipped; WikiText's
    own ``<unk>`` stays ``<unk>``. ``counts[i]`` is word i's count in the
    training stream (after mapping to ``<unk>``).
    """
    data_dir = resolve_data_dir(data_dir)
    train_words = [w for s in train_sources for line in _lines(s, data_dir) for w in line]
    freq = Counter(w for w in train_words if w not in (UNK, EOS))
    ranked = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[: vocab_size - 2]
    vocab = [UNK, EOS] + [w for w, _ in ranked]
    corpus = Corpus(
        vocab,
        np.zeros(len(vocab), np.int64),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        tuple(train_sources),
        test_source,
    )
    corpus.train = corpus.encode(train_words)
    corpus.test = corpus.encode([w for line in _lines(test_source, data_dir) for w in line])
    corpus.counts = np.bincount(corpus.train, minlength=len(vocab))
    return corpus


# --------------------------------------------------------------------------
# regularizers
# --------------------------------------------------------------------------
def cosine_regularizer(w: torch.Tensor) -> torch.Tensor:
    """Gao et al. (2019), MLE-CosReg: ``R = (1/N^2) sum_i sum_{j != i} cos(w_i, w_j)``. Chapter 1.

    Computed in O(N d) as ``(||sum_i w_i/||w_i|| ||^2 - N) / N^2``. The
    average cosine over distinct pairs is ``R * N / (N - 1)``; for two equal
    vectors R = 1/2 (the average cosine, 1, times (N-1)/N).
    """
    n = w.shape[0]
    s = F.normalize(w, dim=1).sum(0)
    return (s @ s - n) / n**2


# --------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------
def portable_uniform(shape, bound: float) -> torch.Tensor:
    """Float32 entries uniform in ``(-bound, bound)``, the same bits on every CPU. Chapter 1.

    Drawn from torch's global generator (seed it with ``torch.manual_seed``). torch's float32
    ``uniform_`` computes ``low + (high - low) * u`` with vector instructions where the CPU has
    them and without where it has not (``ATEN_CPU_CAPABILITY=default``), which moves the last
    bit of some entries. Its float64 sampler gives the same numbers with every kernel; scaled in
    float64 (two correctly rounded operations) and rounded once to float32 they stay the same.
    """
    u = torch.rand(tuple(shape), dtype=torch.float64)
    return (u * (2 * bound) - bound).to(torch.float32)


def canonical_svd(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(U, sigma, V^T)`` of ``w`` in its dtype, computed in float64 with a fixed sign. Chapter 2.

    The singular values of a random matrix lie close together (gaps of about 0.002 for the
    book's 10,000 x 64 initialisation, values near 5.8), so its singular *vectors* are
    ill-conditioned: in float32 a change in the last bit of ``w``, or another LAPACK, moves
    them by about 1e-4. In float64 that error is about 1e-13, below float32's resolution. The
    sign of each singular pair is arbitrary; the column of U whose largest entry (in absolute
    value) is positive is taken, as scikit-learn's ``svd_flip`` does.
    """
    u, s, vt = np.linalg.svd(w.detach().cpu().double().numpy(), full_matrices=False)
    signs = np.sign(u[np.argmax(np.abs(u), axis=0), np.arange(u.shape[1])])
    u, vt = u * signs, vt * signs[:, None]
    back = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=w.dtype)  # noqa: E731
    return back(u), back(s), back(vt)


class SVDEmbedding(nn.Module):
    """Embedding matrix reparameterized as ``W = U diag(sigma) V^T`` (Wang et al. 2020).

    Chapter 2.
    """

    def __init__(self, w0: torch.Tensor, sigma0: torch.Tensor | None = None):
        super().__init__()
        u, s, vt = canonical_svd(w0)
        if sigma0 is not None:  # same singular vectors, prescribed singular values
            s = torch.as_tensor(sigma0, dtype=w0.dtype).clone()
        self.u, self.sigma, self.v = (
            nn.Parameter(u),
            nn.Parameter(s),
            nn.Parameter(vt.T.contiguous()),
        )

    def weight(self) -> torch.Tensor:
        return (self.u * self.sigma) @ self.v.T


class TinyLM(nn.Module):
    """Embedding -> LSTM -> LayerNorm (optional) -> logits ``h W^T + b``. Chapter 1.

    ``tied=True``: the output matrix is the input embedding matrix W (one
    ``(V, d)`` parameter, or ``U diag(sigma) V^T`` with ``svd=True``).
    ``tied=False``: a separate output matrix (the untied control).
    """

    def __init__(
        self,
        vocab_size: int,
        dim: int = 64,
        layers: int = 1,
        tied: bool = True,
        svd: bool = False,
        dropout: float = 0.0,
        init_range: float = 0.1,
        sigma0=None,
        layer_norm: bool = True,
    ):
        super().__init__()
        w0 = portable_uniform((vocab_size, dim), init_range)  # the same bits on every CPU
        self.tied, self.svd = tied, svd
        if svd:
            self.emb = SVDEmbedding(w0, sigma0)
        else:
            self.emb_weight = nn.Parameter(w0)
        if not tied:
            self.out_weight = nn.Parameter(portable_uniform((vocab_size, dim), init_range))
        self.rnn = nn.LSTM(
            dim, dim, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0
        )
        with torch.no_grad():  # PyTorch's own LSTM initialisation, drawn portably
            for p in self.rnn.parameters():
                p.copy_(portable_uniform(p.shape, 1 / math.sqrt(dim)))
        self.norm = nn.LayerNorm(dim) if layer_norm else nn.Identity()  # Gao et al.'s Theorem 2
        self.drop = nn.Dropout(dropout)
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def input_embeddings(self) -> torch.Tensor:
        return self.emb.weight() if self.svd else self.emb_weight

    def output_embeddings(self) -> torch.Tensor:
        return self.input_embeddings() if self.tied else self.out_weight

    def hidden(self, x, state=None):
        """Final hidden states (the vectors the output embeddings are multiplied with)."""
        out, state = self.rnn(self.drop(F.embedding(x, self.input_embeddings())), state)
        return self.drop(self.norm(out)), state

    def forward(self, x, state=None):
        h, state = self.hidden(x, state)
        return h @ self.output_embeddings().T + self.bias, state


# --------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------
@dataclass
class TrainConfig:
    """Everything that defines a run (and its cache key). Chapters 1 and 2."""

    dim: int = 64
    layers: int = 1
    tied: bool = True
    layer_norm: bool = True  # LayerNorm on the LSTM output (chapter 1: Theorem 2)
    reg: str = "mle"  # "mle", "cosreg" or "spectrum"
    cos_gamma: float = 1.0  # MLE-CosReg weight (Gao et al. 2019)
    prior: str = "polynomial"  # spectrum control prior (Wang et al. Section 4.2)
    prior_c2: float | None = None  # None: the book's choice, aniso.lm.spectrum.BOOK_PRIORS
    prior_gamma: float | None = None  # None: the book's choice (c1: aniso.lm.spectrum.prior_scale)
    lambda_1: float = 1.0  # orthogonality (Section 4.1): ||U^T U - I||_F^2
    lambda_2: float = 1.0  # ||V^T V - I||_F^2
    lambda_3: float = 1.0  # ||U^T U - I||_2^2 (spectral norm)
    lambda_4: float = 1.0  # ||V^T V - I||_2^2
    lambda_sv: float = 1.0  # lambda_e or lambda_p of R_e / R_p (Section 4.2)
    sigma_init: str = (
        "prior"  # spectrum control: start sigma at the prior ("prior") or at the SVD ("svd")
    )
    steps: int = 150
    batch_size: int = 16
    bptt: int = 32
    lr: float = 3e-3
    dropout: float = 0.0
    seed: int = 0
    snapshot_every: int = 25
    eval_tokens: int = 20000  # held-out tokens scored (0 = all)


@dataclass
class TrainResult:
    """What :func:`train_lm` returns. Chapters 1 and 2."""

    config: TrainConfig
    history: list = field(default_factory=list)  # dicts: step, nll, reg
    snapshots: dict = field(default_factory=dict)  # step -> input embeddings (V, d) float32
    out_snapshots: dict = field(
        default_factory=dict
    )  # step -> output embeddings (untied models only)
    test_ppl: float = float("nan")
    model: TinyLM | None = None


def batchify(ids: np.ndarray, batch_size: int) -> torch.Tensor:
    """Cut a token stream into ``batch_size`` contiguous rows (drop the remainder). Chapter 1."""
    n = len(ids) // batch_size
    return torch.as_tensor(np.asarray(ids[: n * batch_size]).reshape(batch_size, n))


def target_counts(corpus: Corpus, cfg: TrainConfig) -> np.ndarray:
    """How often each word is a prediction target in the ``cfg.steps`` training steps. Chapter 1."""
    data = batchify(corpus.train, cfg.batch_size).numpy()
    n_win = (data.shape[1] - 1) // cfg.bptt  # windows before the stream wraps around
    ys = [
        data[:, (s % n_win) * cfg.bptt + 1 : (s % n_win) * cfg.bptt + 1 + cfg.bptt]
        for s in range(cfg.steps)
    ]
    return np.bincount(np.concatenate([y.ravel() for y in ys]), minlength=len(corpus.vocab))


def prior_values(vocab_size: int, cfg: TrainConfig) -> np.ndarray:
    """The prior singular values of a spectrum-control config, k = 1..d. Chapter 2.

    Wang et al.'s ``c1 exp(-c2 k^gamma)`` or ``c1 k^(-gamma)`` (Section 4.2) with the
    book's c2 and gamma (:data:`aniso.lm.spectrum.BOOK_PRIORS` unless the config sets them)
    and c1 chosen by :func:`aniso.lm.spectrum.prior_scale`: the prior has the Frobenius
    norm of the random initial matrix, ``sqrt(V d / 3) * 0.1`` for uniform(-0.1, 0.1).
    """
    book = BOOK_PRIORS[cfg.prior]
    c2 = book["c2"] if cfg.prior_c2 is None else cfg.prior_c2
    gamma = book["gamma"] if cfg.prior_gamma is None else cfg.prior_gamma
    p = spectrum_prior(cfg.dim, cfg.prior, 1.0, c2, gamma)
    return p * math.sqrt(vocab_size * cfg.dim / 3) * 0.1 / np.linalg.norm(p)  # = c1 * p


def make_model(vocab_size: int, cfg: TrainConfig) -> TinyLM:
    """The model of a config, seeded. With spectrum control and ``sigma_init="prior"`` the
    singular values start at the prior (:func:`prior_values`); with ``"svd"`` at the SVD of
    the random initialisation. Chapters 1, 2."""
    torch.manual_seed(cfg.seed)
    sigma0 = None
    if cfg.reg == "spectrum" and cfg.sigma_init == "prior":
        sigma0 = torch.as_tensor(prior_values(vocab_size, cfg), dtype=torch.float32)
    return TinyLM(
        vocab_size,
        cfg.dim,
        cfg.layers,
        tied=cfg.tied,
        svd=cfg.reg == "spectrum",
        dropout=cfg.dropout,
        sigma0=sigma0,
        layer_norm=cfg.layer_norm,
    )


def regularizer(model: TinyLM, cfg: TrainConfig) -> torch.Tensor:
    """The configured penalty added to the mean NLL. Chapters 1 and 2.

    Spectrum control: Wang et al.'s four-term orthogonality penalty (Section 4.1) plus
    R_e or R_p (Section 4.2) towards :func:`prior_values`.
    """
    if cfg.reg == "cosreg":
        return cfg.cos_gamma * cosine_regularizer(model.output_embeddings())
    if cfg.reg == "spectrum":
        e = model.emb
        lambdas = (cfg.lambda_1, cfg.lambda_2, cfg.lambda_3, cfg.lambda_4)
        prior = prior_values(e.u.shape[0], cfg)
        return orthogonality_regularizer(e.u, e.v, lambdas) + singular_value_regularizer(
            e.sigma, prior, cfg.lambda_sv
        )
    if cfg.reg == "mle":
        return torch.zeros(())
    raise ValueError(f"reg must be 'mle', 'cosreg' or 'spectrum', got {cfg.reg!r}")


@torch.no_grad()
def perplexity(model: TinyLM, ids, batch_size: int = 16, bptt: int = 64) -> float:
    """``exp(mean NLL)`` of every next token of the stream ``ids`` (batchified). Chapter 1."""
    was = model.training
    model.eval()
    data = batchify(ids, batch_size)
    nll, n, state = 0.0, 0, None
    with one_thread():
        for i in range(0, data.shape[1] - 1, bptt):
            x, y = data[:, i : i + bptt], data[:, i + 1 : i + 1 + bptt]
            logits, state = model(x[:, : y.shape[1]], state)
            nll += F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum"
            ).item()
            n += y.numel()
    model.train(was)
    return math.exp(nll / n)


@torch.no_grad()
def mean_hidden_state(
    model: TinyLM, ids, batch_size: int = 16, bptt: int = 64, max_tokens: int = 20000
) -> np.ndarray:
    """Mean of the final hidden states h over a stream (Gao et al.'s push direction is -mean h).

    Chapter 1.
    """
    model.eval()
    data = batchify(ids[:max_tokens], batch_size)
    total, n, state = 0, 0, None
    with one_thread():
        for i in range(0, data.shape[1], bptt):
            h, state = model.hidden(data[:, i : i + bptt], state)
            total, n = total + h.sum((0, 1)), n + h.shape[0] * h.shape[1]
    return (total / n).numpy().astype(np.float64)


def cache_path(corpus: Corpus, cfg: TrainConfig, cache_dir=None) -> Path:
    """The cache entry of :func:`train_lm`: ``<cache_dir or $ANISO_CACHE_DIR/lm>/<key>.pt``."""
    key = hashlib.sha256(
        json.dumps(
            [
                TRAINING_VERSION,
                asdict(cfg),
                len(corpus.vocab),
                int(corpus.train.sum()),
                len(corpus.train),
                len(corpus.test),
            ]
        ).encode()
    ).hexdigest()[:16]
    return (Path(cache_dir) if cache_dir else files.cache_dir("lm")) / f"{key}.pt"


def train_lm(
    corpus: Corpus,
    cfg: TrainConfig,
    callback=None,
    progress: bool = True,
    cache: bool = True,
    cache_dir=None,
) -> TrainResult:
    """Train a :class:`TinyLM` with Adam on ``corpus.train``; score ``corpus.test``.

    Chapters 1 and 2.

    Deterministic: ``torch.manual_seed(cfg.seed)`` before building the model,
    and the data are read in order (``batch_size`` contiguous streams, windows
    of ``bptt`` tokens, the LSTM state carried across windows, the training
    stream wrapping around when it ends). Every ``snapshot_every`` steps (and
    at step 0 and the last step) the input embedding matrix is stored in
    ``result.snapshots`` (the output matrix of an untied model in
    ``out_snapshots``) and ``callback(step, model)`` is called. Training and
    evaluation run on one CPU thread (:class:`one_thread`). With
    ``cache=True`` the result (without the model's optimizer state) is kept
    under ``$ANISO_CACHE_DIR/lm`` keyed by the config and the corpus, one process at a time
    (:func:`aniso.util.files.locked`: another one waits, then reads what the first wrote).
    """
    path = cache_path(corpus, cfg, cache_dir)
    model = make_model(len(corpus.vocab), cfg)
    reuse = cache and callback is None  # a callback sees the training: never from the cache
    if reuse and path.exists():
        blob = torch.load(path, weights_only=False)
        model.load_state_dict(blob["state"])
        return TrainResult(
            cfg, blob["history"], blob["snapshots"], blob["out_snapshots"], blob["test_ppl"], model
        )
    lock = files.locked(path, f"the language model {path.name}")
    with lock if reuse else contextlib.nullcontext():
        if reuse and path.exists():  # trained by the process this one waited for: read it
            return train_lm(corpus, cfg, callback, progress, cache, cache_dir)
        with one_thread():
            res = _train(model, corpus, cfg, callback, progress)
        test = corpus.test[: cfg.eval_tokens] if cfg.eval_tokens else corpus.test
        res.test_ppl = perplexity(model, test)
        if cache:
            with files.atomic_write(path) as f:
                torch.save(
                    {
                        "state": model.state_dict(),
                        "history": res.history,
                        "snapshots": res.snapshots,
                        "out_snapshots": res.out_snapshots,
                        "test_ppl": res.test_ppl,
                    },
                    f,
                )
    return res


def _train(model, corpus, cfg, callback, progress) -> TrainResult:
    from tqdm.auto import tqdm

    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    data = batchify(corpus.train, cfg.batch_size)
    res, state, pos = TrainResult(cfg, model=model), None, 0
    model.train()
    for step in tqdm(range(cfg.steps + 1), disable=not progress, desc=f"training ({cfg.reg})"):
        if step % cfg.snapshot_every == 0 or step == cfg.steps:
            res.snapshots[step] = (
                model.input_embeddings().detach().numpy().astype(np.float32).copy()
            )
            if not model.tied:
                res.out_snapshots[step] = model.out_weight.detach().numpy().copy()
            if callback is not None:
                callback(step, model)
        if step == cfg.steps:
            break
        if pos + cfg.bptt + 1 > data.shape[1]:
            pos, state = 0, None
        x, y = data[:, pos : pos + cfg.bptt], data[:, pos + 1 : pos + 1 + cfg.bptt]
        pos += cfg.bptt
        logits, state = model(x, state)
        state = tuple(s.detach() for s in state)
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        reg = regularizer(model, cfg)
        opt.zero_grad()
        (nll + reg).backward()
        opt.step()
        res.history.append({"step": step + 1, "nll": nll.item(), "reg": reg.item()})
    model.eval()
    return res


# The two profiles of chapters 1 and 2: corpus size and model/training config.
PROFILES = {
    "quick": {"vocab_size": 10000, "config": TrainConfig()},
    # Closer to Gao et al.'s language model (AWD-LSTM on WikiText-2: 3 layers, 400-d tied
    # embeddings, 33k words), without weight drop and ASGD: days on one CPU thread.
    "paper": {
        "vocab_size": 33000,
        "config": TrainConfig(
            dim=400,
            layers=3,
            steps=20000,
            batch_size=80,
            bptt=70,
            lr=1e-3,
            dropout=0.4,
            snapshot_every=1000,
            eval_tokens=0,
        ),
    },
}
