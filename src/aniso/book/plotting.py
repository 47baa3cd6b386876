"""One figure style and one colour map for the whole book, and the figures several chapters draw.

Introduced in chapter "The problem"; :func:`plot_plane` and :func:`plane_figure`
(the alignment-uniformity plane) in chapter "Alignment and uniformity".
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

#: The book's one colour map: a colour per model (or kind of model) and per training variant,
#: the same in every chapter and figure. Labels that are not here take matplotlib's cycle.
COLORS = {
    # kinds of model (chapters 0, 3, 4, 5, A)
    "glove": "#7f7f7f",
    "mini-bert": "#d62728",
    "all-MiniLM-L6-v2": "#1f77b4",
    "whitening": "#2ca02c",
    "flow": "#9467bd",
    "simcse": "#ff7f0e",
    # the alignment-uniformity plane (chapters 5 and 7, :func:`plane_figure`)
    "mini-bert (cls)": "#d62728",
    "mini-bert (mean)": "#ff9896",
    "mini-bert (emb_last_avg)": "#e377c2",
    "mini-bert + whitening (wiki)": "#2ca02c",
    "mini-bert + flow (wiki)": "#9467bd",
    "all-MiniLM-L6-v2 (mean)": "#1f77b4",
    "averaged GloVe": "#7f7f7f",
    "unsup. SimCSE": "#ff7f0e",
    "SimCSE, no dropout": "#bcbd22",
    "SimCSE, delete one word": "#17becf",
    "sup. SimCSE (SICK)": "#8c564b",
    "align + uniform": "#000000",
    # chapter 4's spectra of the trained encoders
    "unsup. SimCSE (cls)": "#ff7f0e",
    "sup. SimCSE on SICK (cls)": "#8c564b",
    # the tiny language models of chapters 1 and 2
    "random init": "#7f7f7f",
    "MLE (tied)": "#d62728",
    "MLE": "#d62728",
    "untied: input": "#1f77b4",
    "untied: output": "#17becf",
    "CosReg γ=0.1": "#98df8a",
    "CosReg γ=1": "#2ca02c",
    "CosReg γ=10": "#006400",
    "SC exponential": "#9467bd",
    "SC polynomial": "#ff7f0e",
    "SC exponential, λs=0": "#c5b0d5",
}


STYLE = {
    "figure.figsize": (6.4, 3.8),
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "grid.alpha": 0.3,
    "font.size": 10,
    "axes.titlesize": 11,
    "legend.fontsize": 9,
    "legend.frameon": False,
}


def set_style() -> None:
    """Apply the book's one theme: seaborn's ``whitegrid`` with the book's sizes (call once per
    chapter; :func:`aniso.book.start_chapter` does). Chapter "The problem".

    In Jupyter, figures are drawn as PNG at twice their resolution ("retina"), shown at their
    size: sharp on high-density screens and when the rendered book is zoomed.
    """
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.9, rc=STYLE)
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # no IPython: a script, no inline figures to format
        return
    if get_ipython() is not None:  # a kernel: papermill, Jupyter, Colab
        set_matplotlib_formats("retina")


def cosine_histograms(groups: dict[str, tuple[np.ndarray, np.ndarray]], bins: int = 50):
    """One panel per model: cosine of random pairs (black outline) vs gold-similar pairs (filled,
    in the model's colour). Chapter "The problem".

    ``groups`` maps a model label to ``(random_pair_cosines, similar_pair_cosines)``; drawn with
    seaborn's ``histplot`` (densities on shared bins per panel).
    """
    import seaborn as sns

    fig, axes = plt.subplots(
        1, len(groups), figsize=(3.4 * len(groups), 3.2), sharey=False, squeeze=False
    )
    for ax, (label, (rand, sim)) in zip(axes[0], groups.items()):
        edges = np.linspace(min(rand.min(), sim.min()), 1.0, bins + 1)
        sns.histplot(  # an outline, so that a grey model colour (GloVe) stays distinct
            rand,
            bins=edges,
            stat="density",
            element="step",
            fill=False,
            color="black",
            linewidth=1.2,
            label="random pairs",
            ax=ax,
        )
        sns.histplot(
            sim,
            bins=edges,
            stat="density",
            alpha=0.6,
            color=COLORS.get(label, "#d62728"),
            label="gold score > 4",
            ax=ax,
            edgecolor=None,
        )
        ax.set_title(label)
        ax.set_xlabel("cosine similarity")
        ax.set_ylabel("")
    axes[0][0].set_ylabel("density")
    axes[0][0].legend(loc="upper left")
    fig.tight_layout()
    return fig


def table_heatmap(table, ax=None, fmt: str = ".1f", cmap: str = "rocket_r", title: str = ""):
    """A per-layer or per-task table (a DataFrame of numbers) as an annotated seaborn heatmap.

    Used where a reader would rather look than read (e.g. STS per layer pair).
    """
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(0.9 * table.shape[1] + 2.5, 0.45 * table.shape[0] + 1.2))
    sns.heatmap(table, annot=True, fmt=fmt, cmap=cmap, cbar=False, ax=ax, linewidths=0.5)
    ax.set_title(title)
    return ax


def spectrum_plot(
    spectra: dict[str, np.ndarray], ax=None, title: str = "Normalized singular values"
):
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


def plane_figure(points: dict, trajectories: dict, title: str = ""):
    """Two panels of :func:`plot_plane`: every model, and a zoom on the training runs.

    Chapters 5 and 7.
    """
    import pandas as pd

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5))
    plot_plane(points, trajectories, ax=ax1)
    plot_plane(points, trajectories, ax=ax2)
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


def plot_plane(
    points: dict,
    trajectories: dict | None = None,
    ax=None,
    colors: dict | None = None,
    annotate: bool = True,
):
    """The alignment-uniformity plane (chapter "Alignment and uniformity"): lower left is better.

    ``points`` maps a label to ``{"alignment", "uniformity", "spearman"}``;
    ``trajectories`` maps a label to a DataFrame of such rows with a ``step``
    column (a training run), drawn as a line with arrows from step 0 on. Each
    point is annotated with its Spearman correlation. Colours come from
    ``colors`` (default :data:`COLORS`), else matplotlib's cycle.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5))
    colors = COLORS if colors is None else colors
    cycle = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"] * 4)
    for label, tr in (trajectories or {}).items():
        c = colors.get(label) or next(cycle)
        ax.plot(tr.uniformity, tr.alignment, "-", color=c, lw=1.2, alpha=0.8)
        ax.scatter(tr.uniformity, tr.alignment, s=14, color=c, label=label, zorder=3)
        for (u0, a0), (u1, a1) in zip(
            zip(tr.uniformity, tr.alignment), list(zip(tr.uniformity, tr.alignment))[1:]
        ):
            ax.annotate(
                "", xy=(u1, a1), xytext=(u0, a0), arrowprops=dict(arrowstyle="->", color=c, lw=1)
            )
        if annotate:
            last = tr.iloc[-1]
            ax.annotate(
                f"{last.spearman:.1f}",
                (last.uniformity, last.alignment),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=7,
                color=c,
            )
    for label, p in points.items():
        c = colors.get(label) or next(cycle)
        ax.scatter(
            [p["uniformity"]], [p["alignment"]], s=60, marker="*", color=c, label=label, zorder=4
        )
        if annotate:
            ax.annotate(
                f"{p['spearman']:.1f}",
                (p["uniformity"], p["alignment"]),
                textcoords="offset points",
                xytext=(4, -9),
                fontsize=7,
                color=c,
            )
    ax.set_xlabel(r"$\ell_{\rm uniform}$ (lower: more uniform)")
    ax.set_ylabel(r"$\ell_{\rm align}$ (lower: paraphrases closer)")
    ax.legend(fontsize=8, loc="best")
    return ax
