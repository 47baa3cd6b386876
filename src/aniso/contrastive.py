"""Contrastive learning of sentence embeddings: InfoNCE, SimCSE, alignment and uniformity.

Introduced in chapter "SimCSE" (notebooks/04_simcse.ipynb) and used in chapter
"Alignment and uniformity" (notebooks/05_alignment_uniformity.ipynb) and the
concluding chapter (notebooks/06_conclusion.ipynb).

* :func:`info_nce` is the SimCSE objective written plainly (Gao et al. 2021,
  Eq. 1 and, with hard negatives, Eq. 5); :func:`align_uniform_loss` is the
  objective of Wang & Isola (2020).
* :class:`SimCSEConfig` describes one training run; :func:`paper_config` and
  :func:`quick_config` are the two profiles of the book. :func:`train_simcse`
  trains through sentence-transformers' ``SentenceTransformerTrainer`` with
  ``MultipleNegativesRankingLoss(scale=1/temperature)`` on (s, s) pairs (or
  :class:`AlignUniformLoss`), records the training loss and, every
  ``eval_every`` steps, STS-B dev Spearman, alignment and uniformity, keeps the
  best dev checkpoint, resumes after an interruption, and caches the finished
  run on disk under a hash of the config (so later chapters reuse it).
* :func:`book_configs` names the runs of the book; :class:`DevProbe` measures
  a model on the alignment-uniformity plane, :func:`book_plane` places every
  model of the book on it and :func:`plot_plane` draws it;
  :func:`pretext_stats` measures how hard the pretext task is;
  :func:`evaluate_many` scores several poolings on several STS tasks with one
  encoding pass per model.

On several GPUs, the same code runs under ``torchrun --nproc_per_node N -m
aniso.contrastive --profile paper`` (or ``accelerate launch -m aniso.contrastive
--profile paper``): the trainer handles the processes, and the loss gathers the
in-batch negatives across devices.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import os
import random
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import TrainerCallback

from . import data as data_mod
from . import metrics
from .encoders import (HUB_NAMES, TransformerEncoder, _minilm_path, default_cache_dir, load_encoder,
                       mini_bert_path, pool)
from .evaluation import score_task
from .threads import free_threads

__all__ = ["info_nce", "align_uniform_loss", "delete_word", "SimCSEConfig", "paper_config", "quick_config",
           "book_configs", "train_simcse", "SimCSERun", "AlignUniformLoss", "DevProbe", "pretext_stats",
           "encode_many", "evaluate_many", "supervised_examples", "training_sentences", "book_plane",
           "plot_plane", "plane_figure", "RUN_LABELS", "PLANE_COLORS", "PAPER_SIMCSE", "WIKI1M_URL"]

_CODE_VERSION = 1  # bump when a change in training would change the results of a cached run
WIKI1M_URL = ("https://huggingface.co/datasets/princeton-nlp/datasets-for-simcse/resolve/main/"
              "wiki1m_for_simcse.txt")

#: Numbers of the SimCSE paper (bert-base-uncased) that the package has no other home for.
#: Table 1 and Table 3 are STS-B *dev* Spearman x 100; Table 5 rows are test sets, "all" setting.
PAPER_SIMCSE = {
    "Table 1: dropout (unsup. SimCSE)": 82.5, "Table 1: delete one word": 75.9,
    "Table 1: delete one word, w/o dropout": 74.2, "Table 3: no dropout (p = 0)": 71.1,
    "Table 3: fixed 0.1 (same mask twice)": 43.6,
    "Table 5: Sup-SimCSE-BERT-base": dict(sts12=75.30, sts13=84.67, sts14=80.19, sts15=85.40, sts16=80.82,
                                          stsb=84.25, sickr=80.39),
}


# ----------------------------------------------------------------------------- the objectives
def info_nce(z1, z2, temperature: float = 0.05, hard_negatives=None):
    """InfoNCE over a batch (chapter "SimCSE"): row i of ``z1`` and row i of ``z2`` are a positive pair.

    ``logits[i, j] = cos(z1_i, z2_j) / temperature``; every other row of ``z2``
    is a negative of ``z1_i``. With ``hard_negatives`` (one row per pair) the
    cosines ``cos(z1_i, hn_j) / temperature`` of *all* hard negatives are
    appended as extra columns (SimCSE, Eq. 5). The loss is the cross-entropy
    with the diagonal as the targets, averaged over the batch.
    """
    a, b = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
    logits = a @ b.T / temperature
    if hard_negatives is not None:
        logits = torch.cat([logits, a @ F.normalize(hard_negatives, dim=-1).T / temperature], dim=1)
    return F.cross_entropy(logits, torch.arange(len(a), device=logits.device))


def align_uniform_loss(z1, z2, alpha: float = 2, t: float = 2, lam: float = 1):
    """Wang & Isola's objective ``L_align + lam * (L_uniform(z1) + L_uniform(z2)) / 2`` (chapter "Alignment and uniformity").

    On L2-normalized features: ``L_align = E ||z1_i - z2_i||^alpha`` and
    ``L_uniform(z) = log E_{i<j} exp(-t ||z_i - z_j||^2)``, as in the paper's
    reference code.
    """
    a, b = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
    align = (a - b).norm(p=2, dim=1).pow(alpha).mean()

    def uniform(z):
        return torch.pdist(z, p=2).pow(2).mul(-t).exp().mean().log()

    return align + lam * (uniform(a) + uniform(b)) / 2


def delete_word(sentence: str, seed) -> str:
    """The sentence with one whitespace-separated word removed, chosen by ``random.Random(seed)``.

    One-word sentences are returned unchanged. Chapter "SimCSE" (the
    "delete one word" positives of SimCSE's Table 1).
    """
    words = sentence.split()
    if len(words) < 2:
        return sentence
    del words[random.Random(seed).randrange(len(words))]
    return " ".join(words)


# ----------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class SimCSEConfig:
    """One contrastive training run (chapter "SimCSE").

    ``model``: a short name of the book, a folder or a hub id. ``sentences``:
    ``wiki1m`` / ``enwiki`` (the samples in the data directory),
    ``wiki1m+enwiki``, ``wiki1m-full`` (SimCSE's million sentences, downloaded)
    or a text file, one sentence a line; the first ``n_sentences`` are used
    (None: all). ``epochs`` over them, or ``max_steps`` if given;
    ``stop_after`` ends the run after that many steps of the same schedule
    (the first steps of the full run, for short ablations). ``pooling``
    ``cls`` or ``mean``; with ``mlp_head_in_training`` a dense layer with tanh
    sits on top during training only (SimCSE's ``cls`` setting; evaluation
    uses the pooled vector below it). ``positive``: ``dropout`` (the same
    sentence twice, two dropout masks), ``no_dropout`` (dropout probabilities
    set to 0) or ``delete_word`` (the second view misses one random word).
    ``objective``: ``infonce`` or ``align_uniform``. ``supervised="sick"``
    replaces the sentences by SICK train entailment pairs, with a
    contradiction of the same premise as a hard negative where there is one.
    Every ``eval_every`` steps a checkpoint is saved and STS-B dev Spearman,
    alignment and uniformity are recorded; the best dev step is kept.
    """

    model: str = "mini-bert"
    sentences: str = "wiki1m"
    n_sentences: int | None = None
    batch_size: int = 64
    lr: float = 3e-5
    max_length: int = 32
    epochs: float = 1.0
    max_steps: int | None = None
    stop_after: int | None = None
    pooling: str = "cls"
    mlp_head_in_training: bool = True
    temperature: float = 0.05
    positive: str = "dropout"
    objective: str = "infonce"
    supervised: str | None = None
    align_alpha: float = 2.0
    uniform_t: float = 2.0
    uniform_weight: float = 1.0
    seed: int = 42
    eval_every: int = 250
    log_every: int = 5
    output_dir: str | None = None

    def __post_init__(self):
        choices = {"pooling": ("cls", "mean"), "positive": ("dropout", "no_dropout", "delete_word"),
                   "objective": ("infonce", "align_uniform"), "supervised": (None, "sick")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("batch_size", "max_length", "eval_every", "log_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.objective == "align_uniform" and self.supervised:
            raise ValueError("the align_uniform objective is implemented for unsupervised pairs only")
        if not self.lr > 0 or not self.temperature > 0:
            raise ValueError("lr and temperature must be positive")

    def replace(self, **changes) -> "SimCSEConfig":
        return dataclasses.replace(self, **changes)

    def key(self) -> str:
        """Hash of everything that determines the result: the fields (not ``output_dir``), the base
        model's weights and the code version."""
        fields = {k: v for k, v in dataclasses.asdict(self).items() if k != "output_dir"}
        payload = json.dumps([_CODE_VERSION, fields, _model_fingerprint(self.model)], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def run_dir(self) -> Path:
        if self.output_dir:
            return Path(self.output_dir)
        return default_cache_dir() / "runs" / f"simcse-{self.key()}"


def paper_config(**changes) -> SimCSEConfig:
    """Unsupervised SimCSE with the paper's settings (chapter "SimCSE"): bert-base-uncased, SimCSE's
    wiki1m (10^6 sentences), batch 64, lr 3e-5, max length 32, one epoch, ``cls`` pooling with the MLP
    head in training only, temperature 0.05, STS-B dev evaluation every 250 steps, seed 42."""
    return SimCSEConfig(model="bert-base-uncased", sentences="wiki1m-full", n_sentences=None, batch_size=64,
                        lr=3e-5, max_length=32, epochs=1.0, pooling="cls", mlp_head_in_training=True,
                        temperature=0.05, eval_every=250, log_every=50, seed=42).replace(**changes)


def quick_config(**changes) -> SimCSEConfig:
    """The paper's run scaled to two CPU cores (chapter "SimCSE"): the stand-in BERT and the first
    3,200 sentences of the wiki1m sample (one epoch, 50 steps of 64); everything else as in the paper,
    with dev evaluation and a checkpoint every 25 steps."""
    return SimCSEConfig(model="mini-bert", sentences="wiki1m", n_sentences=3200, eval_every=25,
                        log_every=5).replace(**changes)


def book_configs(profile: str = "quick") -> dict[str, SimCSEConfig]:
    """The contrastive runs of the book, by name (chapters "SimCSE", "Alignment and uniformity", conclusion).

    ``unsup`` (the main unsupervised run), ``no_dropout`` and ``delete_word``
    (the ablation: in the quick profile the first 25 steps of the same
    schedule), ``sup`` (SICK entailment pairs, contradictions as hard
    negatives, lr 5e-5 as in the paper's supervised runs) and ``align_uniform``
    (the stand-in trained with L_align + L_uniform). Each chapter asks
    :func:`train_simcse` for the runs it shows; finished runs come from the cache.
    """
    if profile not in ("quick", "paper"):
        raise ValueError(f"profile must be 'quick' or 'paper', got {profile!r}")
    quick = profile == "quick"
    unsup = quick_config() if quick else paper_config()
    short = 25 if quick else None
    return {"unsup": unsup,
            "no_dropout": unsup.replace(positive="no_dropout", stop_after=short),
            "delete_word": unsup.replace(positive="delete_word", stop_after=short),
            "sup": unsup.replace(supervised="sick", lr=5e-5, epochs=1 if quick else 3, eval_every=10 if quick else 125),
            "align_uniform": unsup.replace(objective="align_uniform")}


RUN_LABELS = {"unsup": "unsup. SimCSE", "no_dropout": "SimCSE, no dropout", "delete_word": "SimCSE, delete one word",
              "sup": "sup. SimCSE (SICK)", "align_uniform": "align + uniform"}


def book_plane(profile: str = "quick", n_wiki: int | None = 5000, data_dir=None):
    """Every model of the book on the alignment-uniformity plane (chapters "Alignment and uniformity", conclusion).

    Returns ``(points, trajectories, posts)``: ``points`` maps a model to its
    ``{"spearman", "alignment", "uniformity"}`` on STS-B dev (:class:`DevProbe`):
    the base model's three poolings, whitening and the flow fitted on
    ``n_wiki`` wiki1m sentences (``first_last_avg``), all-MiniLM-L6-v2 and
    averaged GloVe; ``trajectories`` maps each run of :func:`book_configs` to
    its dev records (trained if not cached); ``posts`` holds the fitted
    whitening and flow. Encodings come from the embedding cache when present.
    """
    from .postprocess import Flow, Whitening, fit_on_sentences
    configs = book_configs(profile)
    label = "mini-bert" if profile == "quick" else configs["unsup"].model
    probe = DevProbe("stsb-dev", data_dir)
    base = load_encoder(configs["unsup"].model)
    wiki = data_mod.load_sentences("wiki1m", n_wiki, data_dir)
    posts = {"whitening": fit_on_sentences(Whitening(), base, wiki, "first_last_avg", show_progress=False),
             "flow": fit_on_sentences(Flow(show_progress=False), base, wiki, "first_last_avg", show_progress=False)}
    points = {f"{label} ({p})": probe.measure_encoder(base, p) for p in ("cls", "mean", "first_last_avg")}
    for name, post in posts.items():
        points[f"{label} + {name} (wiki)"] = probe.measure_encoder(base, "first_last_avg", post)
    points["all-MiniLM-L6-v2 (mean)"] = probe.measure_encoder("all-MiniLM-L6-v2", "mean")
    points["averaged GloVe"] = probe.measure_encoder("glove", "mean")
    trajectories = {RUN_LABELS[k]: train_simcse(c, data_dir=data_dir).evals for k, c in configs.items()}
    return points, trajectories, posts


PLANE_COLORS = {"mini-bert (cls)": "#d62728", "mini-bert (mean)": "#ff9896", "mini-bert (first_last_avg)": "#e377c2",
                "mini-bert + whitening (wiki)": "#2ca02c", "mini-bert + flow (wiki)": "#9467bd",
                "all-MiniLM-L6-v2 (mean)": "#1f77b4", "averaged GloVe": "#7f7f7f", "unsup. SimCSE": "#ff7f0e",
                "SimCSE, no dropout": "#bcbd22", "SimCSE, delete one word": "#17becf",
                "sup. SimCSE (SICK)": "#8c564b", "align + uniform": "#000000"}


def plane_figure(points: dict, trajectories: dict, title: str = ""):
    """Two panels of :func:`plot_plane`: every model, and a zoom on the training runs (chapters 5 and 6)."""
    import matplotlib.pyplot as plt
    import pandas as pd
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5))
    plot_plane(points, trajectories, ax=ax1, colors=PLANE_COLORS)
    plot_plane(points, trajectories, ax=ax2, colors=PLANE_COLORS)
    near = pd.concat([tr[["uniformity", "alignment"]] for tr in trajectories.values()])
    du = 0.15 * (near.uniformity.max() - near.uniformity.min()) + 0.02
    da = 0.15 * (near.alignment.max() - near.alignment.min()) + 0.005
    ax2.set_xlim(near.uniformity.min() - du, near.uniformity.max() + du)
    ax2.set_ylim(near.alignment.min() - da, near.alignment.max() + da)
    ax2.get_legend().remove()
    ax1.set_title(title or "every model")
    ax2.set_title("zoom on the training runs")
    fig.tight_layout()
    return fig


def plot_plane(points: dict, trajectories: dict | None = None, ax=None, colors: dict | None = None,
               annotate: bool = True):
    """The alignment-uniformity plane (chapter "Alignment and uniformity"): lower left is better.

    ``points`` maps a label to ``{"alignment", "uniformity", "spearman"}``;
    ``trajectories`` maps a label to a DataFrame of such rows with a ``step``
    column (a training run), drawn as a line with arrows from step 0 on. Each
    point is annotated with its Spearman correlation.
    """
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5))
    colors = colors or {}
    cycle = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"] * 4)
    for label, tr in (trajectories or {}).items():
        c = colors.get(label) or next(cycle)
        ax.plot(tr.uniformity, tr.alignment, "-", color=c, lw=1.2, alpha=0.8)
        ax.scatter(tr.uniformity, tr.alignment, s=14, color=c, label=label, zorder=3)
        for (u0, a0), (u1, a1) in zip(zip(tr.uniformity, tr.alignment), list(zip(tr.uniformity, tr.alignment))[1:]):
            ax.annotate("", xy=(u1, a1), xytext=(u0, a0), arrowprops=dict(arrowstyle="->", color=c, lw=1))
        if annotate:
            last = tr.iloc[-1]
            ax.annotate(f"{last.spearman:.1f}", (last.uniformity, last.alignment), textcoords="offset points",
                        xytext=(4, 4), fontsize=7, color=c)
    for label, p in points.items():
        c = colors.get(label) or next(cycle)
        ax.scatter([p["uniformity"]], [p["alignment"]], s=60, marker="*", color=c, label=label, zorder=4)
        if annotate:
            ax.annotate(f"{p['spearman']:.1f}", (p["uniformity"], p["alignment"]), textcoords="offset points",
                        xytext=(4, -9), fontsize=7, color=c)
    ax.set_xlabel(r"$\ell_{\rm uniform}$ (lower: more uniform)")
    ax.set_ylabel(r"$\ell_{\rm align}$ (lower: paraphrases closer)")
    ax.legend(fontsize=7, loc="best")
    return ax


def _model_path(name: str) -> str:
    """A loadable path or hub id for a model name of the book."""
    low = str(name).lower()
    if low in ("mini-bert", "minibert"):
        return str(mini_bert_path())
    if low in ("all-minilm-l6-v2", "minilm"):
        return _minilm_path()
    return HUB_NAMES.get(str(name), str(name))


def _model_fingerprint(name: str) -> str:
    path = Path(_model_path(name))
    if not path.is_dir():
        return str(name)  # a hub id: its name identifies it
    stamp = tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in sorted(path.iterdir()))
    return _folder_hash(str(path), stamp)


@functools.lru_cache(maxsize=32)
def _folder_hash(path: str, stamp: tuple) -> str:
    path = Path(path)
    h = hashlib.sha256()
    for f in sorted(path.iterdir()):
        if f.suffix in (".safetensors", ".bin") or f.name == "config.json":
            h.update(f.name.encode())
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    h.update(block)
    return h.hexdigest()


# ----------------------------------------------------------------------------- training data
def training_sentences(source: str, n: int | None = None, data_dir=None) -> list[str]:
    """Unlabeled training sentences (chapter "SimCSE"); see :class:`SimCSEConfig` for ``source``."""
    if source in ("wiki1m", "enwiki"):
        return data_mod.load_sentences(source, n, data_dir)
    if source == "wiki1m+enwiki":
        out = data_mod.load_sentences("wiki1m", None, data_dir) + data_mod.load_sentences("enwiki", None, data_dir)
        return out[:n] if n is not None else out
    if source == "wiki1m-full":
        path = data_mod.resolve_data_dir(data_dir) / "wiki1m" / "wiki1m_for_simcse.txt"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
            os.close(fd)
            try:
                data_mod._fetch(WIKI1M_URL, Path(tmp), 30.0)
                os.replace(tmp, path)
            except OSError as e:
                Path(tmp).unlink(missing_ok=True)
                raise data_mod.DataError(
                    f"SimCSE's wiki1m_for_simcse.txt is not in {path.parent} and could not be downloaded from "
                    f"{WIKI1M_URL} ({getattr(e, 'reason', e)}); put the file there or use sentences='wiki1m' "
                    f"(the sample in the data directory)") from e
        path = Path(path)
    else:
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"unknown sentence source {source!r}: not wiki1m, enwiki, wiki1m+enwiki, "
                             f"wiki1m-full or an existing text file")
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in lines if ln]
    return lines[:n] if n is not None else lines


def supervised_examples(source: str = "sick", data_dir=None) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """SimCSE's supervised examples from SICK train (chapter "SimCSE"): ``(pairs, triplets)``.

    Each ENTAILMENT pair (A, B) is a positive pair; when a CONTRADICTION pair
    (A, C) with the same premise A exists, the example becomes the triplet
    (A, B, C) with C as the hard negative, as SimCSE does with NLI.
    """
    if source != "sick":
        raise ValueError(f"unknown supervised source {source!r}; only 'sick' is available offline")
    df = data_mod.load_sick_pairs("train", data_dir)
    contra = {}
    for a, b in zip(df.sentence_A[df.entailment == "CONTRADICTION"], df.sentence_B[df.entailment == "CONTRADICTION"]):
        contra.setdefault(a, b)
    pairs, triplets = [], []
    for a, b in zip(df.sentence_A[df.entailment == "ENTAILMENT"], df.sentence_B[df.entailment == "ENTAILMENT"]):
        (triplets.append((a, b, contra[a])) if a in contra else pairs.append((a, b)))
    return pairs, triplets


def _train_dataset(config: SimCSEConfig, data_dir=None):
    from datasets import Dataset
    if config.supervised:
        pairs, triplets = supervised_examples(config.supervised, data_dir)
        sets = {}
        if triplets:
            sets["with_negative"] = Dataset.from_dict({"anchor": [t[0] for t in triplets],
                                                       "positive": [t[1] for t in triplets],
                                                       "negative": [t[2] for t in triplets]})
        if pairs:
            sets["pairs"] = Dataset.from_dict({"anchor": [p[0] for p in pairs], "positive": [p[1] for p in pairs]})
        return sets
    s = training_sentences(config.sentences, config.n_sentences, data_dir)
    if config.positive == "delete_word":
        second = [delete_word(x, config.seed * 1_000_003 + i) for i, x in enumerate(s)]
    else:
        second = list(s)
    return Dataset.from_dict({"anchor": s, "positive": second})


# ----------------------------------------------------------------------------- measuring on STS-B dev
def _dev_task(name: str = "stsb-dev", data_dir=None):
    return data_mod.load_task(name, data_dir=data_dir)


class DevProbe:
    """Spearman, alignment and uniformity of an encoder on one STS split (chapters "SimCSE" and
    "Alignment and uniformity").

    The protocol of SimCSE's Figures 2 and 3: positive pairs are the pairs with
    a gold score above 4 (alignment), the data distribution is every distinct
    sentence of the split (uniformity); both on L2-normalized embeddings, with
    alpha = 2 and t = 2. Rows of zero norm (e.g. a sentence without a GloVe
    word) are left out of both.
    """

    def __init__(self, task="stsb-dev", data_dir=None):
        self.task = _dev_task(task, data_dir) if isinstance(task, str) else task
        self.sentences = list(dict.fromkeys(self.task.sentences1 + self.task.sentences2))
        row = {s: i for i, s in enumerate(self.sentences)}
        self.i1 = np.array([row[s] for s in self.task.sentences1])
        self.i2 = np.array([row[s] for s in self.task.sentences2])
        self.positive = np.asarray(self.task.scores) > 4

    def measure(self, emb: np.ndarray) -> dict:
        """``{"spearman", "alignment", "uniformity"}`` of embeddings of :attr:`sentences` (in that order)."""
        emb = np.asarray(emb, dtype=np.float64)
        ok = np.linalg.norm(emb, axis=1) > 0
        pos = self.positive & ok[self.i1] & ok[self.i2]
        return {"spearman": score_task(self.task, emb[self.i1], emb[self.i2], by_subset=False)["all"],
                "alignment": metrics.alignment(emb[self.i1[pos]], emb[self.i2[pos]]),
                "uniformity": metrics.uniformity(emb[ok])}

    def measure_encoder(self, encoder, pooling: str = "cls", transform=None, cache: bool = True) -> dict:
        emb = load_encoder(encoder).encode(self.sentences, pooling=pooling, cache=cache, show_progress=False)
        return self.measure(transform(emb) if transform is not None else emb)


def pretext_stats(encoder, sentences, pooling: str = "cls", positive: str = "dropout", batch_size: int = 64,
                  temperature: float = 0.05, seed: int = 0) -> dict:
    """How hard the contrastive pretext task is for an encoder (chapter "SimCSE").

    Encodes ``sentences`` twice in training mode (two dropout masks; for
    ``delete_word`` the second view misses a word; for ``no_dropout`` in eval
    mode), in batches, and returns the mean InfoNCE ``loss`` at ``temperature``
    (``log(batch_size)`` is chance), the ``top1`` accuracy of finding the
    positive among the batch, the ``alignment`` of the two views and the mean
    cosine of in-batch negatives ``neg_cos``, all on the pooled vector.
    """
    encoder = load_encoder(encoder)
    model, tok = encoder.model, encoder.tokenizer
    second = [delete_word(x, seed + i) for i, x in enumerate(sentences)] if positive == "delete_word" else sentences
    was_training = model.training
    model.train(positive != "no_dropout")
    torch.manual_seed(seed)
    losses, top1, align, neg = [], [], [], []
    with torch.no_grad():
        for s in range(0, len(sentences) - batch_size + 1, batch_size):
            views = []
            for batch in (sentences[s:s + batch_size], second[s:s + batch_size]):
                b = tok(batch, truncation=True, max_length=encoder.max_length, padding=True, return_tensors="pt")
                o = model(**b, output_hidden_states=pooling != "cls")
                views.append(F.normalize(pool(o.last_hidden_state, o.hidden_states, b["attention_mask"], pooling), dim=-1))
            sim = views[0] @ views[1].T
            losses.append(F.cross_entropy(sim / temperature, torch.arange(len(sim))).item())
            top1.append((sim.argmax(1) == torch.arange(len(sim))).float().mean().item())
            align.append((views[0] - views[1]).norm(dim=1).pow(2).mean().item())
            neg.append(((sim.sum() - sim.diagonal().sum()) / (len(sim) * (len(sim) - 1))).item())
    model.train(was_training)
    return {"loss": float(np.mean(losses)), "top1": float(np.mean(top1)), "alignment": float(np.mean(align)),
            "neg_cos": float(np.mean(neg))}


# ----------------------------------------------------------------------------- one pass, several poolings
def encode_many(encoder, sentences, poolings=("cls", "mean", "first_last_avg")) -> dict:
    """``{pooling: (n, d) array}``, cached (chapter "SimCSE").

    The encoders of :mod:`aniso.encoders` compute every cheap pooling in one
    forward pass and cache them together, so only the first pooling costs a
    pass; the arrays are those of ``encoder.encode(sentences, pooling)``.
    """
    encoder = load_encoder(encoder)
    return {p: encoder.encode(list(sentences), pooling=p, show_progress=False) for p in poolings}


def evaluate_many(encoder, tasks=data_mod.TASKS, poolings=("cls", "mean", "first_last_avg"),
                  transforms: dict | None = None, data_dir=None) -> dict:
    """``{label: {task: {"all", "wmean", ...}}}`` for several poolings in one encoding pass (chapter "SimCSE").

    Each task's ``sentences1 + sentences2`` are encoded once for all poolings
    and cached under the keys :func:`aniso.evaluation.evaluate_sts` uses, so
    both give the same numbers and share the cache. Labels are the poolings;
    ``transforms`` adds ``{label: (pooling, fitted post-processor)}`` rows,
    e.g. a whitening applied to ``first_last_avg``.
    """
    with free_threads():
        return _evaluate_many(load_encoder(encoder), tasks, poolings, transforms, data_dir)


def _evaluate_many(encoder, tasks, poolings, transforms, data_dir):
    needed = list(dict.fromkeys(list(poolings) + [p for p, _ in (transforms or {}).values()]))
    out = {label: {} for label in [*poolings, *(transforms or {})]}
    for t in tasks:
        d = data_mod.load_task(t, data_dir=data_dir)
        emb = encode_many(encoder, d.sentences1 + d.sentences2, needed)
        variants = {**{p: emb[p] for p in poolings},
                    **{label: post(emb[p]) for label, (p, post) in (transforms or {}).items()}}
        n = len(d)
        for label, x in variants.items():
            out[label][t] = score_task(d, x[:n], x[n:], by_subset=t.startswith("sts1"))
    return out


# ----------------------------------------------------------------------------- training
class AlignUniformLoss(torch.nn.Module):
    """``L_align + lam * L_uniform`` as a sentence-transformers loss (chapter "Alignment and uniformity")."""

    def __init__(self, model, alpha: float = 2, t: float = 2, lam: float = 1):
        super().__init__()
        self.model, self.alpha, self.t, self.lam = model, alpha, t, lam

    def forward(self, sentence_features, labels=None):
        z1, z2 = [self.model(f)["sentence_embedding"] for f in sentence_features][:2]
        return align_uniform_loss(z1, z2, self.alpha, self.t, self.lam)

    def get_config_dict(self):
        return {"alpha": self.alpha, "t": self.t, "lam": self.lam}


def _build_model(config: SimCSEConfig):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Pooling, Transformer
    from transformers import set_seed
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    set_seed(config.seed)  # the MLP head's initialization
    kwargs = {}
    if config.positive == "no_dropout":
        kwargs["config_kwargs"] = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    tr = Transformer(_model_path(config.model), max_seq_length=config.max_length, **kwargs)
    dim = tr.get_embedding_dimension()
    modules = [tr, Pooling(dim, config.pooling)]
    if config.mlp_head_in_training:
        modules.append(Dense(dim, dim, activation_function=torch.nn.Tanh()))
    return SentenceTransformer(modules=modules)


class _Monitor(TrainerCallback):
    """Every ``eval_every`` steps (and at step 0): STS-B dev Spearman, alignment, uniformity of the
    pooled vector *below* the MLP head; the best dev step's encoder goes to ``best/``."""

    def __init__(self, run_dir: Path, config: SimCSEConfig, transformer, tokenizer, probe: DevProbe):
        self.run_dir, self.config, self.probe = run_dir, config, probe
        self.encoder = TransformerEncoder(transformer, tokenizer, "simcse-training")
        self.log_path = run_dir / "evals.jsonl"
        self.best = -np.inf

    def restore(self, upto_step: int):
        """After a resume: keep the records up to the checkpoint and the best dev among them."""
        rows = _read_jsonl(self.log_path)
        rows = [r for r in rows if r["step"] <= upto_step]
        _write_jsonl(self.log_path, rows)
        self.best = max([r["spearman"] for r in rows if r["step"] > 0], default=-np.inf)

    def measure(self, step: int, state):
        self.encoder.invalidate()
        m = {"step": step, **self.probe.measure_encoder(self.encoder, self.config.pooling, cache=(step == 0))}
        with open(self.log_path, "a") as f:
            f.write(json.dumps(m) + "\n")
        if step > 0 and m["spearman"] > self.best:  # dev-set model selection, as in the paper
            self.best = m["spearman"]
            best = self.run_dir / "best"
            tmp = self.run_dir / "best.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            self.encoder.model.save_pretrained(tmp)
            self.encoder.tokenizer.save_pretrained(tmp)
            (tmp / "aniso_step.json").write_text(json.dumps({"step": step, "spearman": m["spearman"]}))
            shutil.rmtree(best, ignore_errors=True)
            os.replace(tmp, best)

    def on_train_begin(self, args, state, control, **kw):
        if state.is_world_process_zero and state.global_step == 0 and not _read_jsonl(self.log_path):
            self.measure(0, state)

    def on_step_end(self, args, state, control, **kw):
        last = min(state.max_steps, self.config.stop_after or state.max_steps)
        if state.is_world_process_zero and (state.global_step % self.config.eval_every == 0
                                            or state.global_step == last):
            self.measure(state.global_step, state)



class _StopAfter(TrainerCallback):
    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kw):
        if state.global_step >= self.step:
            control.should_training_stop = True
            control.should_save = False  # the run is finished: no checkpoint to resume from


def _read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _last_checkpoint(folder: Path) -> Path | None:
    ckpts = sorted(folder.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1])) if folder.is_dir() else []
    return ckpts[-1] if ckpts else None


@dataclass
class SimCSERun:
    """A trained (or interrupted) run: its folder, config and records (chapter "SimCSE")."""

    dir: Path
    config: SimCSEConfig
    summary: dict

    @property
    def done(self) -> bool:
        return bool(self.summary.get("done"))

    @property
    def evals(self):
        """One row per evaluation: step, spearman (STS-B dev), alignment, uniformity."""
        import pandas as pd
        rows = {r["step"]: r for r in _read_jsonl(self.dir / "evals.jsonl")}  # last record per step wins
        return pd.DataFrame([rows[k] for k in sorted(rows)])

    @property
    def loss(self):
        """The training loss every ``log_every`` steps (step, loss, learning_rate)."""
        import pandas as pd
        path = self.dir / "loss.json"
        return pd.DataFrame(json.loads(path.read_text()) if path.exists() else [])

    @property
    def best_step(self) -> int | None:
        return self.summary.get("best_step")

    def encoder(self, name: str | None = None, max_length: int = 128) -> TransformerEncoder:
        """The best dev checkpoint's encoder (the pooled vector below the MLP head); its embedding-cache
        entries are named after the run folder unless ``name`` is given."""
        if not (self.dir / "best").is_dir():
            raise FileNotFoundError(f"{self.dir} holds no best checkpoint yet (train it first)")
        return TransformerEncoder.from_path(str(self.dir / "best"), name or self.dir.name, max_length)

    @classmethod
    def load(cls, run_dir) -> "SimCSERun":
        run_dir = Path(run_dir)
        cfg = SimCSEConfig(**json.loads((run_dir / "config.json").read_text()))
        summary = json.loads((run_dir / "result.json").read_text()) if (run_dir / "result.json").exists() else {}
        return cls(run_dir, cfg, summary)


def train_simcse(config: SimCSEConfig, *, force: bool = False, callbacks=(), data_dir=None,
                 progress: bool = False) -> SimCSERun:
    """Train (or load the cached result of) one contrastive run (chapter "SimCSE").

    A finished run in ``config.run_dir()`` is returned without training
    unless ``force``. An unfinished one resumes from its last checkpoint
    (``resume_from_checkpoint``); the dev records after that checkpoint are
    dropped and recomputed. Returns a :class:`SimCSERun`; ``run.done`` is
    False when training stopped early (e.g. a callback asked it to).
    """
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from transformers.trainer_callback import PrinterCallback
    from transformers.utils import logging as hf_logging
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    if not progress:
        hf_logging.disable_progress_bar()
    run_dir = config.run_dir()
    if force and run_dir.exists():
        shutil.rmtree(run_dir)
    if (run_dir / "result.json").exists():
        return SimCSERun.load(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    rank0 = int(os.environ.get("RANK", "0")) == 0
    if rank0:
        (run_dir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1))

    model = _build_model(config)
    transformer = model[0]
    if config.objective == "align_uniform":
        loss = AlignUniformLoss(model, config.align_alpha, config.uniform_t, config.uniform_weight)
    else:
        loss = MultipleNegativesRankingLoss(model, scale=1.0 / config.temperature,  # negatives from every device
                                            gather_across_devices=int(os.environ.get("WORLD_SIZE", "1")) > 1)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(run_dir / "trainer"), per_device_train_batch_size=config.batch_size,
        learning_rate=config.lr, num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps else -1, warmup_steps=0, lr_scheduler_type="linear",
        weight_decay=0.0, seed=config.seed, data_seed=config.seed, logging_steps=config.log_every,
        save_strategy="steps", save_steps=config.eval_every, save_total_limit=1, report_to="none",
        dataloader_drop_last=True, disable_tqdm=not progress, eval_strategy="no",
        dataloader_pin_memory=torch.cuda.is_available())
    monitor = _Monitor(run_dir, config, transformer.auto_model, transformer.tokenizer,
                                  DevProbe("stsb-dev", data_dir))

    class _Trainer(SentenceTransformerTrainer):
        def add_model_card_callback(self, default_args_dict):  # no model card: nothing to publish
            pass

        def _save(self, output_dir=None, state_dict=None):  # no model card in every checkpoint
            output_dir = output_dir or self.args.output_dir
            os.makedirs(output_dir, exist_ok=True)
            self.model.save_pretrained(output_dir, create_model_card=False)

    stop = [_StopAfter(config.stop_after)] if config.stop_after else []
    trainer = _Trainer(model=model, args=args, train_dataset=_train_dataset(config, data_dir), loss=loss,
                       callbacks=[monitor, *stop, *callbacks])
    if not progress:
        trainer.remove_callback(PrinterCallback)
    ckpt = _last_checkpoint(run_dir / "trainer")
    if ckpt is not None:
        monitor.restore(int(ckpt.name.split("-")[1]))
    elif rank0:
        (run_dir / "evals.jsonl").unlink(missing_ok=True)
    t0 = time.perf_counter()
    with free_threads():  # one thread when another process holds a core (see free_cores)
        trainer.train(resume_from_checkpoint=str(ckpt) if ckpt else None)
    seconds = time.perf_counter() - t0
    state = trainer.state
    done = state.global_step >= min(state.max_steps, config.stop_after or state.max_steps)
    if rank0:
        logs = [{"step": h["step"], "loss": h["loss"], "learning_rate": h.get("learning_rate")}
                for h in state.log_history if "loss" in h]
        (run_dir / "loss.json").write_text(json.dumps(logs))
    summary = {"done": done, "steps": state.global_step, "max_steps": state.max_steps,
               "train_seconds": seconds, "resumed_from": ckpt.name if ckpt else None}
    if (run_dir / "best" / "aniso_step.json").exists():
        summary.update({("best_" + k): v for k, v in
                        json.loads((run_dir / "best" / "aniso_step.json").read_text()).items()})
    if done and rank0:
        shutil.rmtree(run_dir / "trainer", ignore_errors=True)  # optimizer states are only for resuming
        (run_dir / "result.json").write_text(json.dumps(summary, indent=1))
    return SimCSERun(run_dir, config, summary)


# ----------------------------------------------------------------------------- command line
def main(argv=None) -> None:
    """``python -m aniso.contrastive --profile paper`` (also under ``torchrun`` / ``accelerate launch``)."""
    p = argparse.ArgumentParser(prog="python -m aniso.contrastive", description=main.__doc__)
    p.add_argument("--profile", choices=["quick", "paper"], default="quick")
    p.add_argument("--model", help="override the profile's model (short name, folder or hub id)")
    p.add_argument("--sentences", help="override the sentence source (wiki1m, enwiki, wiki1m-full, a file)")
    p.add_argument("--n-sentences", type=int)
    p.add_argument("--max-steps", type=int)
    p.add_argument("--positive", choices=["dropout", "no_dropout", "delete_word"])
    p.add_argument("--objective", choices=["infonce", "align_uniform"])
    p.add_argument("--supervised", choices=["sick"])
    p.add_argument("--output-dir", help="run folder (default: the cache, keyed by the config)")
    p.add_argument("--force", action="store_true", help="retrain even if a finished run is cached")
    a = p.parse_args(argv)
    config = paper_config() if a.profile == "paper" else quick_config()
    changes = {k: v for k, v in dict(model=a.model, sentences=a.sentences, n_sentences=a.n_sentences,
                                     max_steps=a.max_steps, positive=a.positive, objective=a.objective,
                                     supervised=a.supervised, output_dir=a.output_dir).items() if v is not None}
    run = train_simcse(config.replace(**changes), force=a.force, progress=True)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps({"run_dir": str(run.dir), **run.summary}, indent=1))
        if len(run.evals):
            print(run.evals.to_string(index=False))


if __name__ == "__main__":
    main()
