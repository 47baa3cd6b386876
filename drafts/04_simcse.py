# %% [markdown]
# # SimCSE: contrastive learning and the spectrum
#
# ```{admonition} Learning goals
# After this chapter you can
# * write SimCSE's objective, InfoNCE with in-batch negatives and dropout as the only augmentation, in a few lines, and check it against a library implementation;
# * train unsupervised SimCSE with sentence-transformers' trainer, on a CPU at small scale or on several GPUs at the paper's scale;
# * diagnose a contrastive run from its training loss, the difficulty of its pretext task, and its alignment and uniformity;
# * derive why the contrastive objective flattens the singular-value spectrum of the embeddings (the paper's Section 5), and measure it;
# * train the supervised variant with entailment pairs as positives and contradictions as hard negatives.
# ```
#
# **The claim.** Gao, Yao and Chen {cite}`gao2021simcse` feed every sentence to BERT twice. Dropout makes the two vectors differ slightly; the pair is a positive, and the other sentences of the batch are negatives. Trained this way for one epoch on a million Wikipedia sentences, `bert-base-uncased` reaches {glue:text}`paper_stsb_simcse:.2f` Spearman on STS-B and {glue:text}`paper_avg_simcse:.2f` on average over seven STS tasks, against {glue:text}`paper_stsb_fla:.2f` and {glue:text}`paper_avg_fla:.2f` for its averaged first and last layers (their Table 5). Their Section 5 explains the gain with the geometry of the previous chapters: the contrastive objective pushes the embeddings apart, which flattens the singular-value spectrum that anisotropy makes steep, and with supervised pairs it also keeps paraphrases aligned.
#
# **The experiment that could falsify it.** Train the book's stand-in BERT with the paper's objective and settings, scaled down to two CPU cores, and measure STS, the spectrum, alignment and uniformity before and after. If contrastive training does not raise STS here, the training loss and the geometry along the way must show why.

# %% tags=["parameters"]
PROFILE = "quick"  # "quick": the stand-in BERT on the CPU, minutes; "paper": bert-base-uncased, the paper's run (GPUs)

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
import torch.nn.functional as F
from aniso.book import glue

from aniso import data, metrics
from aniso.contrastive import (PAPER_SIMCSE, book_configs, evaluate_many, free_cores, paper_config, pretext_stats,
                               supervised_examples, train_simcse, training_sentences)
from aniso.encoders import load_encoder
from aniso.evaluation import PAPER_NUMBERS, TASK_LABELS, results_table
from aniso.plotting import COLORS, set_style

T_START = time.perf_counter()
warnings.filterwarnings("ignore", message="IProgress not found")
set_style()
torch.set_num_threads(free_cores())  # one thread when another process holds a core: much faster then
QUICK = PROFILE == "quick"
CONFIGS = book_configs(PROFILE)  # the runs of chapters 4 and 5 (aniso.contrastive.book_configs)
CONFIG = CONFIGS["unsup"]  # the main unsupervised run
TASKS = list(data.TASKS)
base = load_encoder(CONFIG.model)
LABEL = "mini-bert" if QUICK else CONFIG.model
pd.DataFrame({"paper (Gao et al. 2021)": dict(paper_config().__dict__), "this run": dict(CONFIG.__dict__)}).drop(
    ["output_dir", "stop_after", "supervised", "align_alpha", "uniform_t", "uniform_weight", "log_every"])

# %% [markdown]
# The table lists the settings of the paper (its unsupervised BERT-base run) and of this run. In the `quick` profile only the scale changes: the stand-in BERT of the appendix replaces `bert-base-uncased`, the first {glue:text}`n_train:,` sentences of the 11,913-sentence head of SimCSE's `wiki1m` file replace the million, and the model is evaluated on STS-B dev every {glue:text}`eval_every` steps instead of every 250. Everything else (batch 64, learning rate $3\times10^{-5}$, one epoch, temperature 0.05, `[CLS]` pooling with an MLP head used in training only, dev-set model selection) is the paper's (its Table A.1 and Appendix A); the length limit of 32 tokens is not stated in the paper but is what its official training scripts pass (`--max_seq_length 32`).
#
# ## The objective
#
# Take a batch of $N$ sentences $x_1, \dots, x_N$ and encode each twice, $\mathbf h_i = f_\theta(x_i, z_i)$ and $\mathbf h_i^+ = f_\theta(x_i, z_i')$, where $z$ and $z'$ are independent dropout masks. SimCSE minimises, for each $i$,
#
# $$
# \ell_i = -\log \frac{e^{\operatorname{sim}(\mathbf h_i, \mathbf h_i^+)/\tau}}{\sum_{j=1}^{N} e^{\operatorname{sim}(\mathbf h_i, \mathbf h_j^+)/\tau}},
# \qquad \operatorname{sim}(\mathbf u, \mathbf v) = \frac{\mathbf u^\top \mathbf v}{\lVert \mathbf u\rVert\,\lVert \mathbf v\rVert},\quad \tau = 0.05,
# $$
#
# the InfoNCE loss of contrastive predictive coding {cite}`oord2018cpc` with the other sentences of the batch as negatives, as in SimCLR {cite}`chen2020simclr`: the paper's Eq. 4, which is its generic in-batch loss (Eq. 1) with the two dropout masks written in. It is a softmax classification: among $N$ candidates, find your own second view. Written out for a batch, it is a cross-entropy on the matrix of cosines with the diagonal as the targets:

# %%
def simcse_loss(h, h_pos, temperature=0.05):
    """InfoNCE over a batch: row i of h and row i of h_pos are a positive pair, the other rows negatives."""
    cos = F.normalize(h, dim=-1) @ F.normalize(h_pos, dim=-1).T  # (N, N) cosine similarities
    return F.cross_entropy(cos / temperature, torch.arange(len(h)))  # the positive sits on the diagonal


# %% [markdown]
# The training below does not use this function but sentence-transformers' `MultipleNegativesRankingLoss` with `scale` $= 1/\tau = 20$, so that the same code runs on several GPUs. We check on one batch of Wikipedia sentences, encoded twice by the stand-in with dropout on, that the two losses agree (the test suite checks the package's `aniso.contrastive.info_nce` the same way, with hard negatives too).

# %%
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

transformer = Transformer(str(base.model.name_or_path), max_seq_length=CONFIG.max_length)
st_model = SentenceTransformer(modules=[transformer, Pooling(transformer.get_embedding_dimension(), "cls")])
st_model.train()  # dropout on: the two encodings of a sentence differ
wiki = training_sentences(CONFIG.sentences, None)
batch = wiki[-CONFIG.batch_size:]  # sentences the training run does not see
torch.manual_seed(0)
with torch.no_grad():
    h = st_model(st_model.preprocess(batch))["sentence_embedding"]
    h_pos = st_model(st_model.preprocess(batch))["sentence_embedding"]
    ours = simcse_loss(h, h_pos).item()
    theirs = MultipleNegativesRankingLoss(st_model, scale=20.0).compute_loss_from_embeddings([h, h_pos], None).item()
glue("loss_hand", ours)
glue("loss_diff", abs(ours - theirs))
glue("log_batch", np.log(CONFIG.batch_size))
glue("n_neg", CONFIG.batch_size - 1)
glue("n_train", len(training_sentences(CONFIG.sentences, CONFIG.n_sentences)))
glue("eval_every", CONFIG.eval_every)
del st_model, transformer
pd.Series({"written above": ours, "MultipleNegativesRankingLoss(scale=20)": theirs, "difference": abs(ours - theirs)})

# %% [markdown]
# On this batch both give {glue:text}`loss_hand:.4f` (difference {glue:text}`loss_diff:.1e`). A model that could not tell its own second view from the other {glue:text}`n_neg` sentences of the batch would score $\log N$ = {glue:text}`log_batch:.2f` nats; lower means the pretext task is partly solved before any training.
#
# Two variants of the objective appear below. **Hard negatives** (supervised SimCSE, Eq. 5): each anchor also has a sentence that contradicts it; its cosine with every anchor enters the denominator as an extra column, $e^{\operatorname{sim}(\mathbf h_i, \mathbf h_j^-)/\tau}$ for all $j$. **Other positives** (the ablation of Table 1): instead of a second dropout mask, the second view is the sentence with one word deleted, or the same sentence with dropout switched off.
#
# ## Training
#
# `aniso.contrastive.train_simcse` builds a sentence-transformers model (the encoder, `[CLS]` pooling and, for training only, a dense layer with tanh), pairs every sentence with itself, and trains with `SentenceTransformerTrainer`. Every {glue:text}`eval_every` steps a callback measures the `[CLS]` vector below the MLP head on STS-B dev: Spearman's correlation, and the alignment and uniformity of chapter 5 (positives: dev pairs with a gold score above 4; data: all dev sentences). It saves a checkpoint, from which an interrupted run resumes, and keeps the encoder with the best dev Spearman, as the paper does. A finished run is cached on disk under a hash of its configuration and of the base model's weights, so the next chapters reuse it.

# %%
t0 = time.perf_counter()
run = train_simcse(CONFIG)
glue("train_seconds", run.summary["train_seconds"])
glue("n_steps", run.summary["steps"])
glue("threads", torch.get_num_threads())
ev, loss = run.evals, run.loss
dev0, best = ev.iloc[0], ev.set_index("step").loc[run.best_step]
glue("dev0", dev0.spearman)
glue("dev_best", best.spearman)
glue("best_step", run.best_step)
glue("dev_final", ev.iloc[-1].spearman)
glue("dev_verb", "rises" if best.spearman > dev0.spearman else "falls")
glue("loss_first", loss.loss.iloc[0])
glue("loss_last", loss.loss.iloc[-1])
glue("align0", dev0.alignment)
glue("align_best", best.alignment)
glue("unif0", dev0.uniformity)
glue("unif_best", best.uniformity)
glue("align_verb", "improves" if best.alignment < dev0.alignment else "worsens")
glue("unif_verb", "improves" if best.uniformity < dev0.uniformity else "worsens")
ev.round(4)

# %%
fig, axes = plt.subplots(1, 3, figsize=(11, 3.3))
axes[0].plot(loss.step, loss.loss, color=COLORS["simcse"])
axes[0].axhline(np.log(CONFIG.batch_size), ls="--", color="#7f7f7f", label=r"$\log N$ (chance)")
axes[0].set(xlabel="step", ylabel="training loss (nats)", ylim=(0, None))
axes[0].legend()
axes[1].plot(ev.step, ev.spearman, "o-", color=COLORS["simcse"])
axes[1].set(xlabel="step", ylabel="STS-B dev Spearman x 100")
axes[2].plot(ev.step, ev.alignment, "o-", color="#1f77b4", label="alignment (lower: paraphrases closer)")
ax2 = axes[2].twinx()
ax2.plot(ev.step, ev.uniformity, "s--", color="#d62728", label="uniformity (lower: more uniform)")
axes[2].set(xlabel="step", ylabel="alignment")
ax2.set_ylabel("uniformity")
axes[2].legend(loc="upper left", fontsize=7)
ax2.legend(loc="lower left", fontsize=7)
ax2.grid(False)
fig.tight_layout()
glue("fig_training", fig)
plt.close(fig)

# %% [markdown]
# ```{glue:figure} fig_training
# :name: fig-simcse-training
#
# The unsupervised run: training loss (left; the dashed line is the loss of guessing among the 64 sentences of a batch), STS-B dev Spearman of the `[CLS]` vector every {glue:text}`eval_every` steps (middle), and alignment and uniformity on STS-B dev (right).
# ```
#
# The run took {glue:text}`n_steps` steps ({glue:text}`train_seconds:.0f` s on {glue:text}`threads` CPU thread(s)). The loss starts at {glue:text}`loss_first:.2f` nats and ends at {glue:text}`loss_last:.3f`. STS-B dev Spearman {glue:text}`dev_verb` from {glue:text}`dev0:.1f` before training to {glue:text}`dev_best:.1f` at the best step ({glue:text}`best_step`), and ends at {glue:text}`dev_final:.1f`. Uniformity {glue:text}`unif_verb` (from {glue:text}`unif0:.3f` to {glue:text}`unif_best:.3f`) and alignment {glue:text}`align_verb` (from {glue:text}`align0:.3f` to {glue:text}`align_best:.3f`). The paper's claim is that uniformity improves while alignment stays good; whether STS rises depends on the balance of the two, which chapter 5 draws on a plane.

# %% [markdown]
# ## Results: STS before and after
#
# The stand-in before training, with each of the three poolings of the earlier chapters, and the best dev checkpoint after training (its `[CLS]` vector, as in the paper), on the seven test sets in the "all" setting of SimCSE, beside the paper's `bert-base-uncased` rows.

# %%
before = evaluate_many(base, TASKS, ("cls", "mean", "first_last_avg"))
simcse = run.encoder()
after = evaluate_many(simcse, TASKS, ("cls", "mean", "first_last_avg"))
ours = {f"{LABEL} ({p})": before[p] for p in ("cls", "mean", "first_last_avg")}
ours[f"unsup. SimCSE-{LABEL} (cls)"] = after["cls"]
ours[f"unsup. SimCSE-{LABEL}, mean pooling"] = after["mean"]
table = results_table(ours, "all", papers=[("SimCSE Table 5", "BERT-base (first-last avg.)"),
                                            ("SimCSE Table 5", "Unsup-SimCSE-BERT-base")])
avg = lambda r: np.mean([r[t]["all"] for t in TASKS])
best_before = max(("cls", "mean", "first_last_avg"), key=lambda p: before[p]["stsb"]["all"])
for key, res in [("cls", before["cls"]), ("mean", before["mean"]), ("fla", before["first_last_avg"]),
                 ("simcse", after["cls"]), ("simcse_mean", after["mean"])]:
    glue(f"stsb_{key}", res["stsb"]["all"])
    glue(f"sickr_{key}", res["sickr"]["all"])
    glue(f"avg_{key}", avg(res))
glue("best_before", best_before)
glue("stsb_best_before", before[best_before]["stsb"]["all"])
glue("stsb_verb", "raises" if after["cls"]["stsb"]["all"] > before["cls"]["stsb"]["all"] else "lowers")
glue("vs_best_verb", "above" if after["cls"]["stsb"]["all"] > before[best_before]["stsb"]["all"] else "below")
paper_fla, paper_simcse = PAPER_NUMBERS["SimCSE Table 5", "BERT-base (first-last avg.)"], \
    PAPER_NUMBERS["SimCSE Table 5", "Unsup-SimCSE-BERT-base"]
glue("paper_stsb_simcse", paper_simcse["stsb"])
glue("paper_avg_simcse", np.mean(list(paper_simcse.values())))
glue("paper_stsb_fla", paper_fla["stsb"])
glue("paper_avg_fla", np.mean(list(paper_fla.values())))
table

# %% [markdown]
# *Table: Spearman $\times 100$ on the test sets, "all" setting. Rows marked* ours *are the stand-in (4 layers, 256 dimensions) before and after {glue:text}`n_steps` steps of unsupervised SimCSE; the rows of SimCSE Table 5 {cite}`gao2021simcse` are `bert-base-uncased` after a full epoch on a million sentences.*
#
# SimCSE {glue:text}`stsb_verb` the stand-in's `[CLS]` vector on STS-B test from {glue:text}`stsb_cls:.1f` to {glue:text}`stsb_simcse:.1f` (average over the seven sets: {glue:text}`avg_cls:.1f` to {glue:text}`avg_simcse:.1f`), which is {glue:text}`vs_best_verb` the best raw pooling ({glue:text}`best_before`, {glue:text}`stsb_best_before:.1f`). For `bert-base-uncased` the paper reports {glue:text}`paper_stsb_fla:.2f` before (first-last average) and {glue:text}`paper_stsb_simcse:.2f` after on STS-B, {glue:text}`paper_avg_fla:.2f` and {glue:text}`paper_avg_simcse:.2f` on average.

# %% [markdown]
# ## Diagnosis: how hard is the pretext task?
#
# A contrastive objective teaches only what is needed to solve its pretext task. If the encoder can already pick its own second view out of the batch from surface features (length, rare tokens, word overlap), the loss falls quickly without the model learning which sentences mean the same thing. We measure the task on {glue:text}`n_probe` held-out Wikipedia sentences in batches of 64: the InfoNCE loss, the accuracy of finding the positive, the alignment of the two views (to be compared with the alignment of real paraphrases on STS-B dev), and the mean cosine between different sentences, for the encoder before and after training.

# %%
probe_sentences = wiki[-512:]
pre = {"before training": pretext_stats(base, probe_sentences, CONFIG.pooling),
       "after training": pretext_stats(simcse, probe_sentences, CONFIG.pooling)}
pre_table = pd.DataFrame(pre).T
pre_table["alignment of STS-B paraphrases"] = [dev0.alignment, best.alignment]
glue("n_probe", len(probe_sentences))
for k, key in [("before training", "0"), ("after training", "1")]:
    glue(f"pre_loss{key}", pre[k]["loss"])
    glue(f"pre_top1_{key}", 100 * pre[k]["top1"])
    glue(f"pre_align{key}", pre[k]["alignment"])
    glue(f"pre_neg{key}", pre[k]["neg_cos"])
glue("pre_story", "The pretext task is nearly solved before training: the loss has little left to gain from the "
     "positives, and its gradient mostly pushes different sentences apart." if pre["before training"]["top1"] > 0.9 else
     "The pretext task is not solved before training: dropout moves a sentence's vector about as far as the "
     "sentences are from each other, and the model learns to recognise a sentence under that noise, which it can do "
     "from surface features (its length, its rare words) as well as from its meaning.")
pre_table.round(4)

# %% [markdown]
# Before training, the two dropout views of a sentence have alignment {glue:text}`pre_align0:.3f` (STS-B paraphrases, encoded without dropout: {glue:text}`align0:.3f`), different sentences have a mean cosine of {glue:text}`pre_neg0:.2f` under dropout, and the encoder finds its own second view in {glue:text}`pre_top1_0:.0f`% of the rows (loss {glue:text}`pre_loss0:.2f` without the MLP head; guessing gives {glue:text}`log_batch:.2f`). After training: {glue:text}`pre_top1_1:.0f`%, loss {glue:text}`pre_loss1:.3f`, the two views at {glue:text}`pre_align1:.3f` and different sentences at a mean cosine of {glue:text}`pre_neg1:.2f`. {glue:text}`pre_story` Whether paraphrases end up close depends on what the encoder already knows about meaning: `bert-base-uncased` knows much more than the stand-in, and dropout noise only asks a model to keep what it knows while it spreads sentences out.

# %% [markdown]
# ## Ablation: what makes a good positive?
#
# SimCSE's Table 1 compares the dropout positive with discrete augmentations, and its Table 3 switches dropout off. We rerun the first {glue:text}`abl_steps` steps of the same schedule (same sentences, same order, same learning rate at each step) with two other positives: the same sentence with dropout switched off (probabilities set to 0), and the sentence with one random word deleted (with dropout on), and compare on STS-B dev at step {glue:text}`abl_steps`.

# %%
abl_runs = {"dropout (SimCSE)": run}
for positive in ("no_dropout", "delete_word"):  # in the quick profile: CONFIG.replace(positive=..., stop_after=25)
    abl_runs[positive.replace("_", " ")] = train_simcse(CONFIGS[positive])
abl_step = CONFIGS["no_dropout"].stop_after or run.summary["steps"]
glue("abl_steps", abl_step)
rows = {}
for name, r in abl_runs.items():
    e = r.evals.set_index("step")
    rows[name] = {"STS-B dev": e.loc[abl_step, "spearman"], "alignment": e.loc[abl_step, "alignment"],
                  "uniformity": e.loc[abl_step, "uniformity"]}
    stats = pretext_stats(r.encoder(), probe_sentences[:256], CONFIG.pooling, positive=r.config.positive)
    rows[name].update({"pretext loss": stats["loss"], "pretext top-1": stats["top1"]})
abl = pd.DataFrame(rows).T
abl["paper, STS-B dev"] = [PAPER_SIMCSE["Table 1: dropout (unsup. SimCSE)"], PAPER_SIMCSE["Table 3: no dropout (p = 0)"],
                           PAPER_SIMCSE["Table 1: delete one word"]]
for name, key in [("dropout (SimCSE)", "dropout"), ("no dropout", "nodrop"), ("delete word", "delete")]:
    glue(f"abl_{key}", abl.loc[name, "STS-B dev"])
    glue(f"abl_unif_{key}", abl.loc[name, "uniformity"])
    glue(f"abl_align_{key}", abl.loc[name, "alignment"])
glue("abl_best", abl["STS-B dev"].idxmax())
glue("p_abl_dropout", PAPER_SIMCSE["Table 1: dropout (unsup. SimCSE)"])
glue("p_abl_delete", PAPER_SIMCSE["Table 1: delete one word"])
glue("p_abl_nodrop", PAPER_SIMCSE["Table 3: no dropout (p = 0)"])
abl.round(3)

# %% [markdown]
# *Table: STS-B dev Spearman $\times 100$, alignment and uniformity at step {glue:text}`abl_steps` of each run, and the pretext task of the best checkpoint of each run (loss and top-1 accuracy on held-out sentences, with that run's kind of positive). The paper's column is `bert-base-uncased` on STS-B dev after a full run (SimCSE Tables 1 and 3).*
#
# At step {glue:text}`abl_steps`, dropout positives give {glue:text}`abl_dropout:.1f`, no dropout {glue:text}`abl_nodrop:.1f` and word deletion {glue:text}`abl_delete:.1f`; the best here is {glue:text}`abl_best`. In the paper, dropout ({glue:text}`p_abl_dropout:.1f`) beats word deletion ({glue:text}`p_abl_delete:.1f`) and no dropout ({glue:text}`p_abl_nodrop:.1f`). Without dropout the two views are identical, the positive term is constant, and only the uniformity term acts: the model can lower the loss only by spreading sentences out, whatever it does to paraphrases (uniformity {glue:text}`abl_unif_nodrop:.3f`, alignment {glue:text}`abl_align_nodrop:.3f`). Deleting a word makes the positive different in content, which a model must learn to ignore: a harder task, with a risk that it learns to ignore words that matter.
#
# ## The supervised variant
#
# Supervised SimCSE takes its positives from natural-language-inference data: a premise and a hypothesis it entails; and a hypothesis that contradicts the premise serves as a hard negative (the paper: the combination of SNLI and MNLI, 314k examples). The offline analogue is SICK's training split {cite}`marelli2014sick`: each ENTAILMENT pair is a positive pair, with a CONTRADICTION of the same premise as the hard negative where SICK has one. SICK-R test then shares its sentences' style, vocabulary and annotation with the training pairs: it is *in-domain* for this model, unlike for the unsupervised one, and the table flags it. The run uses the paper's supervised learning rate ($5\times10^{-5}$, which it pairs with batch 512, Table A.1) at batch 64 and keeps the `[CLS]` vector below the MLP head for evaluation (the paper keeps the head for its supervised models).

# %%
pairs, triplets = supervised_examples("sick")
sup_run = train_simcse(CONFIGS["sup"])  # lr 5e-5 (the paper's supervised setting), one epoch in the quick profile
sup = sup_run.encoder()
sup_res = evaluate_many(sup, ["stsb", "sickr"], ("cls",))["cls"]
raw_best = before[best_before]
sup_table = pd.DataFrame({
    f"{LABEL} ({best_before}), before": {k: raw_best[t]["all"] for k, t in [("STS-B", "stsb"), ("SICK-R (in-domain for sup.)", "sickr")]},
    f"unsup. SimCSE-{LABEL} (cls)": {k: after["cls"][t]["all"] for k, t in [("STS-B", "stsb"), ("SICK-R (in-domain for sup.)", "sickr")]},
    f"sup. SimCSE-{LABEL} on SICK (cls)": {k: sup_res[t]["all"] for k, t in [("STS-B", "stsb"), ("SICK-R (in-domain for sup.)", "sickr")]},
    "Sup-SimCSE-BERT-base, NLI (paper)": {"STS-B": PAPER_SIMCSE["Table 5: Sup-SimCSE-BERT-base"]["stsb"],
                                          "SICK-R (in-domain for sup.)": PAPER_SIMCSE["Table 5: Sup-SimCSE-BERT-base"]["sickr"]},
}).T
glue("n_pairs", len(pairs))
glue("n_triplets", len(triplets))
glue("sup_steps", sup_run.summary["steps"])
glue("stsb_sup", sup_res["stsb"]["all"])
glue("sickr_sup", sup_res["sickr"]["all"])
glue("sup_verb", "are above it" if sup_res["stsb"]["all"] > raw_best["stsb"]["all"] else "stay below it")
glue("sup_cls_verb", "raise" if sup_res["stsb"]["all"] > before["cls"]["stsb"]["all"] else "lower")
glue("sup_vs_unsup", "above" if sup_res["stsb"]["all"] > after["cls"]["stsb"]["all"] else "below")
sup_ev = sup_run.evals.set_index("step")
glue("sup_align0", sup_ev.alignment.iloc[0])
glue("sup_align_best", sup_ev.loc[sup_run.best_step, "alignment"])
glue("sup_unif_best", sup_ev.loc[sup_run.best_step, "uniformity"])
sup_table.round(2)

# %% [markdown]
# *Table: Spearman $\times 100$ on the test sets. SICK-R is in-domain for the supervised row only. The paper's supervised model is `bert-base-uncased` trained on NLI, for which SICK-R is not in-domain.*
#
# The {glue:text}`n_pairs` entailment pairs without a contradiction and {glue:text}`n_triplets` triplets with one gave {glue:text}`sup_steps` steps. Supervised positives {glue:text}`sup_cls_verb` the `[CLS]` vector on STS-B test from {glue:text}`stsb_cls:.1f` to {glue:text}`stsb_sup:.1f`, {glue:text}`sup_vs_unsup` the unsupervised run ({glue:text}`stsb_simcse:.1f`); compared with the best raw pooling ({glue:text}`best_before`, {glue:text}`stsb_best_before:.1f`) they {glue:text}`sup_verb`. On SICK-R, in-domain here, the supervised model scores {glue:text}`sickr_sup:.1f`. Real paraphrases as positives put the closeness of paraphrases into the objective itself; on STS-B dev, alignment moves from {glue:text}`sup_align0:.3f` to {glue:text}`sup_align_best:.3f` (uniformity {glue:text}`sup_unif_best:.3f`), whereas the dropout positives of the unsupervised run carry no information about which different sentences mean the same thing.

# %% [markdown]
# ## Section 5: why the contrastive objective flattens the spectrum
#
# Wang and Isola {cite}`wang2020alignment` showed that, as the number of negatives grows, the contrastive loss (minus $\log N$) tends to
#
# $$
# -\frac{1}{\tau}\,\mathbb E_{(x, x^+)}\big[f(x)^\top f(x^+)\big] \;+\; \mathbb E_{x}\Big[\log \mathbb E_{x^-}\big[e^{f(x)^\top f(x^-)/\tau}\big]\Big]
# $$
#
# with $f$ normalized (SimCSE's Eq. 6): the first term aligns positives, the second spreads the data. Gao et al. bound the second term on a finite set of sentences $\{x_i\}_{i=1}^m$ with $\mathbf h_i = f(x_i)$ by Jensen's inequality ($\log$ is concave):
#
# $$
# \frac1m \sum_{i=1}^m \log\Big(\frac1m\sum_{j=1}^m e^{\mathbf h_i^\top \mathbf h_j/\tau}\Big)
# \;\ge\; \frac{1}{\tau m^2}\sum_{i=1}^m\sum_{j=1}^m \mathbf h_i^\top \mathbf h_j
# \;=\; \frac{1}{\tau m^2}\operatorname{Sum}(W W^\top)
# $$
#
# (their Eq. 7), where the rows of $W \in \mathbb R^{m\times d}$ are the $\mathbf h_i$. Minimising the second term therefore pushes down $\operatorname{Sum}(WW^\top)$, the sum of all pairwise cosines. Two facts turn this into a statement about the spectrum. The trace is fixed: $\operatorname{tr}(WW^\top) = \sum_k \sigma_k^2 = m$ for unit rows. And the largest eigenvalue is at least the Rayleigh quotient of the all-ones vector: $\sigma_1^2 = \lambda_{\max}(WW^\top) \ge \mathbf 1^\top WW^\top \mathbf 1 / m = \operatorname{Sum}(WW^\top)/m$. Together,
#
# $$
# \frac{\sigma_1^2}{\sum_k \sigma_k^2} \;\ge\; \frac{\operatorname{Sum}(WW^\top)}{m^2} = \bar c,
# $$
#
# the average cosine over all ordered pairs (self-pairs included). An anisotropic space, $\bar c$ near 1, must put almost all of its energy in one direction. When all cosines are positive, as in BERT's narrow cone, $\operatorname{Sum}(WW^\top)$ also bounds $\lambda_{\max}$ from above (it exceeds every row sum of a nonnegative matrix): pushing the sum down lowers a ceiling on the top eigenvalue, which is Gao et al.'s argument, and the inequality above adds the converse, that no spectrum can be flat while $\bar c$ stays high. With the trace fixed, what leaves the top direction goes to the others. We check both sides of the inequality on the STS-B test sentences, and plot the normalized singular values as in the paper's Figure F.1 (uncentred).

# %%
stsb = data.load_task("stsb")
pair_sentences = stsb.sentences1 + stsb.sentences2  # encoded (and cached) for the tables above
first = np.unique(pair_sentences, return_index=True)[1]  # each distinct sentence once


def stsb_matrix(encoder, pooling="cls"):
    return encoder.encode(pair_sentences, pooling=pooling, show_progress=False)[np.sort(first)]


spectra_emb = {f"{LABEL} (cls)": stsb_matrix(base), f"{LABEL} (first_last_avg)": stsb_matrix(base, "first_last_avg"),
               "unsup. SimCSE (cls)": stsb_matrix(simcse)}


def energy(x):
    """(top singular value's share of the energy, average cosine incl. self-pairs) of unit rows."""
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = np.linalg.svd(u, compute_uv=False)
    return s[0] ** 2 / (s ** 2).sum(), (u.sum(0) @ u.sum(0)) / len(u) ** 2

# %%
spectra_emb["sup. SimCSE on SICK (cls)"] = stsb_matrix(sup)
fig, ax = plt.subplots(figsize=(6.4, 3.8))
colors = {f"{LABEL} (cls)": COLORS["mini-bert"], f"{LABEL} (first_last_avg)": "#ff9896",
          "unsup. SimCSE (cls)": COLORS["simcse"], "sup. SimCSE on SICK (cls)": "#8c564b"}
for label, x in spectra_emb.items():
    s = metrics.singular_spectrum(x, center=False)
    ax.plot(np.arange(1, len(s) + 1), s, label=label, color=colors[label])
ax.set(xlabel="index", ylabel="singular value / largest", ylim=(0, 1.02), xscale="log",
       title="Normalized singular values, STS-B test (uncentred)")
ax.legend(fontsize=8)
glue("fig_spectrum", fig)
plt.close(fig)
en = pd.DataFrame({k: dict(zip(["top share sigma_1^2 / sum sigma_k^2", "average cosine c (incl. self)"], energy(x)))
                   for k, x in spectra_emb.items()}).T
for label, key in [(f"{LABEL} (cls)", "cls"), (f"{LABEL} (first_last_avg)", "fla"), ("unsup. SimCSE (cls)", "simcse"),
                   ("sup. SimCSE on SICK (cls)", "sup")]:
    glue(f"top_{key}", en.loc[label].iloc[0])
    glue(f"cbar_{key}", en.loc[label].iloc[1])
glue("spec_verb", "flatter, as Section 5 predicts" if en.loc["unsup. SimCSE (cls)"].iloc[0] < en.loc[f"{LABEL} (cls)"].iloc[0]
     else "steeper, against Section 5's prediction")
en.round(3)

# %% [markdown]
# ```{glue:figure} fig_spectrum
# :name: fig-simcse-spectrum
#
# Singular values of the matrix of STS-B test sentence embeddings, divided by the largest (not centred, as in SimCSE's Figure F.1), for the stand-in before training and after unsupervised and supervised SimCSE.
# ```
#
# The table checks the inequality $\sigma_1^2/\sum_k\sigma_k^2 \ge \bar c$ on each embedding matrix. Before training the stand-in's `[CLS]` vectors have $\bar c$ = {glue:text}`cbar_cls:.3f` and the top direction holds {glue:text}`top_cls:.3f` of the energy; after unsupervised SimCSE $\bar c$ = {glue:text}`cbar_simcse:.3f` and the top share is {glue:text}`top_simcse:.3f`: the spectrum is {glue:text}`spec_verb`. What the objective pushes on is the sum of all cosines, which bounds the top share; any STS gain is what the pretrained encoder turns that spreading into.

# %% [markdown]
# ## Scaling up: the paper profile on GPUs
#
# With `PROFILE = "paper"` this chapter trains `bert-base-uncased` on SimCSE's full `wiki1m` (downloaded on first use) with the paper's settings: one epoch of a million sentences in batches of 64 ({glue:text}`paper_steps:,` steps), evaluated on STS-B dev every 250. The same run on several GPUs, from the repository root:
#
# ```bash
# torchrun --nproc_per_node 4 -m aniso.contrastive --profile paper
# # or: accelerate launch --num_processes 4 -m aniso.contrastive --profile paper
# ```
#
# The trainer splits every batch across the processes (batch 64 *per device*: pass a smaller `batch_size` in `paper_config` to keep the paper's global batch of 64) and the loss gathers the embeddings of all devices, so each sentence sees the negatives of the whole batch. An interrupted run resumes from its last checkpoint when the command is repeated; the finished run lands in the cache, where this chapter finds it.

# %%
glue("paper_steps", 1_000_000 // paper_config().batch_size)
glue("chapter_seconds", time.perf_counter() - T_START)
print(f"chapter: {time.perf_counter() - T_START:.0f} s wall, {time.process_time():.0f} s CPU, {torch.get_num_threads()} thread(s)")

# %% [markdown]
# ## Summary
#
# * SimCSE is InfoNCE with the same sentence, seen through two dropout masks, as the positive and the rest of the batch as negatives; a few lines of code, and the same loss as sentence-transformers' `MultipleNegativesRankingLoss` with scale $1/\tau$.
# * On the stand-in, {glue:text}`n_steps` steps of unsupervised SimCSE move STS-B test from {glue:text}`stsb_cls:.1f` to {glue:text}`stsb_simcse:.1f` (`[CLS]`); the paper moves `bert-base-uncased` to {glue:text}`paper_stsb_simcse:.2f`. Uniformity {glue:text}`unif_verb` and alignment {glue:text}`align_verb` on STS-B dev.
# * The stand-in finds the dropout twin of a sentence among 64 in {glue:text}`pre_top1_0:.0f`% of the cases before training and {glue:text}`pre_top1_1:.0f`% after: the pretext task is learned, and learning it spreads sentences apart, which bounds the spectrum's top share. Which sentences end up close is left to what the pretrained encoder knows.
# * Supervised positives from SICK give {glue:text}`stsb_sup:.1f` on STS-B test (the raw `[CLS]` vector: {glue:text}`stsb_cls:.1f`).
#
# ## Exercises
#
# ```{exercise}
# :label: ex-simcse-temperature
# Train with `CONFIG.replace(temperature=0.5)` and `temperature=0.01` (and `stop_after=25` to keep it short). How do the loss, uniformity and STS-B dev change? The paper's Table D.1 reports 0.05 as the best of {0.001, 0.01, 0.05, 0.1, 1} on STS-B dev.
# ```
#
# ```{solution} ex-simcse-temperature
# :class: dropdown
# The temperature scales the logits. With a large $\tau$ the softmax is flat: every negative gets a similar weight and the gradient is a weak, uniform push away from the batch mean, so uniformity improves slowly. With a small $\tau$ the loss is dominated by the hardest negative of each row; gradients are large and noisy, and the model may overfit surface features that separate the closest sentences. Wang and Isola show that the uniformity term of the limit loss is a log-sum-exp with bandwidth $1/\tau$, which is why $\tau$ controls how uniform the optimum is.
# ```
#
# ```{exercise}
# :label: ex-simcse-bound
# Show that for unit vectors $\mathbf h_1, \dots, \mathbf h_m$ the top eigenvalue of $WW^\top$ satisfies $\operatorname{Sum}(WW^\top)/m \le \lambda_{\max} \le \max_i \sum_j |\mathbf h_i^\top \mathbf h_j|$, and use `energy` above to check the lower bound on random Gaussian vectors in 256 dimensions. Why is the bound nearly tight for the stand-in's raw `[CLS]` vectors and loose after training?
# ```
#
# ```{solution} ex-simcse-bound
# :class: dropdown
# The lower bound is the Rayleigh quotient of $\mathbf 1/\sqrt m$; the upper bound is Gershgorin's theorem (or the maximum row sum of $|WW^\top|$). For random Gaussian vectors $\bar c \approx 1/m$ while the top share is about $1/d$ (larger), so the bound is loose. For a narrow cone all vectors are close to one direction $\mathbf u$; then $\mathbf 1$ is close to the top eigenvector of $WW^\top$ and the Rayleigh quotient is nearly $\lambda_{\max}$. After training the top eigenvector is no longer the mean direction, and the bound loosens.
# ```
#
# ```{exercise}
# :label: ex-simcse-pooling
# The first probe of this chapter's experiment used `mean` pooling. Train with `CONFIG.replace(pooling="mean", mlp_head_in_training=False, stop_after=50)` and compare STS-B dev and the pretext accuracy (`pretext_stats(..., pooling="mean")`) with the `[CLS]` run. Which pooling makes the pretext task easier before training, and what does that predict?
# ```
#
# ```{solution} ex-simcse-pooling
# :class: dropdown
# The mean of the token vectors carries the words of the sentence directly, so two dropout views of the same sentence are nearly identical and very different from other sentences: the pretext task is solved before training (top-1 near 100%, loss near 0), the gradient is tiny, and the few updates it makes spread sentences by surface features. The `[CLS]` vector of a model pretrained without a sentence-level task starts nearly constant, so there is more to learn, but what it learns is only as semantic as the layers below. With `bert-base-uncased` both work (the paper's Table 6 reports small differences between poolings); with a weak encoder neither has the semantics to recover.
# ```
#
# ```{exercise}
# :label: ex-simcse-batch
# In-batch negatives make the batch size part of the objective: the loss of guessing is $\log N$. Run the first 25 steps with `batch_size=16` (keeping the number of sentences) and compare the uniformity reached. Why do papers with larger batches (SimCLR) or memory banks (MoCo) report better representations, and why did SimCSE find batch size mattered little (its Appendix A)?
# ```
#
# ```{solution} ex-simcse-batch
# :class: dropdown
# More negatives give a better estimate of the uniformity term $\mathbb E_{x^-}[e^{f(x)^\top f(x^-)/\tau}]$, so the objective is closer to its limit form and pushes harder towards a uniform distribution. For sentence embeddings starting from a pretrained encoder the gain saturates early: SimCSE's grid search over batch sizes 64 to 512 found the model "not sensitive to batch sizes as long as tuning the learning rates accordingly" (Appendix A), plausibly because the pretrained space already carries the structure and a few dozen negatives suffice to spread it.
# ```
#
# ## References
#
# ```{bibliography}
# :filter: docname in docnames
# :labelprefix: C
# ```
