"""The book's plans: which contrastive runs each chapter shows, and their labels.

Introduced in chapter "SimCSE" (notebooks/04_simcse.ipynb); read by chapters 4 to 6 and by the
reference runs (:mod:`aniso.experiments.contrastive_runs`) and the alignment-uniformity plane
(:mod:`aniso.experiments.plane`). These are plans, not engines: they name configurations of
:mod:`aniso.contrastive`, so they live above it.
"""

from __future__ import annotations

from aniso.contrastive import SimCSEConfig, paper_config, quick_config

__all__ = ["book_configs", "RUN_LABELS"]


def book_configs(profile: str = "quick") -> dict[str, SimCSEConfig]:
    """The contrastive runs of the book, by name (chapters 4, 5 and the conclusion).

    ``unsup`` (the main unsupervised run), ``no_dropout`` and ``delete_word``
    (the ablation: in the quick profile the first 25 steps of the same
    schedule), ``sup`` (SICK entailment pairs, contradictions as hard
    negatives, lr 5e-5 as in the paper's supervised runs) and ``align_uniform``
    (the stand-in trained with L_align + L_uniform). Each chapter asks
    :func:`aniso.contrastive.train_simcse` for the runs it shows; finished runs come from the cache.
    """
    if profile not in ("quick", "paper"):
        raise ValueError(f"profile must be 'quick' or 'paper', got {profile!r}")
    quick = profile == "quick"
    unsup = quick_config() if quick else paper_config()
    short = 25 if quick else None
    return {
        "unsup": unsup,
        "no_dropout": unsup.replace(positive="no_dropout", stop_after=short),
        "delete_word": unsup.replace(positive="delete_word", stop_after=short),
        "sup": unsup.replace(
            supervised="sick", lr=5e-5, epochs=1 if quick else 3, eval_every=10 if quick else 125
        ),
        "align_uniform": unsup.replace(objective="align_uniform"),
    }


RUN_LABELS = {
    "unsup": "unsup. SimCSE",
    "no_dropout": "SimCSE, no dropout",
    "delete_word": "SimCSE, delete one word",
    "sup": "sup. SimCSE (SICK)",
    "align_uniform": "align + uniform",
}
