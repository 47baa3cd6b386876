"""The book's profiles: what a chapter runs, named once in its parameters cell.

Introduced in chapter "The problem" (notebooks/00_the_problem.ipynb). Every chapter's first
cell sets ``PROFILE``; :func:`profile` turns that name into a :class:`Profile`, the one object
that says which base model the chapter studies and trains, which sentences SimCSE reads, how
much data and how many steps, and whether the chapter stays on the CPU. The functions that
need it take it as an argument (:func:`aniso.experiments.book_plans.book_configs`,
:func:`lm_setup`); nothing below this layer knows which profile runs.

``quick``
    The rendered book: the stand-in BERT (``mini-bert``), the 11,913-sentence wiki1m head, short
    runs, CPU only.
``paper``
    The papers' models and data: ``bert-base-uncased`` and SimCSE's million sentences
    (``wiki1m-full``), full-length runs; needs the internet and, to train, a GPU.
``smoke``
    The paper profile's code paths with local stand-ins, offline on a CPU in minutes (``make
    smoke``): ``mini-bert`` in place of ``bert-base-uncased``, the local wiki1m head in place of
    ``wiki1m-full``, :data:`SMOKE_STEPS` SimCSE steps, the language models at the quick size for
    :data:`SMOKE_LM_STEPS` steps, about :data:`SMOKE_PAIRS` pairs of each STS task
    (``max_pairs``, which the chapters pass to the functions that load tasks). Its numbers
    prove that the code runs, not what it finds: a claim of the prose that they do not support
    is printed instead of failing (:func:`aniso.book.claim`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = [
    "Profile",
    "PROFILES",
    "profile",
    "lm_setup",
    "changes_table",
    "SMOKE_STEPS",
    "SMOKE_EVAL_EVERY",
    "SMOKE_LM_STEPS",
    "SMOKE_LM_EVAL_TOKENS",
    "SMOKE_PAIRS",
]

SMOKE_STEPS = 4  # SimCSE steps of a smoke run
SMOKE_EVAL_EVERY = 2  # ... with an STS-B dev evaluation every this many steps
SMOKE_LM_STEPS = 20  # language-model steps of a smoke run (chapters 1 and 2)
SMOKE_LM_EVAL_TOKENS = 2000  # held-out tokens its perplexity is measured on
SMOKE_PAIRS = 300  # at most about this many pairs of each STS task (every k-th pair)


@dataclass(frozen=True)
class Profile:
    """What a chapter runs (see the module docstring)."""

    name: str
    base_model: str  # the BERT the chapters study and train
    sentences: str  # SimCSE's unlabeled sentences
    small_data: bool  # the quick profile's data sizes (e.g. 5,000 wiki1m sentences for a fit)
    lm_size: str  # the language models' size: a key of aniso.lm.PROFILES
    simcse_steps: int | None = None  # at most this many SimCSE steps (None: the run's own)
    eval_every: int | None = None  # STS-B dev every this many steps (None: the run's own)
    lm_steps: int | None = None  # at most this many language-model steps (None: the size's)
    lm_eval_tokens: int | None = None  # held-out tokens of the perplexity (None: the size's)
    max_pairs: int | None = None  # at most about this many pairs of each STS task (aniso.data.thin)
    cpu_only: bool = False  # stay on the CPU even where a GPU is (the book's numbers)
    claims_fail: bool = True  # False: an unsupported claim is printed (the smoke run)

    @property
    def quick(self) -> bool:
        """The rendered book's profile (the stand-in, short runs, the reference runs beside)."""
        return self.name == "quick"

    @property
    def cut(self) -> bool:
        """Whether this profile cuts the paper's runs (the smoke run)."""
        return (
            self.simcse_steps is not None or self.lm_steps is not None or self.max_pairs is not None
        )


PROFILES = {
    "quick": Profile(
        "quick", "mini-bert", "wiki1m", small_data=True, lm_size="quick", cpu_only=True
    ),
    "paper": Profile(
        "paper", "bert-base-uncased", "wiki1m-full", small_data=False, lm_size="paper"
    ),
    "smoke": Profile(
        "smoke",
        "mini-bert",
        "wiki1m",
        small_data=True,
        lm_size="quick",
        simcse_steps=SMOKE_STEPS,
        eval_every=SMOKE_EVAL_EVERY,
        lm_steps=SMOKE_LM_STEPS,
        lm_eval_tokens=SMOKE_LM_EVAL_TOKENS,
        max_pairs=SMOKE_PAIRS,
        claims_fail=False,
    ),
}


def profile(name: str | Profile) -> Profile:
    """The :class:`Profile` named ``name`` (a Profile is returned as it is)."""
    if isinstance(name, Profile):
        return name
    if name not in PROFILES:
        raise ValueError(f"PROFILE = {name!r}: expected one of {', '.join(PROFILES)}")
    return PROFILES[name]


def lm_setup(p: str | Profile) -> dict:
    """The language-model set-up of chapters 1 and 2 (``{"vocab_size": ..., "config":
    TrainConfig}``): :data:`aniso.lm.PROFILES` at the profile's size, its steps and held-out
    tokens cut where the profile cuts them (the smoke run)."""
    from aniso.lm import PROFILES as LM_SIZES

    p = profile(p)
    setup = LM_SIZES[p.lm_size]
    config = setup["config"]
    if p.lm_steps is not None:
        config = replace(config, steps=min(config.steps, p.lm_steps))
    if p.lm_eval_tokens is not None:
        config = replace(config, eval_tokens=p.lm_eval_tokens)
    return {**setup, "config": config}


def changes_table(p: str | Profile):
    """What a profile changes in the paper profile, as a table (empty for quick and paper):
    chapters print it at their start."""
    import pandas as pd

    p, paper = profile(p), PROFILES["paper"]
    rows = []
    if p.cut:
        rows = [
            ("model", paper.base_model, f"{p.base_model} (the book's stand-in)"),
            (
                "SimCSE's sentences",
                f"{paper.sentences} (10^6 sentences, downloaded)",
                f"{p.sentences} (the data folder's head)",
            ),
            (
                "SimCSE training",
                "one epoch (15,625 steps of 64)",
                f"{p.simcse_steps} steps, STS-B dev every {p.eval_every}",
            ),
            ("unlabeled sentences", "all", "the quick profile's sizes"),
            (
                "STS tasks",
                "every pair",
                f"about {p.max_pairs} pairs of each (every k-th pair: aniso.data.thin)",
            ),
            (
                "language models (chapters 1-2)",
                "the paper profile's size",
                f"the {p.lm_size} profile's size, at most {p.lm_steps} steps, perplexity on "
                f"{p.lm_eval_tokens:,} tokens",
            ),
            (
                "the prose's checked claims",
                "a claim the numbers do not support fails the run",
                "printed, not failed (these numbers are not the prose's)",
            ),
        ]
    return pd.DataFrame(rows, columns=["what", "paper profile", f"{p.name} profile"])
