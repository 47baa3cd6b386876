"""One figure style for the whole book, and the figures more than one chapter draws.

Introduced in chapter "The problem".
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

# One colour per kind of model, the same in every chapter.
COLORS = {
    "glove": "#7f7f7f",
    "mini-bert": "#d62728",
    "all-MiniLM-L6-v2": "#1f77b4",
    "whitening": "#2ca02c",
    "flow": "#9467bd",
    "simcse": "#ff7f0e",
}


def set_style() -> None:
    """Apply the book's matplotlib style (call once per chapter). Chapter "The problem"."""
    plt.rcParams.update({
        "figure.figsize": (6.4, 3.8), "figure.dpi": 110, "savefig.dpi": 110,
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
        "grid.alpha": 0.3, "font.size": 10, "axes.titlesize": 11, "legend.frameon": False,
    })


def cosine_histograms(groups: dict[str, tuple[np.ndarray, np.ndarray]], bins: int = 50):
    """One panel per model: cosine of random pairs vs gold-similar pairs. Chapter "The problem".

    ``groups`` maps a model label to ``(random_pair_cosines, similar_pair_cosines)``.
    """
    fig, axes = plt.subplots(1, len(groups), figsize=(3.4 * len(groups), 3.2), sharey=False,
                             squeeze=False)
    for ax, (label, (rand, sim)) in zip(axes[0], groups.items()):
        edges = np.linspace(min(rand.min(), sim.min()), 1.0, bins + 1)
        ax.hist(rand, bins=edges, density=True, alpha=0.6, color="#7f7f7f", label="random pairs")
        ax.hist(sim, bins=edges, density=True, alpha=0.6, color=COLORS.get(label, "#d62728"),
                label="gold score > 4")
        ax.set_title(label)
        ax.set_xlabel("cosine similarity")
    axes[0][0].set_ylabel("density")
    axes[0][0].legend(loc="upper left")
    fig.tight_layout()
    return fig


def spectrum_plot(spectra: dict[str, np.ndarray], ax=None, title: str = "Normalized singular values"):
    """Normalized singular spectra on a log scale, one line per variant. Used from chapter 1 on."""
    if ax is None:
        _, ax = plt.subplots()
    for label, s in spectra.items():
        ax.plot(np.arange(1, len(s) + 1), s, label=label, color=COLORS.get(label))
    ax.set_yscale("log")
    ax.set_xlabel("index")
    ax.set_ylabel("singular value / largest")
    ax.set_title(title)
    ax.legend()
    return ax
