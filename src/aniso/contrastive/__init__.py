"""Chapters 4 and 5: contrastive training (SimCSE, alignment + uniformity), its losses and its
command line (``python -m aniso.contrastive``)."""

from aniso.contrastive.trainer import (  # the public names of :mod:`aniso.contrastive.trainer`
    HEAD_FILE,
    SimCSEConfig,
    SimCSERun,
    StopAfter,
    paper_config,
    quick_config,
    train_simcse,
)

__all__ = [
    "HEAD_FILE",
    "SimCSEConfig",
    "SimCSERun",
    "StopAfter",
    "paper_config",
    "quick_config",
    "train_simcse",
]
