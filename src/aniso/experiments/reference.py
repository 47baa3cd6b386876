"""Reference runs: the chapters' models trained longer, or more often, than the quick profile can.

Chapters 1 and 2 compare perplexities of tiny language models. After the quick profile's 150
steps, 40% of the vocabulary has never been a prediction target, so the papers' perplexity
*gains* cannot show. The LM reference run trains the same variants for :data:`LM_PLAN`
``["steps"]`` steps, with three seeds each. Chapter 4's SimCSE runs, chapter 5's alignment +
uniformity sweep, chapter 7's tests and hyperparameter grid, and chapter 6's pitfalls are the
contrastive reference
runs, planned in :mod:`aniso.experiments.contrastive_runs`. Each commits small
results (a JSON file and a log) under ``src/aniso/results/reference/``; the chapters load them
with :func:`load` and show them beside their own quick runs, labelled. One command each
regenerates them (``--workers 2``: two LM runs at a time, one thread each)::

    python -m aniso.experiments.reference lm [--workers 2] [--out src/aniso/results/reference]
    python -m aniso.experiments.reference simcse [--out src/aniso/results/reference]
    python -m aniso.experiments.reference au [--out src/aniso/results/reference]
    python -m aniso.experiments.reference conclusion [--out src/aniso/results/reference]
    python -m aniso.experiments.reference grid [--out src/aniso/results/reference]
    python -m aniso.experiments.reference pitfalls [--out src/aniso/results/reference]

A file records the SHA-256 of its plan (:func:`plan_hash`: every resolved training
configuration, the corpus and what is measured), and each run the SHA-256 of its own
configuration (:func:`run_hash`, or the contrastive run's key); the test suite checks that the
committed files match the plans. An interrupted or extended LM run resumes: runs
already in the file with the same run hash are skipped."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from aniso.experiments.results import (  # noqa: F401  (the chapters call reference.load)
    VERSION,
    load,
    results_dir,
    write_json,
)
from aniso.util.stats import (  # noqa: F401  (the chapters call these)
    AGREEMENT,
    Interval,
    agree,
    differ,
    mean_sd,
    paired_seed_interval,
    tie,
)

LM_PLAN = {
    "vocab_size": 10000,
    "steps": 1000,  # ~2 epochs' worth of 150-step quick runs: 96.5% of words are targets
    "eval_at": [150, 500],  # held-out perplexity also at these steps (150 = the quick profile)
    "seeds": [0, 1, 2, 3, 4],  # issue 26: at least 5 seeds for the LM tables
    "hidden_tokens": 5000,  # held-out positions whose hidden states enter the Theorem 2 test
    "bands": [0, 1, 10, 100],  # word bands by times a target: 0, 1-9, 10-99, 100+
    # name -> overrides of the quick profile's TrainConfig (order = run order within a seed)
    "variants": {
        "MLE (tied)": {},
        "CosReg γ=1": {"reg": "cosreg", "cos_gamma": 1.0},
        "SC exponential": {"reg": "spectrum", "prior": "exponential"},
        "SC polynomial": {"reg": "spectrum", "prior": "polynomial"},
        "untied": {"tied": False},
        "SC exponential, λs=0": {"reg": "spectrum", "prior": "exponential", "lambda_sv": 0.0},
        # chapter 2's ablation of the orthogonality penalty: its Frobenius terms only
        "SC exponential, Frobenius terms only": {
            "reg": "spectrum",
            "prior": "exponential",
            "lambda_3": 0.0,
            "lambda_4": 0.0,
        },
        # chapter 2's sweeps of the paper's grid {0.1, 1, 10, 100}: the polynomial prior's
        # λp from the prior initialisation, and λe from the SVD initialisation (can the
        # penalty alone bring the spectrum to the prior when it has 1000 steps?)
        **{
            f"SC polynomial, λs={lam:g}": {
                "reg": "spectrum",
                "prior": "polynomial",
                "lambda_sv": lam,
            }
            for lam in (0.0, 0.1, 10.0, 100.0)
        },
        **{
            f"SVD init, λs={lam:g}": {
                "reg": "spectrum",
                "prior": "exponential",
                "sigma_init": "svd",
                "lambda_sv": lam,
            }
            for lam in (0.0, 0.1, 1.0, 10.0, 100.0)
        },
    },
}


def lm_configs(plan: dict = LM_PLAN) -> dict:
    """``{variant: TrainConfig}`` of the plan (seed 0), the quick profile's config + overrides."""
    from aniso.lm.model import PROFILES

    base = replace(PROFILES["quick"]["config"], steps=plan["steps"], snapshot_every=plan["steps"])
    return {name: replace(base, **over) for name, over in plan["variants"].items()}


def plan_hash(plan: dict = LM_PLAN) -> str:
    """SHA-256 of the plan with every TrainConfig resolved (so a changed default changes it)."""
    from aniso.lm.model import TRAINING_VERSION

    blob = {
        "version": VERSION,
        "training": TRAINING_VERSION,
        "plan": plan,
        "configs": {k: asdict(c) for k, c in lm_configs(plan).items()},
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def run_hash(name: str, plan: dict = LM_PLAN) -> str:
    """SHA-256 of what one variant's runs depend on: the plan without the other variants, and
    the variant's resolved TrainConfig. A run is reused on resume when this matches, so adding
    a variant to the plan only trains the new one."""
    from aniso.lm.model import TRAINING_VERSION

    shared = {k: v for k, v in plan.items() if k != "variants"}
    blob = {
        "version": VERSION,
        "training": TRAINING_VERSION,
        "plan": shared,
        "variant": name,
        "config": asdict(lm_configs(plan)[name]),
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def _bands(edges):
    return [(lo, hi) for lo, hi in zip(edges, edges[1:] + [None])]


def _band_label(lo, hi):
    if hi is None:
        return f"{lo}+"
    return f"{lo}" if hi == lo + 1 else f"{lo}-{hi - 1}"


def _matrix_metrics(w: np.ndarray, targets: np.ndarray, edges) -> dict:
    from aniso.geometry import metrics
    from aniso.lm import degeneration, spectrum

    w = w.astype(np.float64)
    norms = np.linalg.norm(w, axis=1)
    out = {
        "average cosine": metrics.average_cosine(w),
        **spectrum.isotropy_criteria(w),
        "effective rank": metrics.effective_rank(w),
        "mean norm": float(norms.mean()),
        "spectrum": [round(float(x), 5) for x in metrics.singular_spectrum(w, center=False)],
    }
    out["s2/s1"] = out["spectrum"][1]
    g = degeneration.cosine_gram_bound(w)
    out["gram"] = {k: g[k] for k in ("lambda_max", "sum", "min_cos")}
    bands = {}
    for lo, hi in _bands(edges):
        sel = (targets >= lo) & (targets < hi if hi is not None else True)
        sel[:2] = False  # <unk>, <eos>
        n = int(sel.sum())
        bands[_band_label(lo, hi)] = {
            "words": n,
            "average cosine": metrics.average_cosine(w[sel]) if n > 1 else None,
            "mean norm": float(norms[sel].mean()) if n else None,
        }
    out["bands"] = bands
    return out


def run_one(corpus, name: str, seed: int, plan: dict = LM_PLAN) -> dict:
    """Train one variant with one seed and measure it (see the module docstring)."""
    from aniso.lm import degeneration
    from aniso.lm import model as lm

    cfg = replace(lm_configs(plan)[name], seed=seed)
    eval_ids = corpus.test[: cfg.eval_tokens] if cfg.eval_tokens else corpus.test
    ppl_at = {}

    def callback(step, model):
        if step in plan["eval_at"]:
            ppl_at[str(step)] = lm.perplexity(model, eval_ids)

    # snapshots every 50 steps so that the callback sees every step in eval_at
    t0 = time.process_time()
    w0 = time.time()
    res = lm.train_lm(
        corpus, replace(cfg, snapshot_every=50), callback=callback, progress=False, cache=False
    )
    ppl_at[str(cfg.steps)] = res.test_ppl
    model = res.model
    targets = lm.target_counts(corpus, cfg)
    row = {
        "variant": name,
        "seed": seed,
        "perplexity": ppl_at,
        "train nll (last 50 steps)": float(np.mean([h["nll"] for h in res.history[-50:]])),
        "never a target": int((targets[2:] == 0).sum()),
    }
    row["W"] = _matrix_metrics(model.output_embeddings().detach().numpy(), targets, plan["bands"])
    if not model.tied:
        row["W input"] = _matrix_metrics(
            model.input_embeddings().detach().numpy(), targets, plan["bands"]
        )
    w_end = res.snapshots[cfg.steps].astype(np.float64)
    w_start = res.snapshots[0].astype(np.float64)
    theorem2 = {}
    for key, before in (("after LayerNorm", False), ("before LayerNorm", True)):
        h = degeneration.hidden_states(
            model, corpus.test, plan["hidden_tokens"], before_norm=before
        )
        found = degeneration.uniformly_negative_direction(h)
        entry = {"positions": len(h), "direction exists": found is not None}
        if found is not None:
            entry.update(margin=found.margin, worst_cos=found.worst_cos)
            if not before:  # did never-target words move along it?
                never = np.flatnonzero(targets == 0)
                never = never[never >= 2]
                d = w_end[never] - w_start[never]
                dn = np.linalg.norm(d, axis=1)
                cos = (d @ found.direction)[dn > 0] / dn[dn > 0]
                entry["never-target displacement cos"] = float(cos.mean()) if len(cos) else None
        theorem2[key] = entry
    row["theorem 2"] = theorem2
    if model.svd:
        e = model.emb
        s = np.sort(np.abs(e.sigma.detach().numpy().astype(np.float64)))[::-1]
        p = lm.prior_values(len(corpus.vocab), cfg)
        u, v = e.u.detach().numpy().astype(np.float64), e.v.detach().numpy().astype(np.float64)
        row["spectrum control"] = {
            "gap to prior": float(np.abs(s - p).max() / p[0]),
            "||U^T U - I||_F": float(np.linalg.norm(u.T @ u - np.eye(u.shape[1]))),
            "||U^T U - I||_2": float(np.linalg.norm(u.T @ u - np.eye(u.shape[1]), 2)),
            "||V^T V - I||_F": float(np.linalg.norm(v.T @ v - np.eye(v.shape[1]))),
        }
    row["cpu seconds"] = round(time.process_time() - t0, 1)
    row["wall seconds"] = round(time.time() - w0, 1)
    return row


_CORPUS = {}


def _worker(args):
    name, seed, plan = args
    from aniso.lm import model as lm
    from aniso.util.threads import one_thread

    with one_thread():
        if plan["vocab_size"] not in _CORPUS:
            _CORPUS[plan["vocab_size"]] = lm.build_corpus(plan["vocab_size"])
        return run_one(_CORPUS[plan["vocab_size"]], name, seed, plan)


def run_lm(out_dir=None, workers: int = 1, plan: dict = LM_PLAN) -> dict:
    """Run (or resume) the LM reference run; write ``lm.json`` and ``lm.log`` into out_dir."""
    import torch

    out = Path(out_dir) if out_dir else results_dir()
    out.mkdir(parents=True, exist_ok=True)
    path, log = out / "lm.json", out / "lm.log"
    digest = plan_hash(plan)
    blob = {"config_sha256": digest, "plan": plan, "complete": False, "runs": []}
    hashes = {name: run_hash(name, plan) for name in plan["variants"]}
    if path.exists():  # resume: keep every run whose own configuration has not changed
        old = json.loads(path.read_text(encoding="utf-8"))
        blob["runs"] = [
            r for r in old["runs"] if r.get("config_sha256") == hashes.get(r["variant"])
        ]
    done = {(r["variant"], r["seed"]) for r in blob["runs"]}
    todo = [(n, s, plan) for s in plan["seeds"] for n in plan["variants"] if (n, s) not in done]
    blob["environment"] = {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "workers": workers,
    }

    def record(row):
        row["config_sha256"] = hashes[row["variant"]]
        blob["runs"].append(row)
        with log.open("a", encoding="utf-8") as f:
            f.write(
                f"{time.strftime('%Y-%m-%d %H:%M:%S')} {row['variant']} seed={row['seed']} "
                f"ppl={row['perplexity']} cpu={row['cpu seconds']}s "
                f"wall={row['wall seconds']}s\n"
            )
        write_json(path, blob)
        print(
            f"[reference] {row['variant']} seed {row['seed']}: ppl {row['perplexity']} "
            f"({row['wall seconds']} s)",
            flush=True,
        )

    if workers > 1 and len(todo) > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(workers) as pool:
            for row in pool.imap_unordered(_worker, todo):
                record(row)
    else:
        for job in todo:
            record(_worker(job))
    order = {
        (n, s): i
        for i, (n, s, _) in enumerate((n, s, None) for s in plan["seeds"] for n in plan["variants"])
    }
    blob["runs"].sort(key=lambda r: order[(r["variant"], r["seed"])])
    blob["complete"] = len(blob["runs"]) == len(order)
    write_json(path, blob)
    return blob


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m aniso.experiments.reference",
        description="Regenerate a reference run (aniso/results/reference/).",
    )
    ap.add_argument(
        "which",
        choices=["lm", "simcse", "au", "conclusion", "grid", "pitfalls"],
        help="lm: the language models of chapters 1 and 2; simcse: chapter 4's runs; "
        "au: chapter 5's alignment + uniformity sweep; conclusion: chapter 7's "
        "tests; grid: chapter 7's SimCSE hyperparameter grid and temperature sweep; "
        "pitfalls: chapter 6's MLP-head and shared-mask runs "
        "(aniso.experiments.contrastive_runs)",
    )
    ap.add_argument(
        "--out", default=None, help="output folder (default: the package's results/reference)"
    )
    ap.add_argument("--workers", type=int, default=1, help="runs in parallel (one thread each)")
    args = ap.parse_args(argv)
    t0 = time.time()
    if args.which == "lm":
        blob = run_lm(args.out, args.workers)
    else:
        from aniso.experiments import contrastive_runs as contrastive_reference

        blob = getattr(contrastive_reference, f"run_{args.which}")(args.out)
    print(
        f"[reference] {len(blob['runs'])} runs, complete={blob.get('complete', True)}, "
        f"{time.time() - t0:.0f} s",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
