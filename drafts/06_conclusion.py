# %% [markdown]
# # Conclusion: every method on every STS set
#
# ```{admonition} Learning goals
# After this chapter you can
# * compare every method of the book on the seven STS test sets in both aggregation settings, and read the table critically;
# * say which findings of the papers the stand-in reproduces, which it does not, and why;
# * plan the experiments worth running with `bert-base-uncased` in the paper profile.
# ```
#
# The book asked why sentence embeddings taken straight from BERT do badly at semantic similarity, and why contrastive learning fixes it. The answer, chapter by chapter: likelihood training makes embeddings anisotropic, a narrow cone organised by word frequency (chapters 1 to 3); post-processing can spread the cone after the fact (chapter 3); a contrastive objective spreads it during training and, given positives that mean the same thing, pulls paraphrases together (chapters 4 and 5). This page collects the measurements. Nothing is trained here: every number comes from the runs and embeddings cached by the earlier chapters (what is missing from the cache is computed).

# %% tags=["parameters"]
PROFILE = "quick"  # "quick": the stand-in BERT on the CPU; "paper": bert-base-uncased (GPUs)

# %%
try:  # on Colab: fetch the book (its models and pinned environment) and install it
    import aniso
except ImportError:
    !git clone -q --depth 1 https://github.com/aniso-book/aniso-book /content/aniso-book
    %pip install -q -r /content/aniso-book/requirements.txt -e /content/aniso-book
    import sys; sys.path.insert(0, "/content/aniso-book/src")  # the running kernel misses the new .pth
    import aniso

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from aniso.book import glue

from aniso import data
from aniso.contrastive import (PAPER_SIMCSE, book_configs, book_plane, evaluate_many, free_cores, plane_figure,
                               train_simcse)
from aniso.encoders import load_encoder
from aniso.evaluation import PAPER_NUMBERS, TASK_LABELS, results_table
from aniso.plotting import set_style

T_START = time.perf_counter()
warnings.filterwarnings("ignore", message="IProgress not found")
set_style()
torch.set_num_threads(free_cores())
QUICK = PROFILE == "quick"
CONFIGS = book_configs(PROFILE)
LABEL = "mini-bert" if QUICK else CONFIGS["unsup"].model
TASKS = list(data.TASKS)
runs = {name: train_simcse(cfg) for name, cfg in CONFIGS.items()}
points, trajectories, posts = book_plane(PROFILE, n_wiki=5000 if QUICK else None)

# %% [markdown]
# ## The leaderboard
#
# Every sentence encoder of the book, on the test sets of STS12-16, STS-B and SICK-R, Spearman $\times 100$. The post-processors are the whitening and the flow of chapter 3, fitted on Wikipedia sentences (SimCSE's Table 5 compares with the same kind of fit, on NLI sentences). The contrastive runs are the best STS-B dev checkpoints of chapters 4 and 5. In the `quick` profile all-MiniLM-L6-v2 is scored on STS-B and SICK-R only: its six 384-wide layers would take several CPU minutes on the five SemEval years (the paper profile scores it everywhere).

# %%
base = load_encoder(CONFIGS["unsup"].model)
raw = evaluate_many(base, TASKS, ("cls", "mean", "first_last_avg"),
                    transforms={"whitening": ("first_last_avg", posts["whitening"]),
                                "flow": ("first_last_avg", posts["flow"])})
ours = {"averaged GloVe": evaluate_many("glove", TASKS, ("mean",))["mean"],
        "all-MiniLM-L6-v2 (mean)": evaluate_many("all-MiniLM-L6-v2", TASKS if not QUICK else ["stsb", "sickr"],
                                                 ("mean",))["mean"]}
for p in ("cls", "mean", "first_last_avg"):
    ours[f"{LABEL} ({p})"] = raw[p]
ours[f"{LABEL} + whitening (wiki)"] = raw["whitening"]
ours[f"{LABEL} + flow (wiki)"] = raw["flow"]
row_of = {"unsup": f"unsup. SimCSE-{LABEL}", "align_uniform": f"align + uniform {LABEL}",
          "sup": f"sup. SimCSE-{LABEL} (SICK; SICK-R in-domain)"}
for key, label in row_of.items():
    ours[label] = evaluate_many(runs[key].encoder(), TASKS, ("cls",))["cls"]
papers = [("SimCSE Table 5", "GloVe embeddings (avg.)"), ("SimCSE Table 5", "BERT-base (first-last avg.)"),
          ("SimCSE Table 5", "BERT-base-flow"), ("SimCSE Table 5", "BERT-base-whitening"),
          ("SimCSE Table 5", "Unsup-SimCSE-BERT-base")]
board_all = results_table(ours, "all", papers=papers)
sup_paper = pd.DataFrame([{TASK_LABELS[t]: v for t, v in PAPER_SIMCSE["Table 5: Sup-SimCSE-BERT-base"].items()}],
                         index=pd.MultiIndex.from_tuples([("Sup-SimCSE-BERT-base (NLI)", "SimCSE Table 5", "all")],
                                                         names=board_all.index.names))
sup_paper["Avg."] = sup_paper.mean(axis=1)
board_all = pd.concat([board_all, sup_paper.round(2)])
board_all

# %% [markdown]
# *Table: the leaderboard in the "all" setting (STS12-16: one Spearman correlation over all pairs of a year), SimCSE's setting. Rows marked* ours *are computed here; the others are `bert-base-uncased` (and 300-dimensional GloVe) as published in SimCSE's Table 5 {cite}`gao2021simcse`. The supervised stand-in was trained on SICK, so its SICK-R column is in-domain.*

# %%
board_wmean = results_table(ours, "wmean", papers=[("BERT-flow Table 2", "BERT-base-last2avg"),
                                                   ("BERT-flow Table 2", "BERT-base-flow (NLI)"),
                                                   ("BERT-whitening Table 1", "BERT-base-whitening (NLI)")])
board_wmean

# %% [markdown]
# *Table: the same models in the "wmean" setting (STS12-16: Spearman per subset, averaged weighted by subset size), the setting of BERT-flow {cite}`li2020bertflow` and BERT-whitening {cite}`su2021whitening`, whose `bert-base-uncased` rows are shown. STS-B and SICK-R are the same in both settings.*

# %%
avg = {k: np.mean([r[t]["all"] for t in TASKS]) if all(t in r for t in TASKS) else np.nan for k, r in ours.items()}
stsb = {k: r["stsb"]["all"] for k, r in ours.items()}
raw_keys = [f"{LABEL} ({p})" for p in ("cls", "mean", "first_last_avg")]
best_raw = max(raw_keys, key=lambda k: avg[k])
best_all = max((k for k in avg if not np.isnan(avg[k])), key=lambda k: avg[k])
glue("best_raw", best_raw)
glue("best_raw_avg", avg[best_raw])
glue("best_overall", best_all)
glue("best_overall_avg", avg[best_all])
glue("glove_avg", avg["averaged GloVe"])
glue("raw_vs_glove", "below" if avg[best_raw] < avg["averaged GloVe"] else "above")
for key, label in [("white", f"{LABEL} + whitening (wiki)"), ("flow", f"{LABEL} + flow (wiki)"),
                   ("unsup", row_of["unsup"]), ("au", row_of["align_uniform"]), ("sup", row_of["sup"])]:
    glue(f"avg_{key}", avg[label])
    glue(f"d_{key}", avg[label] - avg[best_raw])
    glue(f"stsb_{key}", stsb[label])
glue("stsb_minilm", stsb["all-MiniLM-L6-v2 (mean)"])
glue("n_unsup_sentences", CONFIGS["unsup"].n_sentences or 1_000_000)
P = {k: np.mean(list(v.values())) for k, v in PAPER_NUMBERS.items()}
paper_base = P["SimCSE Table 5", "BERT-base (first-last avg.)"]
glue("p_base", paper_base)
glue("p_d_white", P["SimCSE Table 5", "BERT-base-whitening"] - paper_base)
glue("p_d_flow", P["SimCSE Table 5", "BERT-base-flow"] - paper_base)
glue("p_d_unsup", P["SimCSE Table 5", "Unsup-SimCSE-BERT-base"] - paper_base)
glue("p_d_sup", np.mean(list(PAPER_SIMCSE["Table 5: Sup-SimCSE-BERT-base"].values())) - paper_base)
glue("p_glove", P["SimCSE Table 5", "GloVe embeddings (avg.)"])
glue("p_avg_unsup", P["SimCSE Table 5", "Unsup-SimCSE-BERT-base"])
glue("p_stsb_unsup", PAPER_NUMBERS["SimCSE Table 5", "Unsup-SimCSE-BERT-base"]["stsb"])
glue("p_avg_sup", np.mean(list(PAPER_SIMCSE["Table 5: Sup-SimCSE-BERT-base"].values())))

agree = pd.DataFrame({
    "change vs best raw pooling, ours": {m: avg[l] - avg[best_raw] for m, l in [
        ("whitening", f"{LABEL} + whitening (wiki)"), ("flow", f"{LABEL} + flow (wiki)"),
        ("unsup. SimCSE", row_of["unsup"]), ("sup. SimCSE", row_of["sup"])]},
    "change vs first-last avg., bert-base (SimCSE Table 5)": {
        "whitening": P["SimCSE Table 5", "BERT-base-whitening"] - paper_base,
        "flow": P["SimCSE Table 5", "BERT-base-flow"] - paper_base,
        "unsup. SimCSE": P["SimCSE Table 5", "Unsup-SimCSE-BERT-base"] - paper_base,
        "sup. SimCSE": np.mean(list(PAPER_SIMCSE["Table 5: Sup-SimCSE-BERT-base"].values())) - paper_base}})
agree["same direction"] = np.sign(agree.iloc[:, 0]) == np.sign(agree.iloc[:, 1])
start_u = {"raw": points[f"{LABEL} (first_last_avg)"]["uniformity"], "cls": points[f"{LABEL} (cls)"]["uniformity"]}
left = all(points[f"{LABEL} + {m} (wiki)"]["uniformity"] < start_u["raw"] for m in ("whitening", "flow")) and all(
    tr.uniformity.iloc[-1] < tr.uniformity.iloc[0] for tr in trajectories.values())
glue("left_verdict", "moves the model to the left on the plane, to a more uniform space" if left
     else "spreads the space in some cases, but not all (see the closing figure)")
glue("n_agree", int(agree["same direction"].sum()))
post_ok = bool(agree.loc[["whitening", "flow"], "same direction"].all())
glue("carry_verdict", "Post-processing, which needs no training signal, does carry over: it helps the stand-in as it "
     "helps BERT." if post_ok else "Here even post-processing does not move the stand-in the way it moves BERT.")
glue("agree_list", ", ".join(agree.index[agree["same direction"]]) or "none")
glue("disagree_list", ", ".join(agree.index[~agree["same direction"]]) or "none")
agree.round(2)

# %% [markdown]
# *Table: the average over the seven sets ("all"), as a change from the best raw pooling of the encoder, for the stand-in and for `bert-base-uncased`.*
#
# The best raw pooling of the stand-in, {glue:text}`best_raw`, averages {glue:text}`best_raw_avg:.1f`, {glue:text}`raw_vs_glove` averaged GloVe ({glue:text}`glove_avg:.1f`); `bert-base-uncased`'s first-last average, {glue:text}`p_base:.1f`, is below the paper's GloVe ({glue:text}`p_glove:.1f`). On the stand-in, whitening changes the average by {glue:text}`d_white:+.1f` points, the flow by {glue:text}`d_flow:+.1f`, unsupervised SimCSE by {glue:text}`d_unsup:+.1f`, training on alignment and uniformity by {glue:text}`d_au:+.1f`, and supervised SimCSE on SICK by {glue:text}`d_sup:+.1f`. For `bert-base-uncased` the papers report {glue:text}`p_d_white:+.1f` (whitening), {glue:text}`p_d_flow:+.1f` (flow), {glue:text}`p_d_unsup:+.1f` (unsupervised SimCSE) and {glue:text}`p_d_sup:+.1f` (supervised, on NLI). The direction agrees for {glue:text}`n_agree` of the four methods ({glue:text}`agree_list`; not for: {glue:text}`disagree_list`). The best model of the book overall is {glue:text}`best_overall` ({glue:text}`best_overall_avg:.1f`); on STS-B, all-MiniLM-L6-v2, trained on a billion real pairs, scores {glue:text}`stsb_minilm:.1f`.

# %% [markdown]
# ## The closing figure

# %%
fig = plane_figure(points, trajectories, "Every model of the book on STS-B dev (numbers: Spearman x 100)")
glue("fig_plane_final", fig)
plt.close(fig)
glue("chapter_seconds", time.perf_counter() - T_START)
print(f"chapter: {time.perf_counter() - T_START:.0f} s wall, {time.process_time():.0f} s CPU, {torch.get_num_threads()} thread(s)")

# %% [markdown]
# ```{glue:figure} fig_plane_final
# :name: fig-conclusion-plane
#
# The alignment-uniformity plane of chapter 5 (STS-B dev; positive pairs: gold score above 4). Stars: the stand-in with each pooling, after post-processing, all-MiniLM-L6-v2 and averaged GloVe. Lines: the contrastive runs from step 0 (right: zoomed). Numbers: STS-B dev Spearman $\times 100$.
# ```
#
# ## What carries over to `bert-base-uncased`, and what does not
#
# **What carries over.** The geometry. The stand-in's sentence vectors lie in a narrow cone, as BERT's do, with the same signature: near-perfect "alignment" that only reflects that everything is close to everything, and a uniformity loss near zero. Every remedy of the book {glue:text}`left_verdict`: post-processing by construction (whitening makes the covariance the identity), contrastive training by its objective, whose uniformity term bounds the sum of all cosines and with it the top singular value's share (chapter 4, Section 5). These are statements about the objective and the linear algebra, which do not depend on the model's size.
#
# **What does not carry over, or not directly.** The STS gains of contrastive training. Spreading the cone helps STS only when the directions it frees carry meaning, and the 4-layer, 256-wide stand-in, trained on a few million words, has far less meaning to free than `bert-base-uncased`, trained on 3.3 billion. {glue:text}`carry_verdict` Unsupervised SimCSE makes this explicit: its positives are the same sentence twice, so the objective itself contains no information about which *different* sentences are paraphrases; everything it gains on STS it gets from the pretrained encoder. The paper's {glue:text}`p_stsb_unsup:.2f` on STS-B is a property of BERT-base plus SimCSE, and the stand-in's numbers measure the mechanism, not the size of the effect. Supervised positives do carry that information; on the stand-in, one epoch of SICK pairs changes the seven-task average by {glue:text}`d_sup:+.1f` points, and all-MiniLM-L6-v2 shows what a billion such pairs do for a small model.
#
# ## What to try with the paper profile
#
# The `paper` profile runs the same code on `bert-base-uncased` and the papers' data (it needs the Hugging Face hub and, for chapters 4 and 5, a GPU):
#
# ```bash
# papermill notebooks/04_simcse.ipynb out/04_simcse.ipynb -p PROFILE paper       # one GPU, about an hour
# torchrun --nproc_per_node 4 -m aniso.contrastive --profile paper               # the main run on 4 GPUs
# ```
#
# Worth trying there, in this order:
#
# 1. **Reproduce Table 5.** The unsupervised run should reach the paper's {glue:text}`p_avg_unsup:.2f` average Spearman ("all") and {glue:text}`p_stsb_unsup:.2f` on STS-B; the chapter-4 table prints the paper's row beside yours. The dev curve peaks within the first few thousand steps, which is why the paper evaluates every 250.
# 2. **The plane, at scale.** Chapter 5's trajectories for `bert-base-uncased`: SimCSE's Figure 2 shows uniformity improving while alignment stays nearly constant; the stand-in cannot show the second half.
# 3. **The ablations of Tables 1 and 3**: `book_configs("paper")["no_dropout"]`, `["delete_word"]`, and dropout rates from 0 to 0.5 (`SimCSEConfig` with a model whose config sets `hidden_dropout_prob`).
# 4. **Supervised positives.** Replace SICK by NLI (SNLI + MNLI, entailment as positives, contradiction as hard negatives, batch 512, lr 5e-5, 3 epochs) to reach the paper's {glue:text}`p_avg_sup:.2f` average.
# 5. **Temperature and pooling**, the two hyperparameters the paper found mattered most (Tables D.1 and 6).
#
# ## Exercises
#
# ```{exercise}
# :label: ex-conclusion-settings
# For which rows of the leaderboard does the gap between the "all" and "wmean" tables exceed two points on STS12, and what do those models have in common?
# ```
#
# ```{solution} ex-conclusion-settings
# :class: dropdown
# `(board_wmean["STS12"] - board_all["STS12"]).dropna()` for the rows marked *ours*. The gap is large where the cosines of different subsets are on different scales: raw poolings, whose cosines are all high and depend on sentence length and genre, show the largest gaps; models whose space is closer to uniform (contrastive runs, all-MiniLM-L6-v2) show smaller ones, because a cosine of 0.5 means more nearly the same thing across subsets.
# ```
#
# ```{exercise}
# :label: ex-conclusion-correlation
# Using the points of the closing figure, compute Spearman's correlation between STS-B dev and each of the two axes, and between STS-B dev and a combination $\mathcal L_{\rm align} + \lambda\,\mathcal L_{\rm uniform}$ for a few $\lambda$. Which $\lambda$ ranks the models best?
# ```
#
# ```{solution} ex-conclusion-correlation
# :class: dropdown
# `df = pd.DataFrame(points).T`, then `from scipy.stats import spearmanr` and `spearmanr(df.spearman, -(df.alignment + lam * df.uniformity))` for `lam` in `(0, 0.1, 0.3, 1, 3)`. Neither axis alone ranks the models well: the raw `[CLS]` vectors have the best alignment and the worst STS. A combination with a small weight on uniformity does better, which is Wang and Isola's point: the two properties matter together, and the right exchange rate depends on the task.
# ```
#
# ```{exercise}
# :label: ex-conclusion-budget
# The stand-in's unsupervised run saw {glue:text}`n_unsup_sentences:,` sentences; the paper's saw a million. Using the chapter-4 dev curve, argue whether more steps would help the stand-in, and design the cheapest experiment that would tell.
# ```
#
# ```{solution} ex-conclusion-budget
# :class: dropdown
# If the dev Spearman of the stand-in falls from step 0 and stays down while uniformity keeps improving, more steps buy more uniformity, not more meaning, and would not help. The cheapest test is a longer run on more wiki1m sentences with `stop_after` set to a few hundred steps, compared at equal steps with the supervised run: if only the supervised curve keeps rising, the bottleneck is the positives, not the budget.
# ```
#
# ## References
#
# ```{bibliography}
# :filter: docname in docnames
# :labelprefix: L
# ```
