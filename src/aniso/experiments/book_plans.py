"""The book's plans: which contrastive runs each chapter shows, and their labels.

Introduced in chapter "SimCSE" (notebooks/04_simcse.ipynb); read by chapters 4, 5 and 7 and by the
reference runs (:mod:`aniso.experiments.contrastive_runs`) and the alignment-uniformity plane
(:mod:`aniso.experiments.plane`). These are plans, not engines: they name configurations of
:mod:`aniso.contrastive`, so they live above it.
"""

from __future__ import annotations

from aniso.contrastive import SimCSEConfig, paper_config, quick_config
from aniso.experiments.profiles import Profile
from aniso.experiments.profiles import profile as as_profile

__all__ = ["book_configs", "cut", "RUN_LABELS"]


def book_configs(profile: str | Profile = "quick") -> dict[str, SimCSEConfig]:
    """The contrastive runs of the book, by name (chapters 4, 5 and the conclusion), for a
    profile (:mod:`aniso.experiments.profiles`, or its name).

    ``unsup`` (the main unsupervised run), ``no_dropout`` and ``delete_word``
    (the ablation: in the quick profile the first 25 steps of the same
    schedule), ``sup`` (SICK entailment pairs, contradictions as hard
    negatives, lr 5e-5 as in the paper's supervised runs) and ``align_uniform``
    (the stand-in trained with L_align + L_uniform). Each chapter asks
    :func:`aniso.contrastive.train_simcse` for the runs it shows; finished runs come from the cache.
    The paper profile's runs are the paper's; the smoke profile's are the same runs with its
    base model and sentences, cut to its steps.
    """
    p = as_profile(profile)
    quick = p.quick
    unsup = quick_config() if quick else paper_config(model=p.base_model, sentences=p.sentences)
    short = 25 if quick else None
    runs = {
        "unsup": unsup,
        "no_dropout": unsup.replace(positive="no_dropout", stop_after=short),
        "delete_word": unsup.replace(positive="delete_word", stop_after=short),
        "sup": unsup.replace(
            supervised="sick", lr=5e-5, epochs=1 if quick else 3, eval_every=10 if quick else 125
        ),
        "align_uniform": unsup.replace(objective="align_uniform"),
    }
    return {name: cut(config, p) for name, config in runs.items()}


def cut(config: SimCSEConfig, profile: str | Profile) -> SimCSEConfig:
    """``config`` cut to the profile's steps and evaluation interval (the smoke profile's:
    :data:`aniso.experiments.profiles.SMOKE_STEPS`); unchanged for a profile that cuts nothing."""
    p = as_profile(profile)
    if p.simcse_steps is None:
        return config
    steps = min(config.max_steps or p.simcse_steps, p.simcse_steps)
    stop = None if config.stop_after is None else min(config.stop_after, steps)
    return config.replace(max_steps=steps, stop_after=stop, eval_every=p.eval_every, log_every=1)


RUN_LABELS = {
    "unsup": "unsup. SimCSE",
    "no_dropout": "SimCSE, no dropout",
    "delete_word": "SimCSE, delete one word",
    "sup": "sup. SimCSE (SICK)",
    "align_uniform": "align + uniform",
}
