"""STS evaluation the SentEval/SimCSE way, and tables with the papers' numbers beside ours.

Introduced in chapter "The problem" (notebooks/00_the_problem.ipynb).

Protocol (Conneau & Kiela 2018; Gao et al. 2021, Appendix B): the score of a
pair is the cosine similarity of the two sentence embeddings; the metric is
Spearman's rank correlation with the gold scores, times 100. STS12-16 are
reported in two settings that papers mix up:

* ``all``: one Spearman over all pairs of a year pooled (SimCSE's choice);
* ``wmean``: Spearman per subset, averaged weighted by subset size
  (SentEval's default and e.g. SBERT's).

STS-B and SICK-R are scored on their test splits; both settings coincide.

:func:`evaluate_many` scores several poolings of one encoder on several tasks
with one encoding pass (chapters "SimCSE" and on); :class:`DevProbe` places an
encoder on the alignment-uniformity plane (Spearman, alignment, uniformity on
STS-B dev) and :func:`book_plane` every model of the book; :func:`pretext_stats`
measures how hard the contrastive pretext
task is for an encoder (chapter "SimCSE"). The papers' numbers shown beside
ours are in :mod:`aniso.evaluation.papers`.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from aniso.data import tasks as data_mod
from aniso.encoders.models import load_encoder
from aniso.evaluation.papers import PAPER_NUMBERS, PAPER_SETTINGS
from aniso.geometry import metrics

TASK_LABELS = {
    "sts12": "STS12",
    "sts13": "STS13",
    "sts14": "STS14",
    "sts15": "STS15",
    "sts16": "STS16",
    "stsb": "STS-B",
    "sickr": "SICK-R",
}


def spearman_x100(predicted, gold) -> float:
    """Spearman's rank correlation times 100. Chapter "The problem"."""
    predicted, gold = np.asarray(predicted, dtype=float), np.asarray(gold, dtype=float)
    if predicted.shape != gold.shape or predicted.ndim != 1:
        raise ValueError(
            f"predicted and gold scores must be 1-D of equal length, "
            f"got shapes {predicted.shape} and {gold.shape}"
        )
    if len(gold) < 2:
        raise ValueError("need at least two pairs to compute a rank correlation")
    if not (np.isfinite(predicted).all() and np.isfinite(gold).all()):
        raise ValueError("scores contain NaN or infinite values")
    return float(spearmanr(predicted, gold).statistic * 100)


def pair_cosines(emb1: np.ndarray, emb2: np.ndarray) -> tuple[np.ndarray, int]:
    """Row-wise cosine of two embedding matrices; rows with zero norm score 0.

    Returns the cosines and the number of pairs with a zero-norm side (e.g. a
    sentence with no GloVe word). Chapter "The problem".
    """
    emb1, emb2 = np.asarray(emb1, dtype=np.float64), np.asarray(emb2, dtype=np.float64)
    if emb1.shape != emb2.shape or emb1.ndim != 2:
        raise ValueError(
            f"the two sides must be 2-D arrays of equal shape, got {emb1.shape} and {emb2.shape}"
        )
    if not (np.isfinite(emb1).all() and np.isfinite(emb2).all()):
        raise ValueError("embeddings contain NaN or infinite values; check the encoder output")
    n1, n2 = np.linalg.norm(emb1, axis=1), np.linalg.norm(emb2, axis=1)
    zero = (n1 == 0) | (n2 == 0)
    cos = np.einsum("ij,ij->i", emb1, emb2) / np.where(zero, 1.0, n1 * n2)
    cos[zero] = 0.0
    return cos, int(zero.sum())


def score_task(
    task: "data_mod.STSData",
    emb1: np.ndarray,
    emb2: np.ndarray,
    by_subset: bool = True,
    keep_cosines: bool = False,
) -> dict:
    """Spearman x100 of one task in both settings ("all" and "wmean"). Chapter "The problem".

    Also ``"mean"``, the unweighted mean of the per-subset correlations (SentEval's other
    aggregation; chapter "Reproducing the numbers"). With ``by_subset=False`` (STS-B, SICK-R)
    "wmean" and "mean" equal "all". ``keep_cosines`` adds ``"cosines"`` and ``"gold"``, the
    pairs' scores, for a bootstrap over the pairs (chapter "Conclusion").
    """
    if len(emb1) != len(task):
        raise ValueError(f"{task.name} has {len(task)} pairs but {len(emb1)} embeddings were given")
    cos, n_zero = pair_cosines(emb1, emb2)
    gold = np.asarray(task.scores, dtype=float)
    subsets = np.asarray(task.subsets)
    result = {"all": spearman_x100(cos, gold), "n": len(gold), "n_zero_norm": n_zero}
    if keep_cosines:
        result |= {"cosines": cos, "gold": gold}
    if not by_subset:
        result["wmean"] = result["mean"] = result["all"]
        return result
    per_subset, sizes = [], []
    for sub in dict.fromkeys(subsets):
        sel = subsets == sub
        per_subset.append(spearman_x100(cos[sel], gold[sel]))
        sizes.append(sel.sum())
    result["wmean"] = float(np.average(per_subset, weights=sizes))
    result["mean"] = float(np.mean(per_subset))
    return result


def parse_tasks(tasks: str | Iterable[str]) -> list[str]:
    """``"stsb,sickr"`` or a list -> validated task names. Chapter "The problem"."""
    names = [t.strip().lower() for t in (tasks.split(",") if isinstance(tasks, str) else tasks)]
    names = [t for t in names if t]
    if not names:
        raise ValueError(f"no task given; choose from {', '.join(data_mod.TASKS)} (or 'all')")
    if names == ["all"]:
        return list(data_mod.TASKS)
    bad = [t for t in names if t not in data_mod.TASKS]
    if bad:
        raise ValueError(
            f"unknown task(s) {', '.join(bad)}; choose from {', '.join(data_mod.TASKS)} or 'all'"
        )
    return names


def evaluate_sts(
    model,
    tasks="stsb",
    pooling: str = "mean",
    data_dir=None,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    batch_size: int = 64,
    show_progress: bool | None = None,
    max_pairs: int | None = None,
) -> dict[str, dict]:
    """Evaluate an encoder on STS tasks: ``{task: {"all", "wmean", "n", "n_zero_norm"}}``.

    ``transform`` is applied to the embeddings of both sides before scoring
    (e.g. a fitted whitening); ``max_pairs`` caps each task's pairs
    (:func:`aniso.data.thin`; the smoke profile's cap). Chapter "The problem".
    """
    encoder = load_encoder(model)
    results = {}
    for name in parse_tasks(tasks):
        task = data_mod.load_task(name, data_dir=data_dir, max_pairs=max_pairs)
        emb = encoder.encode(
            task.sentences1 + task.sentences2,
            pooling=pooling,
            batch_size=batch_size,
            show_progress=show_progress,
        )
        if transform is not None:
            emb = transform(emb)
        n = len(task)
        results[name] = score_task(task, emb[:n], emb[n:], by_subset=name.startswith("sts1"))
    return results


def results_table(
    results: dict[str, dict[str, dict]],
    setting: str = "all",
    papers: Iterable[tuple[str, str]] = (),
) -> pd.DataFrame:
    """One row per method, one column per task (+ Avg.), Spearman x100.

    ``results`` maps a row label to the output of :func:`evaluate_sts`;
    ``papers`` names rows of :data:`PAPER_NUMBERS` to show beside ours, each
    labelled with its source and the setting the paper used. Chapter "The problem".
    """
    if setting not in ("all", "wmean"):
        raise ValueError(f"setting must be 'all' or 'wmean', got {setting!r}")
    rows = {}
    for label, res in results.items():
        rows[(label, "ours", setting)] = {TASK_LABELS[t]: r[setting] for t, r in res.items()}
    for key in papers:
        if key not in PAPER_NUMBERS:
            raise ValueError(f"no published numbers for {key}; known: {list(PAPER_NUMBERS)}")
        src, row = key
        rows[(row, src, PAPER_SETTINGS[src])] = {
            TASK_LABELS[t]: v for t, v in PAPER_NUMBERS[key].items()
        }
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index = pd.MultiIndex.from_tuples(df.index, names=["method", "source", "setting"])
    cols = [c for c in TASK_LABELS.values() if c in df.columns]
    df = df[cols]
    if len(cols) > 1:
        df["Avg."] = df[cols].mean(axis=1, skipna=False)
    return df.round(2)


# ------------------------------------------------------------- the alignment-uniformity plane
class DevProbe:
    """Spearman, alignment and uniformity of an encoder on one STS split (chapters "SimCSE" and
    "Alignment and uniformity").

    The protocol of SimCSE's Figures 2 and 3: positive pairs are the pairs with
    a gold score above 4 (alignment), the data distribution is every distinct
    sentence of the split (uniformity); both on L2-normalized embeddings, with
    alpha = 2 and t = 2. Rows of zero norm (e.g. a sentence without a GloVe
    word) are left out of both. ``max_pairs`` caps the split's pairs (:func:`aniso.data.thin`).
    """

    def __init__(self, task="stsb-dev", data_dir=None, max_pairs: int | None = None):
        if isinstance(task, str):
            task = data_mod.load_task(task, data_dir=data_dir, max_pairs=max_pairs)
        self.task = data_mod.thin(task, max_pairs)
        self.sentences = list(dict.fromkeys(self.task.sentences1 + self.task.sentences2))
        row = {s: i for i, s in enumerate(self.sentences)}
        self.i1 = np.array([row[s] for s in self.task.sentences1])
        self.i2 = np.array([row[s] for s in self.task.sentences2])
        self.positive = np.asarray(self.task.scores) > 4

    def measure(self, emb: np.ndarray) -> dict:
        """``{"spearman", "alignment", "uniformity"}`` of embeddings of :attr:`sentences`, in
        that order."""
        emb = np.asarray(emb, dtype=np.float64)
        ok = np.linalg.norm(emb, axis=1) > 0
        pos = self.positive & ok[self.i1] & ok[self.i2]
        return {
            "spearman": score_task(self.task, emb[self.i1], emb[self.i2], by_subset=False)["all"],
            "alignment": metrics.alignment(emb[self.i1[pos]], emb[self.i2[pos]]),
            "uniformity": metrics.uniformity(emb[ok]),
        }

    def measure_encoder(
        self, encoder, pooling: str = "cls", transform=None, cache: bool = True
    ) -> dict:
        emb = load_encoder(encoder).encode(
            self.sentences, pooling=pooling, cache=cache, show_progress=False
        )
        return self.measure(transform(emb) if transform is not None else emb)


RAW_POOLINGS = ("cls", "mean", "emb_last_avg", "layer1_last_avg")


def best_raw_pooling(encoder, data_dir=None, max_pairs: int | None = None) -> tuple[str, dict]:
    """The book's one definition of "the best raw pooling" of an encoder (chapter "BERT-flow").

    The pooling of :data:`RAW_POOLINGS` with the highest Spearman on the STS-B
    *development* set: chosen on dev so that no test set takes part in the
    choice, and the same choice in every chapter. Returns ``(pooling,
    {pooling: dev Spearman x100})``; ties go to the first in :data:`RAW_POOLINGS`.
    ``max_pairs`` caps STS-B dev's pairs (:func:`aniso.data.thin`).
    """
    probe = DevProbe("stsb-dev", data_dir=data_dir, max_pairs=max_pairs)
    enc = load_encoder(encoder)
    usable = [p for p in RAW_POOLINGS if p in enc.poolings]
    if not usable:
        raise ValueError(f"{enc.name} has none of the raw poolings {list(RAW_POOLINGS)}")
    dev = {p: probe.measure_encoder(enc, p)["spearman"] for p in usable}
    return max(dev, key=lambda p: (dev[p], -usable.index(p))), dev


def pretext_stats(
    encoder,
    sentences,
    pooling: str = "cls",
    positive: str = "dropout",
    batch_size: int = 64,
    temperature: float = 0.05,
    seed: int = 0,
    max_length: int | None = None,
) -> dict:
    """How hard the contrastive pretext task is for an encoder (chapter "SimCSE").

    Encodes ``sentences`` twice in training mode (two dropout masks; for
    ``delete_word`` the second view misses a word; for ``no_dropout`` in eval
    mode), in batches, and returns the mean InfoNCE ``loss`` at ``temperature``
    (``log(batch_size)`` is chance), the ``top1`` accuracy of finding the
    positive among the batch, the ``alignment`` of the two views and the mean
    cosine of in-batch negatives ``neg_cos``, all on the pooled vector. ``max_length``
    truncates as the training run does (its ``SimCSEConfig.max_length``; default: the
    encoder's own limit).
    """
    import torch
    import torch.nn.functional as F

    from aniso.data.tasks import delete_word
    from aniso.encoders.models import pool

    encoder = load_encoder(encoder)
    model, tok = encoder.model, encoder.tokenizer
    second = (
        [delete_word(x, seed + i) for i, x in enumerate(sentences)]
        if positive == "delete_word"
        else sentences
    )
    was_training, device = model.training, next(model.parameters()).device
    model.train(positive != "no_dropout")
    torch.manual_seed(seed)
    losses, top1, align, neg = [], [], [], []
    with torch.no_grad():
        for s in range(0, len(sentences) - batch_size + 1, batch_size):
            views = []
            for batch in (sentences[s : s + batch_size], second[s : s + batch_size]):
                b = tok(
                    batch,
                    truncation=True,
                    max_length=max_length or encoder.max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(device)
                o = model(**b, output_hidden_states=pooling != "cls")
                views.append(
                    F.normalize(
                        pool(o.last_hidden_state, o.hidden_states, b["attention_mask"], pooling),
                        dim=-1,
                    )
                )
            sim = (views[0] @ views[1].T).float().cpu()
            losses.append(F.cross_entropy(sim / temperature, torch.arange(len(sim))).item())
            top1.append((sim.argmax(1) == torch.arange(len(sim))).float().mean().item())
            align.append((views[0] - views[1]).norm(dim=1).pow(2).mean().item())
            neg.append(((sim.sum() - sim.diagonal().sum()) / (len(sim) * (len(sim) - 1))).item())
    model.train(was_training)
    return {
        "loss": float(np.mean(losses)),
        "top1": float(np.mean(top1)),
        "alignment": float(np.mean(align)),
        "neg_cos": float(np.mean(neg)),
    }


# ------------------------------------------------------------- one pass, several poolings
def encode_many(encoder, sentences, poolings=("cls", "mean", "emb_last_avg")) -> dict:
    """``{pooling: (n, d) array}``, cached (chapter "SimCSE").

    The encoders of :mod:`aniso.encoders.models` compute every cheap pooling in one
    forward pass and cache them together, so only the first pooling costs a
    pass; the arrays are those of ``encoder.encode(sentences, pooling)``.
    """
    encoder = load_encoder(encoder)
    return {p: encoder.encode(list(sentences), pooling=p, show_progress=False) for p in poolings}


def evaluate_many(
    encoder,
    tasks=data_mod.TASKS,
    poolings=("cls", "mean", "emb_last_avg"),
    transforms: dict | None = None,
    data_dir=None,
    max_pairs: int | None = None,
    keep_cosines: bool = False,
) -> dict:
    """``{label: {task: {"all", "wmean", ...}}}`` for several poolings in one encoding pass.

    Chapter "SimCSE".

    Each task's ``sentences1 + sentences2`` are encoded once for all poolings
    and cached under the keys :func:`aniso.evaluation.evaluate_sts` uses, so
    both give the same numbers and share the cache. Labels are the poolings;
    ``transforms`` adds ``{label: (pooling, fitted post-processor)}`` rows,
    e.g. a whitening applied to ``emb_last_avg``. ``max_pairs`` caps each task's pairs
    (:func:`aniso.data.thin`; the smoke profile's cap); ``keep_cosines`` keeps every pair's
    cosine and gold score (:func:`score_task`).
    """
    from aniso.util.threads import all_threads

    with all_threads():
        return _evaluate_many(
            load_encoder(encoder), tasks, poolings, transforms, data_dir, max_pairs, keep_cosines
        )


def _evaluate_many(encoder, tasks, poolings, transforms, data_dir, max_pairs, keep_cosines):
    needed = list(dict.fromkeys(list(poolings) + [p for p, _ in (transforms or {}).values()]))
    out = {label: {} for label in [*poolings, *(transforms or {})]}
    for t in tasks:
        d = data_mod.load_task(t, data_dir=data_dir, max_pairs=max_pairs)
        emb = encode_many(encoder, d.sentences1 + d.sentences2, needed)
        variants = {
            **{p: emb[p] for p in poolings},
            **{label: post(emb[p]) for label, (p, post) in (transforms or {}).items()},
        }
        n = len(d)
        for label, x in variants.items():
            out[label][t] = score_task(
                d, x[:n], x[n:], by_subset=t.startswith("sts1"), keep_cosines=keep_cosines
            )
    return out
