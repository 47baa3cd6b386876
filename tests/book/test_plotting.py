"""The book's one theme and its shared figures (aniso.book.plotting)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from aniso.book import plotting  # noqa: E402


def test_set_style_applies_the_book_sizes():
    plotting.set_style()
    assert plt.rcParams["figure.dpi"] == 110
    assert plt.rcParams["axes.spines.top"] is False
    assert plt.rcParams["axes.grid"] is True  # seaborn's whitegrid


def test_cosine_histograms_one_panel_per_model_with_the_book_colour():
    rng = np.random.default_rng(0)
    groups = {
        "mini-bert": (rng.uniform(0.8, 1, 50), rng.uniform(0.9, 1, 20)),
        "glove": (rng.uniform(0, 1, 50), rng.uniform(0.5, 1, 20)),
    }
    fig = plotting.cosine_histograms(groups, bins=10)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["mini-bert", "glove"]
    # the similar pairs of mini-bert are drawn in mini-bert's colour
    colours = {matplotlib.colors.to_hex(p.get_facecolor()) for p in axes[0].patches}
    assert plotting.COLORS["mini-bert"] in colours
    # random pairs: one black outline, not filled, so that GloVe's grey fill stays distinct
    assert [matplotlib.colors.to_hex(line.get_color()) for line in axes[1].lines] == ["#000000"]
    # densities: the similar pairs' histogram (the filled bars) integrates to one over its bins
    bars = axes[1].patches
    assert len(bars) == 10 and all(p.get_fill() for p in bars)
    assert abs(sum(p.get_height() * p.get_width() for p in bars) - 1) < 1e-9
    plt.close(fig)


def test_table_heatmap_annotates_every_cell():
    table = pd.DataFrame([[1.0, 2.5], [3.25, 4.0]], index=["a", "b"], columns=["x", "y"])
    ax = plotting.table_heatmap(table, fmt=".2f")
    assert sorted(t.get_text() for t in ax.texts) == ["1.00", "2.50", "3.25", "4.00"]
    plt.close(ax.figure)
