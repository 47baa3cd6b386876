"""The smoke run of the ``paper`` profile: the paper's code paths, with local stand-ins.

Introduced in the chapter "How to run". The ``paper`` profile needs bert-base-uncased, SimCSE's
million Wikipedia sentences and hours on a GPU. ``ANISO_SMOKE=1`` (the one switch: an environment
variable, so that papermill, ``python -m aniso.contrastive`` and ``torchrun`` all see it) keeps
every code path of the paper profile (model loading through the same resolver, the trainer with
the paper's settings, evaluation on all seven STS sets, the paper-only cells) and changes only
what cannot run offline on a CPU in minutes:

* the model ``bert-base-uncased`` -> the book's stand-in ``mini-bert``;
* SimCSE's ``wiki1m-full`` (downloaded) -> the 11,913-sentence head in the data directory, and
  every unlabeled sentence set is cut to its first :data:`SENTENCES_MAX` sentences;
* training runs a few steps (:data:`STEPS`) with an evaluation every :data:`EVAL_EVERY`;
* every STS task keeps about :data:`TASK_PAIRS` of its pairs (every k-th pair, so each subset
  keeps its share), so that evaluating a model on all seven sets takes seconds;
* the language models of chapters 1 and 2 take the smallest size (the quick profile's), train
  :data:`LM_STEPS` steps and score :data:`LM_EVAL_TOKENS` held-out tokens;
* a claim of the prose that these numbers do not support is printed instead of failing the run
  (:func:`aniso.book.claim`): the smoke run proves that the code runs, not what it finds.

The SimCSE and language-model cuts are :func:`aniso.contrastive.smoke_config` and
:func:`aniso.lm.lm_setup`. Each chapter prints :func:`changes_table` when the overrides are
active.
"""

from __future__ import annotations

import dataclasses
import os

ENV_VAR = "ANISO_SMOKE"
MODELS = {"bert-base-uncased": "mini-bert", "google-bert/bert-base-uncased": "mini-bert"}
SENTENCES = {"wiki1m-full": "wiki1m"}
STEPS = 4
EVAL_EVERY = 2
LM_STEPS = 20
LM_EVAL_TOKENS = 2000
TASK_PAIRS = 300
SENTENCES_MAX = 2000


def active() -> bool:
    """Whether the smoke overrides are on (``ANISO_SMOKE`` set to anything but ``""``/``"0"``)."""
    return os.environ.get(ENV_VAR, "").strip() not in ("", "0")


def model_name(name: str) -> str:
    """The model to load for ``name``: its stand-in during a smoke run, else ``name`` itself."""
    return MODELS.get(name, name) if active() else name


def sentences_name(name: str) -> str:
    """The sentence source to read for ``name``: a local one during a smoke run."""
    return SENTENCES.get(name, name) if active() else name


def sentence_count(n: int | None) -> int | None:
    """How many sentences of an unlabeled set to read when ``n`` are asked for (None: all): at
    most :data:`SENTENCES_MAX` during a smoke run, ``n`` itself otherwise."""
    if not active():
        return n
    return SENTENCES_MAX if n is None else min(n, SENTENCES_MAX)


def task_pairs(task):
    """An STS task (:class:`aniso.data.STSData`) cut to about :data:`TASK_PAIRS` pairs during a
    smoke run: every k-th pair, so that each subset keeps its share and its order. Unchanged
    when inactive or when the task is already that small."""
    n = len(task)
    if not active() or n <= TASK_PAIRS:
        return task
    keep = range(0, n, -(-n // TASK_PAIRS))  # stride ceil(n / TASK_PAIRS)
    return dataclasses.replace(
        task,
        sentences1=[task.sentences1[i] for i in keep],
        sentences2=[task.sentences2[i] for i in keep],
        scores=task.scores[list(keep)],
        subsets=[task.subsets[i] for i in keep],
        labels=None if task.labels is None else [task.labels[i] for i in keep],
    )


def changes_table():
    """What a smoke run changes in the paper profile, as a table (empty when inactive)."""
    import pandas as pd

    rows = (
        []
        if not active()
        else [
            ("model", "bert-base-uncased", "mini-bert (the book's stand-in)"),
            (
                "SimCSE's sentences",
                "wiki1m-full (10^6 sentences, downloaded)",
                f"the wiki1m head (data directory); at most {SENTENCES_MAX:,} sentences of any set",
            ),
            (
                "SimCSE training",
                "one epoch (15,625 steps of 64)",
                f"{STEPS} steps, STS-B dev every {EVAL_EVERY}",
            ),
            (
                "STS tasks",
                "every pair",
                f"about {TASK_PAIRS} pairs of each (every k-th pair)",
            ),
            (
                "language models (chapters 1-2)",
                "the paper profile's size",
                f"the quick profile's size, at most {LM_STEPS} steps, perplexity on "
                f"{LM_EVAL_TOKENS:,} tokens",
            ),
            (
                "the prose's checked claims",
                "a claim the numbers do not support fails the run",
                "printed, not failed (these numbers are not the prose's)",
            ),
        ]
    )
    return pd.DataFrame(rows, columns=["what", "paper profile", "smoke run"])
