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
"""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from . import data as data_mod
from .encoders import load_encoder

TASK_LABELS = {"sts12": "STS12", "sts13": "STS13", "sts14": "STS14", "sts15": "STS15",
               "sts16": "STS16", "stsb": "STS-B", "sickr": "SICK-R"}

# Published Spearman x 100 on the test sets, as printed in each paper.
# (source, row) -> {task: value}
PAPER_NUMBERS: dict[tuple[str, str], dict[str, float]] = {
    ("SBERT Table 1", "Avg. GloVe embeddings"): dict(
        sts12=55.14, sts13=70.66, sts14=59.73, sts15=68.25, sts16=63.66, stsb=58.02, sickr=53.76),
    ("SBERT Table 1", "Avg. BERT embeddings (bert-base)"): dict(
        sts12=38.78, sts13=57.98, sts14=57.98, sts15=63.15, sts16=61.06, stsb=46.35, sickr=58.40),
    ("SBERT Table 1", "BERT CLS-vector (bert-base)"): dict(
        sts12=20.16, sts13=30.01, sts14=20.09, sts15=36.88, sts16=38.08, stsb=16.50, sickr=42.63),
    ("SBERT Table 1", "SBERT-NLI-base"): dict(
        sts12=70.97, sts13=76.53, sts14=73.19, sts15=79.09, sts16=74.30, stsb=77.03, sickr=72.91),
    ("SimCSE Table 5", "GloVe embeddings (avg.)"): dict(
        sts12=55.14, sts13=70.66, sts14=59.73, sts15=68.25, sts16=63.66, stsb=58.02, sickr=53.76),
    ("SimCSE Table 5", "BERT-base (first-last avg.)"): dict(
        sts12=39.70, sts13=59.38, sts14=49.67, sts15=66.03, sts16=66.19, stsb=53.87, sickr=62.06),
    ("SimCSE Table 5", "BERT-base-flow"): dict(
        sts12=58.40, sts13=67.10, sts14=60.85, sts15=75.16, sts16=71.22, stsb=68.66, sickr=64.47),
    ("SimCSE Table 5", "BERT-base-whitening"): dict(
        sts12=57.83, sts13=66.90, sts14=60.90, sts15=75.08, sts16=71.31, stsb=68.24, sickr=63.73),
    ("SimCSE Table 5", "Unsup-SimCSE-BERT-base"): dict(
        sts12=68.40, sts13=82.41, sts14=74.38, sts15=80.91, sts16=78.56, stsb=76.85, sickr=72.23),
    # Li et al. 2020 (BERT-flow), Table 2, bert-base-uncased rows of "Our Implementation";
    # "last2avg" is first-last averaging in their code (Su et al. 2021, footnote 2).
    ("BERT-flow Table 2", "BERT-base (last avg.)"): dict(
        stsb=47.29, sickr=58.21, sts12=49.07, sts13=55.92, sts14=54.75, sts15=62.75, sts16=65.19),
    ("BERT-flow Table 2", "BERT-base-last2avg"): dict(
        stsb=59.04, sickr=63.75, sts12=57.84, sts13=61.95, sts14=62.48, sts15=70.95, sts16=69.81),
    ("BERT-flow Table 2", "BERT-base-flow (NLI)"): dict(
        stsb=58.56, sickr=65.44, sts12=59.54, sts13=64.69, sts14=64.66, sts15=72.92, sts16=71.84),
    ("BERT-flow Table 2", "BERT-base-flow (target)"): dict(
        stsb=70.72, sickr=63.11, sts12=63.48, sts13=72.14, sts14=68.42, sts15=73.77, sts16=75.37),
    # Su et al. 2021 (BERT-whitening), Table 1, bert-base rows of "Our implementation".
    ("BERT-whitening Table 1", "BERT-base-first-last-avg"): dict(
        stsb=59.04, sts12=57.86, sts13=61.97, sts14=62.49, sts15=70.96, sts16=69.76, sickr=63.75),
    ("BERT-whitening Table 1", "BERT-base-whitening (NLI)"): dict(
        stsb=68.19, sts12=61.69, sts13=65.70, sts14=66.02, sts15=75.11, sts16=73.11, sickr=63.60),
    ("BERT-whitening Table 1", "BERT-base-whitening-256 (NLI)"): dict(
        stsb=67.51, sts12=61.46, sts13=66.71, sts14=66.17, sts15=74.82, sts16=72.10, sickr=64.90),
    ("BERT-whitening Table 1", "BERT-base-whitening (target)"): dict(
        stsb=71.34, sts12=63.62, sts13=73.02, sts14=69.23, sts15=74.52, sts16=72.15, sickr=60.60),
    ("BERT-whitening Table 1", "BERT-base-whitening-256 (target)"): dict(
        stsb=71.43, sts12=63.89, sts13=73.76, sts14=69.08, sts15=74.59, sts16=74.40, sickr=62.20),
    # Gao et al. 2021 (SimCSE), Table C.1: the target variants re-run in the "all" setting.
    ("SimCSE Table C.1", "BERT-flow (target)"): dict(
        sts12=53.15, sts13=78.38, sts14=66.02, sts15=62.09, sts16=70.84, stsb=71.70, sickr=61.97),
    ("SimCSE Table C.1", "BERT-whitening (target)"): dict(
        sts12=42.88, sts13=77.77, sts14=66.28, sts15=63.60, sts16=67.58, stsb=71.34, sickr=60.40),
}
# BERT-flow and BERT-whitening use "wmean", as established by SimCSE, Appendix B (Tables B.1-B.3).
PAPER_SETTINGS = {"SBERT Table 1": "all",  # SimCSE Table B.2 shows SBERT used "all"
                  "SimCSE Table 5": "all", "BERT-flow Table 2": "wmean",
                  "BERT-whitening Table 1": "wmean", "SimCSE Table C.1": "all"}


def spearman_x100(predicted, gold) -> float:
    """Spearman's rank correlation times 100. Chapter "The problem"."""
    predicted, gold = np.asarray(predicted, dtype=float), np.asarray(gold, dtype=float)
    if predicted.shape != gold.shape or predicted.ndim != 1:
        raise ValueError(f"predicted and gold scores must be 1-D of equal length, "
                         f"got shapes {predicted.shape} and {gold.shape}")
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
        raise ValueError(f"the two sides must be 2-D arrays of equal shape, got {emb1.shape} and {emb2.shape}")
    if not (np.isfinite(emb1).all() and np.isfinite(emb2).all()):
        raise ValueError("embeddings contain NaN or infinite values; check the encoder output")
    n1, n2 = np.linalg.norm(emb1, axis=1), np.linalg.norm(emb2, axis=1)
    zero = (n1 == 0) | (n2 == 0)
    cos = np.einsum("ij,ij->i", emb1, emb2) / np.where(zero, 1.0, n1 * n2)
    cos[zero] = 0.0
    return cos, int(zero.sum())


def score_task(task: "data_mod.STSData", emb1: np.ndarray, emb2: np.ndarray,
               by_subset: bool = True) -> dict:
    """Spearman x100 of one task in both settings ("all" and "wmean"). Chapter "The problem".

    With ``by_subset=False`` (STS-B, SICK-R) "wmean" equals "all".
    """
    if len(emb1) != len(task):
        raise ValueError(f"{task.name} has {len(task)} pairs but {len(emb1)} embeddings were given")
    cos, n_zero = pair_cosines(emb1, emb2)
    gold = np.asarray(task.scores, dtype=float)
    subsets = np.asarray(task.subsets)
    result = {"all": spearman_x100(cos, gold), "n": len(gold), "n_zero_norm": n_zero}
    if not by_subset:
        result["wmean"] = result["all"]
        return result
    total, acc = 0, 0.0
    for sub in dict.fromkeys(subsets):
        sel = subsets == sub
        acc += spearman_x100(cos[sel], gold[sel]) * sel.sum()
        total += sel.sum()
    result["wmean"] = float(acc / total)
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
        raise ValueError(f"unknown task(s) {', '.join(bad)}; choose from {', '.join(data_mod.TASKS)} or 'all'")
    return names


def evaluate_sts(model, tasks="stsb", pooling: str = "mean", data_dir=None,
                 transform: Callable[[np.ndarray], np.ndarray] | None = None,
                 batch_size: int = 64, show_progress: bool | None = None) -> dict[str, dict]:
    """Evaluate an encoder on STS tasks: ``{task: {"all", "wmean", "n", "n_zero_norm"}}``.

    ``transform`` is applied to the embeddings of both sides before scoring
    (e.g. a fitted whitening). Chapter "The problem".
    """
    encoder = load_encoder(model)
    results = {}
    for name in parse_tasks(tasks):
        task = data_mod.load_task(name, data_dir=data_dir)
        emb = encoder.encode(task.sentences1 + task.sentences2, pooling=pooling,
                             batch_size=batch_size, show_progress=show_progress)
        if transform is not None:
            emb = transform(emb)
        n = len(task)
        results[name] = score_task(task, emb[:n], emb[n:], by_subset=name.startswith("sts1"))
    return results


def results_table(results: dict[str, dict[str, dict]], setting: str = "all",
                  papers: Iterable[tuple[str, str]] = ()) -> pd.DataFrame:
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
        rows[(row, src, PAPER_SETTINGS[src])] = {TASK_LABELS[t]: v for t, v in PAPER_NUMBERS[key].items()}
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index = pd.MultiIndex.from_tuples(df.index, names=["method", "source", "setting"])
    cols = [c for c in TASK_LABELS.values() if c in df.columns]
    df = df[cols]
    if len(cols) > 1:
        df["Avg."] = df[cols].mean(axis=1, skipna=False)
    return df.round(2)
