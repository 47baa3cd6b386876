# %% [markdown]
# # Alignment and uniformity on the hypersphere
#
# ```{admonition} Learning goals
# After this chapter you can
# * define the alignment and uniformity losses of Wang and Isola and compute them for any encoder;
# * state the theorem that links the contrastive loss to them, and say what each of its two terms rewards;
# * read the alignment-uniformity plane, and place on it every model of this book: raw poolings, post-processing, contrastive training and its ablations, a contrastive encoder trained on a billion pairs, and averaged word vectors;
# * train an encoder with $\mathcal L_{\rm align} + \mathcal L_{\rm uniform}$ directly and compare it with SimCSE.
# ```
#
# **The claim.** Wang and Isola {cite}`wang2020alignment` argue that contrastive learning optimizes two properties of the normalized features: *alignment* (positive pairs map to nearby points) and *uniformity* (the features spread uniformly over the hypersphere, keeping as much information as possible). They prove that the contrastive loss optimizes both in the limit of many negatives, show that both correlate with downstream accuracy, and find that training on the two losses directly works as well as the contrastive loss. SimCSE {cite}`gao2021simcse` (its Figures 2 and 3) uses the two measures to explain sentence embeddings: pretrained BERT aligns paraphrases well but is far from uniform, post-processing (the flow, whitening) buys uniformity at the cost of alignment, and SimCSE improves uniformity while keeping alignment.
#
# **The experiment that could falsify it.** Measure both losses for every model of the book with one protocol, the one of SimCSE's figures: positive pairs are STS-B pairs with a gold score above 4, the data distribution is all STS-B sentences (here the dev split, which is also the model-selection set of chapter 4). If the story holds, the models with the best STS correlation sit at the lower left, and the training runs move down and to the left.

# %% tags=["parameters"]
PROFILE = "quick"  # "quick": the stand-in BERT on the CPU, minutes; "paper": bert-base-uncased (GPUs)

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
from aniso.contrastive import (align_uniform_loss, book_configs, book_plane, evaluate_many, free_cores, info_nce,
                               plane_figure, train_simcse)
from aniso.encoders import load_encoder
from aniso.evaluation import results_table
from aniso.plotting import COLORS, set_style

T_START = time.perf_counter()
warnings.filterwarnings("ignore", message="IProgress not found")
set_style()
torch.set_num_threads(free_cores())
CONFIGS = book_configs(PROFILE)
LABEL = "mini-bert" if PROFILE == "quick" else CONFIGS["unsup"].model
N_WIKI = 5000 if PROFILE == "quick" else None  # sentences the whitening and the flow are fitted on

# %% [markdown]
# ## Two losses
#
# Let $f$ map an input to the unit hypersphere $\mathcal S^{d-1}$, let $p_{\rm pos}$ be the distribution of positive pairs and $p_{\rm data}$ the data distribution. Wang and Isola define
#
# $$
# \mathcal L_{\rm align}(f;\alpha) = \mathbb E_{(x,y)\sim p_{\rm pos}}\big[\lVert f(x)-f(y)\rVert_2^{\alpha}\big], \quad \alpha > 0,
# $$
#
# $$
# \mathcal L_{\rm uniform}(f;t) = \log\, \mathbb E_{x,y \,\overset{\rm iid}{\sim}\, p_{\rm data}}\big[e^{-t\lVert f(x)-f(y)\rVert_2^2}\big], \quad t > 0,
# $$
#
# and use $\alpha = 2$, $t = 2$, as we do. Alignment is 0 when every positive pair coincides and at most $2^\alpha$. Uniformity is the logarithm of the average Gaussian potential between two random points: it is 0 when all points coincide, and it is minimized by the uniform distribution on the sphere, the configuration that keeps the most information about the input. Both are computed on normalized features (`aniso.metrics.alignment`, `aniso.metrics.uniformity`).
#
# **The theorem** (Wang and Isola, Theorem 1). With $M$ negatives per positive pair, and $\tau > 0$ fixed,
#
# $$
# \lim_{M\to\infty} \Big[\mathcal L_{\rm contrastive}(f;\tau,M) - \log M\Big]
# = -\frac1\tau\,\mathbb E_{(x,y)\sim p_{\rm pos}}\big[f(x)^\top f(y)\big]
# + \mathbb E_{x\sim p_{\rm data}}\Big[\log \mathbb E_{x^-\sim p_{\rm data}}\big[e^{f(x^-)^\top f(x)/\tau}\big]\Big].
# $$
#
# Since $\lVert u - v\rVert^2 = 2 - 2u^\top v$ on the sphere, the first term is $\frac{1}{2\tau}\mathcal L_{\rm align}(f;2)$ minus a constant: it is minimized exactly by perfectly aligned encoders. The second term is minimized by perfectly uniform encoders, if such encoders exist (for the sphere in $d \ge 2$ dimensions and a rich enough data distribution they do). The contrastive loss therefore pulls towards alignment and uniformity at once, and the temperature sets the exchange rate. Chapter 4 used the second term to bound the sum of all cosines, which flattens the spectrum.

# %% [markdown]
# ## A picture to keep: features on the circle
#
# Before sentences, a toy we can see in full. Inputs are 1,024 points in $\mathbb R^8$ from an anisotropic Gaussian with a large mean; a positive pair is the same point with two draws of small Gaussian noise (the toy's "dropout"). The encoder is a small two-layer network whose output is normalized onto the circle $\mathcal S^1$. At initialization, the large mean sends every input to nearly the same direction: a narrow arc, the toy version of the anisotropic cone. We train two copies for 400 steps, one with InfoNCE ($\tau = 0.2$, in-batch negatives) and one with $\mathcal L_{\rm align} + \mathcal L_{\rm uniform}$, and show the features before and after.

# %%
def toy_encoder(seed=0):
    g = torch.Generator().manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.Tanh(), torch.nn.Linear(32, 2))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return net


g = torch.Generator().manual_seed(0)
scales = torch.tensor([3.0, 2.0, 1.0, 0.5, 0.5, 0.3, 0.2, 0.1])
X = torch.randn(1024, 8, generator=g) * scales * 0.5 + 2.0  # anisotropic, far from the origin


def features(net, x):
    return torch.nn.functional.normalize(net(x), dim=1)


def train_toy(objective, steps=400, batch=256, noise=0.15, seed=0):
    net = toy_encoder(seed)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(seed + 1)
    for _ in range(steps):
        x = X[torch.randint(0, len(X), (batch,), generator=g)]
        z1 = net(x + noise * torch.randn(x.shape, generator=g))
        z2 = net(x + noise * torch.randn(x.shape, generator=g))
        loss = info_nce(z1, z2, temperature=0.2) if objective == "infonce" else align_uniform_loss(z1, z2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


g_eval = torch.Generator().manual_seed(7)
X1, X2 = X + 0.15 * torch.randn(X.shape, generator=g_eval), X + 0.15 * torch.randn(X.shape, generator=g_eval)
toy = {"initialization": toy_encoder(), "trained with InfoNCE": train_toy("infonce"),
       r"trained with $\mathcal{L}_{\rm align} + \mathcal{L}_{\rm uniform}$": train_toy("align_uniform")}
fig, axes = plt.subplots(2, 3, figsize=(10.5, 6.2), gridspec_kw={"height_ratios": [3, 1.3]})
toy_metrics = {}
with torch.no_grad():
    for j, (name, net) in enumerate(toy.items()):
        f0, f1, f2 = features(net, X), features(net, X1), features(net, X2)
        a = ((f1 - f2).norm(dim=1) ** 2).mean().item()
        u = torch.pdist(f0).pow(2).mul(-2).exp().mean().log().item()
        toy_metrics[name] = (a, u)
        ang = torch.atan2(f0[:, 1], f0[:, 0]).numpy()
        ax = axes[0, j]
        ax.add_patch(plt.Circle((0, 0), 1, fill=False, color="#bbbbbb"))
        ax.scatter(np.cos(ang), np.sin(ang), c=X[:, 0].numpy(), cmap="viridis", s=6)
        ax.set(xlim=(-1.2, 1.2), ylim=(-1.2, 1.2), aspect="equal", xticks=[], yticks=[])
        ax.set_title(f"{name}\nalign {a:.2f}, uniform {u:.2f}", fontsize=9)
        axes[1, j].hist(ang, bins=48, range=(-np.pi, np.pi), color=COLORS["simcse"], density=True)
        axes[1, j].set(xlabel="angle", yticks=[])
fig.tight_layout()
glue("fig_circle", fig)
plt.close(fig)
names = list(toy)
glue("toy_unif0", toy_metrics[names[0]][1])
glue("toy_unif_nce", toy_metrics[names[1]][1])
glue("toy_unif_au", toy_metrics[names[2]][1])
glue("toy_align0", toy_metrics[names[0]][0])
glue("toy_align_nce", toy_metrics[names[1]][0])
glue("toy_align_au", toy_metrics[names[2]][0])
glue("unif_limit_circle", np.log(np.i0(4.0)) - 4.0)  # uniform on S^1, t = 2: log E e^{-2|u-v|^2} = log I0(4) - 4

# %% [markdown]
# ```{glue:figure} fig_circle
# :name: fig-au-circle
#
# Features of the toy encoder on the circle (top; colour: the input's first coordinate) and the histogram of their angles (bottom), at initialization and after training with each objective. The titles give alignment (two noisy views of each input) and uniformity (all inputs).
# ```
#
# At initialization every input lands on a short arc: alignment is excellent ({glue:text}`toy_align0:.3f`) because everything is close to everything, and uniformity is poor ({glue:text}`toy_unif0:.2f`; 0 is a single point). Both objectives spread the features around the circle: uniformity reaches {glue:text}`toy_unif_nce:.2f` with InfoNCE and {glue:text}`toy_unif_au:.2f` with the two losses, against {glue:text}`unif_limit_circle:.2f` for the exactly uniform distribution on the circle, while alignment stays small ({glue:text}`toy_align_nce:.3f` and {glue:text}`toy_align_au:.3f`), and the colour shows that neighbouring inputs stay neighbours. This is the whole picture in two dimensions: a narrow cone has perfect alignment and no uniformity, and the two losses trade a little of the first for a lot of the second.

# %% [markdown]
# ## Every model of the book on one plane
#
# Now the sentence encoders. For each we encode the distinct STS-B dev sentences and compute $\mathcal L_{\rm align}$ on the pairs with a gold score above 4, $\mathcal L_{\rm uniform}$ on all sentences, and STS-B dev Spearman: `aniso.contrastive.DevProbe("stsb-dev").measure_encoder(encoder, pooling, transform)` does it for one model, and `book_plane` for all of them. The training runs of chapter 4 recorded the same three numbers every few steps, so they appear as trajectories. The points:
#
# * the stand-in BERT with `[CLS]`, `mean` and `first_last_avg` pooling;
# * whitening and the flow of chapter 3 on `first_last_avg`, fitted on {glue:text}`n_wiki:,` Wikipedia sentences (SimCSE's comparison uses the same kind of out-of-domain fit: its BERT-flow and whitening rows are fitted on NLI sentences);
# * unsupervised SimCSE, its two ablations (no dropout, one word deleted) and the supervised run on SICK, as trajectories from step 0;
# * the stand-in trained with $\mathcal L_{\rm align} + \mathcal L_{\rm uniform}$ (next section), as a trajectory;
# * all-MiniLM-L6-v2 (trained contrastively on a billion pairs) and averaged GloVe.

# %%
base = load_encoder(CONFIGS["unsup"].model)
runs = {name: train_simcse(cfg) for name, cfg in CONFIGS.items()}  # chapter 4's runs come from the cache
points, trajectories, posts = book_plane(PROFILE, n_wiki=N_WIKI)
glue("n_wiki", N_WIKI or len(data.load_sentences("wiki1m")))
glue("au_seconds", runs["align_uniform"].summary["train_seconds"])
plane = pd.DataFrame(points).T
for name, tr in trajectories.items():
    plane.loc[f"{name}, step {int(tr.step.iloc[-1])}"] = tr.iloc[-1][["spearman", "alignment", "uniformity"]]
plane = plane[["spearman", "alignment", "uniformity"]].rename(columns={"spearman": "STS-B dev"})
plane.round(3)

# %%
fig = plane_figure(points, trajectories, "STS-B dev: every model (numbers: Spearman x 100)")
glue("fig_plane", fig)
plt.close(fig)
u = plane["uniformity"]
glue("most_uniform", u.idxmin())
glue("best_aligned", plane["alignment"].idxmin())
glue("best_sts", plane["STS-B dev"].idxmax())
glue("best_sts_value", plane["STS-B dev"].max())
glue("u_cls", points[f"{LABEL} (cls)"]["uniformity"])
glue("a_cls", points[f"{LABEL} (cls)"]["alignment"])
glue("u_fla", points[f"{LABEL} (first_last_avg)"]["uniformity"])
glue("a_fla", points[f"{LABEL} (first_last_avg)"]["alignment"])
glue("u_white", points[f"{LABEL} + whitening (wiki)"]["uniformity"])
glue("a_white", points[f"{LABEL} + whitening (wiki)"]["alignment"])
glue("u_flow", points[f"{LABEL} + flow (wiki)"]["uniformity"])
glue("a_flow", points[f"{LABEL} + flow (wiki)"]["alignment"])
glue("u_minilm", points["all-MiniLM-L6-v2 (mean)"]["uniformity"])
glue("a_minilm", points["all-MiniLM-L6-v2 (mean)"]["alignment"])
glue("s_minilm", points["all-MiniLM-L6-v2 (mean)"]["spearman"])
glue("u_glove", points["averaged GloVe"]["uniformity"])
glue("minilm_vs_white", "much better aligned" if points["all-MiniLM-L6-v2 (mean)"]["alignment"]
     < points[f"{LABEL} + whitening (wiki)"]["alignment"] else "no better aligned")
glue("a_glove", points["averaged GloVe"]["alignment"])
post_trade = (points[f"{LABEL} + whitening (wiki)"]["alignment"] > points[f"{LABEL} (first_last_avg)"]["alignment"]
              and points[f"{LABEL} + whitening (wiki)"]["uniformity"] < points[f"{LABEL} (first_last_avg)"]["uniformity"])
glue("post_verdict", "buys uniformity at the cost of alignment, as SimCSE's Figure 3 shows for BERT" if post_trade
     else "does not show the trade SimCSE's Figure 3 shows for BERT (more uniformity, worse alignment)")
ev = runs["unsup"].evals
glue("simcse_du", ev.uniformity.iloc[-1] - ev.uniformity.iloc[0])
glue("simcse_da", ev.alignment.iloc[-1] - ev.alignment.iloc[0])
glue("simcse_keeps", "keeps alignment nearly where it was" if ev.alignment.iloc[-1] - ev.alignment.iloc[0] < 0.05
     else "pays for it with worse alignment")
nd = runs["no_dropout"].evals
glue("nodrop_da", nd.alignment.iloc[-1] - nd.alignment.iloc[0])
glue("nodrop_du", nd.uniformity.iloc[-1] - nd.uniformity.iloc[0])

# %% [markdown]
# ```{glue:figure} fig_plane
# :name: fig-au-plane
#
# Alignment against uniformity on STS-B dev for every model of the book (stars) and every training run of chapters 4 and 5 (lines from step 0, one point per evaluation), each annotated with its STS-B dev Spearman $\times 100$; the right panel zooms on the training runs. Lower left is better on both counts.
# ```
#
# The raw stand-in sits where the papers put BERT: its `[CLS]` vectors are almost perfectly "aligned" (alignment {glue:text}`a_cls:.3f`) only because all sentences are nearly the same vector (uniformity {glue:text}`u_cls:.2f`, near 0, the value of a single point); `first_last_avg` is at alignment {glue:text}`a_fla:.3f`, uniformity {glue:text}`u_fla:.2f`. Post-processing {glue:text}`post_verdict`: whitening moves to ({glue:text}`u_white:.2f`, {glue:text}`a_white:.3f`) and the flow to ({glue:text}`u_flow:.2f`, {glue:text}`a_flow:.3f`) as (uniformity, alignment). Unsupervised SimCSE moves uniformity by {glue:text}`simcse_du:+.2f` and alignment by {glue:text}`simcse_da:+.3f`: it {glue:text}`simcse_keeps`. Without dropout, the positive pair is one point and only the uniformity term acts (uniformity {glue:text}`nodrop_du:+.2f`, alignment {glue:text}`nodrop_da:+.3f`). all-MiniLM-L6-v2, trained on a billion real paraphrase pairs, reaches uniformity {glue:text}`u_minilm:.2f` at alignment {glue:text}`a_minilm:.3f`, {glue:text}`minilm_vs_white` than whitening at a similar spread, and scores {glue:text}`s_minilm:.1f` on STS-B dev; averaged GloVe sits at ({glue:text}`u_glove:.2f`, {glue:text}`a_glove:.3f`). The best STS-B dev Spearman on the plane is that of {glue:text}`best_sts` ({glue:text}`best_sts_value:.1f`).
#
# The plane explains the STS numbers of the previous chapters better than either axis alone. Uniformity without alignment (a space spread out at random) is as useless as alignment without uniformity (one point); what STS rewards is paraphrases that stay closer to each other than to the rest of a well-spread space.

# %% [markdown]
# ## Training with the two losses directly
#
# Wang and Isola train encoders on $\mathcal L_{\rm align}(f;2) + \lambda\,\mathcal L_{\rm uniform}(f;2)$ and match or beat the contrastive loss on images. We train the stand-in with the same positives as SimCSE (two dropout masks), the same data, steps and learning rate, the same `[CLS]` pooling and MLP head, and $\lambda = 1$ (`aniso.contrastive.align_uniform_loss`; the uniformity term is averaged over the two views, as in their code). The run took {glue:text}`au_seconds:.0f` s; its trajectory is the black line of the figure above.

# %%
au_enc = runs["align_uniform"].encoder()
simcse_enc = runs["unsup"].encoder()
sts = {f"{LABEL} ({p})": r for p, r in evaluate_many(base, ["stsb", "sickr"], ("cls", "first_last_avg")).items()}
sts["unsup. SimCSE (cls)"] = evaluate_many(simcse_enc, ["stsb", "sickr"], ("cls",))["cls"]
sts["align + uniform (cls)"] = evaluate_many(au_enc, ["stsb", "sickr"], ("cls",))["cls"]
au_table = results_table(sts, "all")
au_ev = runs["align_uniform"].evals
glue("stsb_au", sts["align + uniform (cls)"]["stsb"]["all"])
glue("stsb_simcse", sts["unsup. SimCSE (cls)"]["stsb"]["all"])
glue("au_vs_simcse", "above" if sts["align + uniform (cls)"]["stsb"]["all"] > sts["unsup. SimCSE (cls)"]["stsb"]["all"]
     else "below")
glue("au_u", au_ev.uniformity.iloc[-1])
glue("au_a", au_ev.alignment.iloc[-1])
glue("simcse_u", ev.uniformity.iloc[-1])
glue("simcse_a", ev.alignment.iloc[-1])
glue("chapter_seconds", time.perf_counter() - T_START)
print(f"chapter: {time.perf_counter() - T_START:.0f} s wall, {time.process_time():.0f} s CPU, {torch.get_num_threads()} thread(s)")
au_table

# %% [markdown]
# *Table: Spearman $\times 100$ on STS-B and SICK-R test, the stand-in before training, after unsupervised SimCSE and after training with $\mathcal L_{\rm align} + \mathcal L_{\rm uniform}$ (same data, steps and positives).*
#
# Trained with the two losses, the stand-in reaches {glue:text}`stsb_au:.1f` on STS-B test, {glue:text}`au_vs_simcse` SimCSE's {glue:text}`stsb_simcse:.1f`, and ends at uniformity {glue:text}`au_u:.2f` and alignment {glue:text}`au_a:.3f` on the plane (SimCSE: {glue:text}`simcse_u:.2f` and {glue:text}`simcse_a:.3f`). The two objectives are two routes to the same pair of properties; with dropout positives, neither can teach the encoder which *different* sentences mean the same thing.
#
# ## Summary
#
# * $\mathcal L_{\rm align}$ measures how close positive pairs are, $\mathcal L_{\rm uniform}$ how evenly the data covers the sphere; the contrastive loss optimizes both as the number of negatives grows.
# * A narrow cone has perfect alignment and no uniformity. On the plane, the raw stand-in's `[CLS]` vectors sit at uniformity {glue:text}`u_cls:.2f`; post-processing and contrastive training spread them, and the model trained on a billion real paraphrase pairs (all-MiniLM-L6-v2) reaches uniformity {glue:text}`u_minilm:.2f` at alignment {glue:text}`a_minilm:.3f` and {glue:text}`s_minilm:.1f` on STS-B dev.
# * Training on the two losses directly gives {glue:text}`stsb_au:.1f` on STS-B test, against {glue:text}`stsb_simcse:.1f` for SimCSE on the same budget.
#
# ## Exercises
#
# ```{exercise}
# :label: ex-au-uniform-circle
# Show that for the uniform distribution on the circle, $\mathcal L_{\rm uniform}(t) = \log I_0(2t) - 2t$, where $I_0$ is the modified Bessel function of the first kind, and check the value {glue:text}`unif_limit_circle:.3f` for $t = 2$ against the toy. What is the limit for a distribution concentrated on two antipodal points?
# ```
#
# ```{solution} ex-au-uniform-circle
# :class: dropdown
# For two independent uniform angles with difference $\theta$, $\lVert u-v\rVert^2 = 2 - 2\cos\theta$, so $\mathbb E e^{-t\lVert u - v\rVert^2} = e^{-2t}\,\frac{1}{2\pi}\int_0^{2\pi} e^{2t\cos\theta}d\theta = e^{-2t} I_0(2t)$. With $t = 2$: `np.log(np.i0(4)) - 4` $\approx$ {glue:text}`unif_limit_circle:.3f`. Two antipodal points, each with probability 1/2: half the pairs are at squared distance 0 and half at 4, so $\mathcal L_{\rm uniform} = \log\frac{1 + e^{-8}}{2} \approx -0.69$, worse than uniform: spreading over the whole circle is better than splitting in two.
# ```
#
# ```{exercise}
# :label: ex-au-lambda
# Train the stand-in with `CONFIGS["align_uniform"].replace(uniform_weight=0.25)` and `uniform_weight=4` (add `stop_after=25` to keep it short) and place both runs on the plane with `aniso.contrastive.plot_plane`. Which way does each move, and which gives the better STS-B dev Spearman?
# ```
#
# ```{solution} ex-au-lambda
# :class: dropdown
# `runs = {w: train_simcse(CONFIGS["align_uniform"].replace(uniform_weight=w, stop_after=25)) for w in (0.25, 4)}`, then `aniso.contrastive.plot_plane({}, {f"lambda={w}": r.evals for w, r in runs.items()})`. A small $\lambda$ lets alignment dominate: the run stays near its starting point (the cone already aligns everything). A large $\lambda$ moves far to the left (uniform) and up (positives and paraphrases pulled apart). Wang and Isola found a broad optimum around $\lambda = 1$ on images; for sentences, where dropout positives carry little semantic signal, the STS optimum is where uniformity improves without destroying the alignment the pretrained encoder had.
# ```
#
# ```{exercise}
# :label: ex-au-protocol
# Our plane uses STS-B dev. Recompute the points of the raw stand-in and of all-MiniLM-L6-v2 on STS-B test with `DevProbe("stsb")`, and on SICK-R test with `DevProbe("sickr")` (relatedness above 4 as positives). Does the ordering of the models change?
# ```
#
# ```{solution} ex-au-protocol
# :class: dropdown
# `DevProbe(task)` accepts any task name of `aniso.data.load_task`. The absolute values change with the data (SICK sentences are shorter and share more words, so alignment is better for every model), but the ordering along each axis is stable: the measures describe the encoder's geometry more than the data set.
# ```
#
# ## References
#
# ```{bibliography}
# :filter: docname in docnames
# :labelprefix: U
# ```
