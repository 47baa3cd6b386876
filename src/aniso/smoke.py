"""The smoke run of the ``paper`` profile: the paper's code paths, with local stand-ins.

Introduced in the chapter "How to run". The ``paper`` profile needs bert-base-uncased, SimCSE's
million Wikipedia sentences and hours on a GPU. ``ANISO_SMOKE=1`` (the one switch: an environment
variable, so that papermill, ``python -m aniso.contrastive`` and ``torchrun`` all see it) keeps
every code path of the paper profile (model loading through the same resolver, the trainer with
the paper's settings, evaluation on all seven STS sets, the paper-only cells) and changes only
what cannot run offline on a CPU in minutes:

* the model ``bert-base-uncased`` -> the book's stand-in ``mini-bert``;
* SimCSE's ``wiki1m-full`` (downloaded) -> the 11,913-sentence head in the data directory;
* training runs a few steps (:data:`STEPS`) with an evaluation every :data:`EVAL_EVERY`;
* the language models of chapters 1 and 2 take the smallest size (the quick profile's).

Each chapter prints :func:`changes_table` when the overrides are active.
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


def active() -> bool:
    """Whether the smoke overrides are on (``ANISO_SMOKE`` set to anything but ``""``/``"0"``)."""
    return os.environ.get(ENV_VAR, "").strip() not in ("", "0")


def model_name(name: str) -> str:
    """The model to load for ``name``: its stand-in during a smoke run, else ``name`` itself."""
    return MODELS.get(name, name) if active() else name


def sentences_name(name: str) -> str:
    """The sentence source to read for ``name``: a local one during a smoke run."""
    return SENTENCES.get(name, name) if active() else name


def simcse_config(config):
    """A :class:`aniso.contrastive.SimCSEConfig` cut to a few steps (unchanged when inactive)."""
    if not active():
        return config
    steps = min(config.max_steps or STEPS, STEPS)
    stop = None if config.stop_after is None else min(config.stop_after, steps)
    return config.replace(
        model=model_name(config.model),
        sentences=sentences_name(config.sentences),
        max_steps=steps,
        stop_after=stop,
        eval_every=EVAL_EVERY,
        log_every=1,
    )


def lm_setup(setup: dict) -> dict:
    """A chapter 1-2 set-up (``{"vocab_size": ..., "config": TrainConfig}``, an entry of
    :data:`aniso.lm.PROFILES`) at the smallest size: the quick profile's, at most
    :data:`LM_STEPS` steps. Unchanged when inactive."""
    if not active():
        return setup
    from .lm import PROFILES

    small = PROFILES["quick"]
    config = dataclasses.replace(small["config"], steps=min(small["config"].steps, LM_STEPS))
    return {**small, "config": config}


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
                "the 11,913-sentence wiki1m head (data directory)",
            ),
            (
                "SimCSE training",
                "one epoch (15,625 steps of 64)",
                f"{STEPS} steps, STS-B dev every {EVAL_EVERY}",
            ),
            (
                "language models (chapters 1-2)",
                "the paper profile's size",
                f"the quick profile's size, at most {LM_STEPS} steps",
            ),
        ]
    )
    return pd.DataFrame(rows, columns=["what", "paper profile", "smoke run"])
