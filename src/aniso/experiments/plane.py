"""Every model of the book on the alignment-uniformity plane, and the contrastive runs' paths
across it.

Introduced in chapter "Alignment and uniformity" (notebooks/05_alignment_uniformity.ipynb);
read by chapter 7. It evaluates the runs of :mod:`aniso.experiments.book_plans` (trained, or
read from the reference runs of :mod:`aniso.experiments.contrastive_runs`) and the other models
of the book with :class:`aniso.evaluation.DevProbe`.
"""

from __future__ import annotations

from aniso.contrastive import train_simcse
from aniso.data import load_sentences
from aniso.encoders import load_encoder
from aniso.evaluation import DevProbe
from aniso.experiments.book_plans import RUN_LABELS, book_configs
from aniso.experiments.contrastive_runs import recorded_evals
from aniso.experiments.profiles import Profile
from aniso.experiments.profiles import profile as as_profile
from aniso.postprocess import Flow, Whitening, fit_on_sentences

__all__ = ["book_plane", "FROM_REFERENCE", "book_trajectories"]


def book_plane(profile: str | Profile = "quick", n_wiki: int | None = 5000, data_dir=None):
    """Every model of the book on the alignment-uniformity plane (chapters 5 and 7).

    Returns ``(points, trajectories, posts)``: ``points`` maps a model to its
    ``{"spearman", "alignment", "uniformity"}`` on STS-B dev (:class:`aniso.evaluation.DevProbe`):
    the base model's three poolings, whitening and the flow fitted on
    ``n_wiki`` wiki1m sentences (``emb_last_avg``), all-MiniLM-L6-v2 and
    averaged GloVe; ``trajectories`` maps each run of
    :func:`book_configs` to its dev records (:func:`book_trajectories`);
    ``posts`` holds the fitted whitening and flow. Encodings come from the embedding cache
    when present.
    """
    prof = as_profile(profile)
    configs = book_configs(prof)
    label = "mini-bert" if prof.quick else configs["unsup"].model
    probe = DevProbe("stsb-dev", data_dir, max_pairs=prof.max_pairs)
    base = load_encoder(configs["unsup"].model)
    wiki = load_sentences("wiki1m", n_wiki, data_dir)
    posts = {
        "whitening": fit_on_sentences(Whitening(), base, wiki, "emb_last_avg", show_progress=False),
        "flow": fit_on_sentences(
            Flow(show_progress=False), base, wiki, "emb_last_avg", show_progress=False
        ),
    }
    points = {
        f"{label} ({p})": probe.measure_encoder(base, p) for p in ("cls", "mean", "emb_last_avg")
    }
    for name, post in posts.items():
        points[f"{label} + {name} (wiki)"] = probe.measure_encoder(base, "emb_last_avg", post)
    points["all-MiniLM-L6-v2 (mean)"] = probe.measure_encoder("all-MiniLM-L6-v2", "mean")
    points["averaged GloVe"] = probe.measure_encoder("glove", "mean")
    return points, book_trajectories(profile, data_dir), posts


FROM_REFERENCE = ("no_dropout", "delete_word")  # quick profile: read, not trained (chapter 4)


def book_trajectories(profile: str | Profile = "quick", data_dir=None) -> dict:
    """``{label: STS-B dev records}`` of every run of :func:`book_configs`,
    labelled by ``RUN_LABELS`` (chapters 4, 5 and 7).

    In the quick profile the two ablation runs of :data:`FROM_REFERENCE` come from chapter 4's
    reference run, whose seed 42 has the same configuration
    (:func:`aniso.experiments.contrastive_runs.recorded_evals` checks the key); the other runs are
    trained, or come from the run cache.
    """
    out = {}
    for k, c in book_configs(profile).items():
        if as_profile(profile).quick and k in FROM_REFERENCE:
            out[RUN_LABELS[k]] = recorded_evals(c)
        else:
            out[RUN_LABELS[k]] = train_simcse(c, data_dir=data_dir).evals
    return out
