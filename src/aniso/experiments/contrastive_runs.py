"""The contrastive reference runs: SimCSE's runs of chapter 4, the alignment + uniformity sweep of
chapter 5, the tests of chapter 7 (with SimCSE's hyperparameter grid and a temperature sweep) and
the pitfalls of chapter 6, trained longer or with more seeds than a chapter can afford.

Each plan (:data:`SIMCSE_PLAN`, :data:`AU_PLAN`, :data:`CONCLUSION_PLAN`, :data:`GRID_PLAN`,
:data:`PITFALLS_PLAN`)
resolves to training configurations (:func:`simcse_configs`, ...); the committed file records
the SHA-256 of the plan and of every run's key (configuration, base model's weights, code
version), which the tests check. One command regenerates each file
(:mod:`aniso.experiments.reference` holds the command, the language-model run and
:func:`aniso.experiments.results.load`)::

    python -m aniso.experiments.reference simcse | au | conclusion | grid | pitfalls

The chapters read per-seed values with :func:`per_seed`, and the quick profile's ablation runs
with :func:`recorded_evals`.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from aniso.experiments.results import VERSION, load, results_dir, write_json

# Chapter 4's reference run: SimCSE's whole training curve on the stand-in (the quick run stops
# at step 50), and three seeds of the quick run, of the ablation (the first 25 steps of the quick
# schedule with each kind of positive) and of the supervised run on SICK.
SIMCSE_PLAN = {
    "curve": {"n_sentences": 11913, "max_steps": 400, "eval_every": 25},  # all of wiki1m_sample
    "seeds": [42, 43, 44],
    "ablation": ["dropout", "no_dropout", "delete_word"],
    "ablation_steps": 25,
}


def simcse_configs(plan: dict = SIMCSE_PLAN) -> dict:
    """``{(run, seed): SimCSEConfig}`` of the SimCSE reference run (chapter "SimCSE")."""
    from aniso.experiments.book_plans import book_configs

    c = book_configs("quick")
    out = {("curve", 42): c["unsup"].replace(**plan["curve"])}
    for seed in plan["seeds"]:
        out["unsup", seed] = c["unsup"].replace(seed=seed)  # the quick run, three seeds
        for positive in plan["ablation"]:
            out[f"ablation: {positive}", seed] = c["unsup"].replace(
                positive=positive, stop_after=plan["ablation_steps"], seed=seed
            )
        out["supervised", seed] = c["sup"].replace(seed=seed)
    return out


def _contrastive_hash(plan: dict, configs: dict) -> str:
    """SHA-256 of a contrastive reference plan and of every run's key (its config, the base
    model's weights and the contrastive code's version:
    :meth:`aniso.contrastive.SimCSEConfig.key`)."""
    keys = sorted(f"{n}|{s}|{c.key()}" for (n, s), c in configs.items())
    blob = {"version": VERSION, "plan": plan, "runs": keys}
    return hashlib.sha256(json.dumps(blob, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def simcse_plan_hash(plan: dict = SIMCSE_PLAN) -> str:
    """SHA-256 of the SimCSE plan and of every run's key (see :func:`_contrastive_hash`)."""
    return _contrastive_hash(plan, simcse_configs(plan))


# Chapter 5's reference run: training on L_align + lambda L_uniform with three weightings (Wang
# and Isola's defaults, a tenth of the uniformity weight, and InfoNCE's own weighting at
# tau = 0.05), three seeds each, on the quick run's schedule. Seed 42 of the first is the run
# that chapter 5 trains itself.
AU_PLAN = {
    "variants": {
        "λ = 1, t = 2 (Wang and Isola's)": {"uniform_t": 2.0, "uniform_weight": 1.0},
        "λ = 0.1, t = 2": {"uniform_t": 2.0, "uniform_weight": 0.1},
        "λ = 0.1, t = 10 (InfoNCE's limit)": {"uniform_t": 10.0, "uniform_weight": 0.1},
    },
    "seeds": [42, 43, 44],
}


def au_configs(plan: dict = AU_PLAN) -> dict:
    """``{(variant, seed): SimCSEConfig}`` of the alignment-uniformity reference run (chapter
    "Alignment and uniformity"): the book's ``align_uniform`` run with each weighting and seed."""
    from aniso.experiments.book_plans import book_configs

    c = book_configs("quick")["align_uniform"]
    return {
        (name, seed): c.replace(**over, seed=seed)
        for name, over in plan["variants"].items()
        for seed in plan["seeds"]
    }


def au_plan_hash(plan: dict = AU_PLAN) -> str:
    """SHA-256 of the alignment-uniformity plan and of every run's key."""
    return _contrastive_hash(plan, au_configs(plan))


# Chapter 7's tests of why whitening beats SimCSE on the stand-in, with three seeds: the quick
# run ([CLS], as in chapter 4's reference run) and the same run trained and read with mean
# pooling (no MLP head, which SimCSE's code applies to [CLS] only), each scored on the seven
# test sets as it is and after whitening fitted on its own vectors of Wikipedia sentences.
CONCLUSION_PLAN = {
    "seeds": [42, 43, 44],
    "tasks": ["sts12", "sts13", "sts14", "sts15", "sts16", "stsb", "sickr"],
    "whiten_wiki": 5000,  # the quick profile's whitening fit (chapters 5 and 7)
}


def conclusion_configs(plan: dict = CONCLUSION_PLAN) -> dict:
    """``{(run, seed): SimCSEConfig}`` of chapter 7's reference run (chapter "Conclusion")."""
    from aniso.experiments.book_plans import book_configs

    unsup = book_configs("quick")["unsup"]
    mean = unsup.replace(pooling="mean", mlp_head_in_training=False)
    return {
        (name, seed): c.replace(seed=seed)
        for seed in plan["seeds"]
        for name, c in (("unsup", unsup), ("unsup, mean pooling", mean))
    }


def conclusion_plan_hash(plan: dict = CONCLUSION_PLAN) -> str:
    """SHA-256 of chapter 7's plan and of every run's key."""
    return _contrastive_hash(plan, conclusion_configs(plan))


# Chapter 7's question whether SimCSE was held back by its hyperparameters on the stand-in. SimCSE's
# Appendix A grid-searched batch size {64, 128, 256, 512} x learning rate {1e-5, 3e-5, 5e-5} on
# STS-B dev; the stand-in's quick run reuses BERT-base's choice (64, 3e-5). Every grid point
# here sees the quick run's 3,200 sentences once (the paper: one epoch of wiki1m), with STS-B dev
# evaluated every 1,600 sentences; the point best on STS-B dev (seed 42) is then trained with
# the other seeds. The temperature sweep runs the quick configuration with five temperatures
# (SimCSE's Table D.1 tried 0.001 to 1), three seeds each.
GRID_PLAN = {
    "batch_sizes": [64, 128, 256, 512],
    "lrs": [1e-5, 3e-5, 5e-5],
    "grid_seed": 42,
    "seeds": [42, 43, 44],
    "eval_sentences": 1600,
    "temperatures": [0.01, 0.02, 0.05, 0.1, 0.2],
}


def grid_point(batch_size: int, lr: float) -> str:
    """The name of one point of the grid (chapter "Conclusion")."""
    return f"grid: batch {batch_size}, lr {lr:g}"


def grid_configs(plan: dict = GRID_PLAN) -> dict:
    """``{(run, seed): SimCSEConfig}`` of the grid (seed ``grid_seed``) and of the temperature
    sweep (every seed) of chapter 7's hyperparameter reference run (chapter "Conclusion"). The
    best grid point's other seeds are chosen by :func:`run_grid` after the grid has run."""
    from aniso.experiments.book_plans import book_configs

    unsup = book_configs("quick")["unsup"]
    out = {}
    for b in plan["batch_sizes"]:
        for lr in plan["lrs"]:
            out[grid_point(b, lr), plan["grid_seed"]] = unsup.replace(
                batch_size=b,
                lr=lr,
                eval_every=max(1, plan["eval_sentences"] // b),
                seed=plan["grid_seed"],
            )
    for t in plan["temperatures"]:
        for seed in plan["seeds"]:
            out[f"temperature {t:g}", seed] = unsup.replace(temperature=t, seed=seed)
    return out


def grid_plan_hash(plan: dict = GRID_PLAN) -> str:
    """SHA-256 of chapter 7's hyperparameter plan and of every run's key."""
    return _contrastive_hash(plan, grid_configs(plan))


def best_grid_point(blob: dict) -> str:
    """The grid point with the highest best STS-B dev Spearman at ``grid_seed`` (the first in
    the plan's order on a tie): SimCSE's way of choosing its hyperparameters."""
    seed = blob["plan"]["grid_seed"]
    rows = [r for r in blob["runs"] if r["run"].startswith("grid:") and r["seed"] == seed]
    if not rows:
        raise KeyError("no grid point in this reference file")
    return max(rows, key=lambda r: (max(r["evals"]["spearman"]), -rows.index(r)))["run"]


# Chapter 6's pitfalls 3 and 4, three seeds each: the quick run (its MLP head saved, so that it
# can be read out below the head and through it), the same run trained without the head, and the
# first 25 steps of the quick schedule with one dropout mask for both views (SimCSE's "fixed
# 0.1"; chapter 4's reference run has the same 25 steps with two masks and without dropout).
PITFALLS_PLAN = {
    "seeds": [42, 43, 44],
    "shared_mask_steps": 25,
    "through_head": True,  # also score the [CLS] vectors after the saved MLP head
}


def pitfalls_configs(plan: dict = PITFALLS_PLAN) -> dict:
    """``{(run, seed): SimCSEConfig}`` of chapter 6's reference run (chapter "Reproducing the
    numbers")."""
    from aniso.experiments.book_plans import book_configs

    unsup = book_configs("quick")["unsup"]
    out = {}
    for seed in plan["seeds"]:
        out["unsup", seed] = unsup.replace(seed=seed)
        out["unsup, no MLP head", seed] = unsup.replace(mlp_head_in_training=False, seed=seed)
        out["ablation: shared_mask", seed] = unsup.replace(
            positive="shared_mask", stop_after=plan["shared_mask_steps"], seed=seed
        )
    return out


def pitfalls_plan_hash(plan: dict = PITFALLS_PLAN) -> str:
    """SHA-256 of chapter 6's plan and of every run's key."""
    return _contrastive_hash(plan, pitfalls_configs(plan))


def run_simcse(out_dir=None, plan: dict = SIMCSE_PLAN) -> dict:
    """Run the SimCSE reference run; write ``simcse.json`` and ``simcse.log`` into out_dir.

    Finished runs come from the contrastive run cache (:func:`aniso.contrastive.train_simcse`).
    """
    return _run_contrastive("simcse", plan, simcse_configs(plan), simcse_plan_hash(plan), out_dir)


def run_au(out_dir=None, plan: dict = AU_PLAN) -> dict:
    """Run the alignment-uniformity reference run; write ``au.json`` and ``au.log``."""
    return _run_contrastive("au", plan, au_configs(plan), au_plan_hash(plan), out_dir)


def run_conclusion(out_dir=None, plan: dict = CONCLUSION_PLAN) -> dict:
    """Run chapter 7's reference run; write ``conclusion.json`` and ``conclusion.log``."""
    return _run_contrastive(
        "conclusion", plan, conclusion_configs(plan), conclusion_plan_hash(plan), out_dir
    )


def run_grid(out_dir=None, plan: dict = GRID_PLAN) -> dict:
    """Run chapter 7's hyperparameter reference run; write ``grid.json`` and ``grid.log``.

    First the grid and the temperature sweep (:func:`grid_configs`), then the best grid point
    (:func:`best_grid_point`) with the plan's other seeds, whose rows carry the same run name.
    """
    configs = grid_configs(plan)
    blob = _run_contrastive("grid", plan, configs, grid_plan_hash(plan), out_dir, write=False)
    best = best_grid_point(blob)
    chosen = configs[best, plan["grid_seed"]]
    extra = {(best, s): chosen.replace(seed=s) for s in plan["seeds"] if s != plan["grid_seed"]}
    more = _run_contrastive("grid", plan, extra, blob["config_sha256"], out_dir, write=False)
    blob["runs"] += more["runs"]
    blob["best grid point"] = best
    write_json((Path(out_dir) if out_dir else results_dir()) / "grid.json", blob)
    return blob


def run_pitfalls(out_dir=None, plan: dict = PITFALLS_PLAN) -> dict:
    """Run chapter 6's reference run; write ``pitfalls.json`` and ``pitfalls.log``."""
    return _run_contrastive(
        "pitfalls", plan, pitfalls_configs(plan), pitfalls_plan_hash(plan), out_dir
    )


def _run_contrastive(
    which: str, plan: dict, configs: dict, digest: str, out_dir=None, write: bool = True
) -> dict:
    """Train (or take from the cache) every run of ``configs``; record its STS-B dev evaluations,
    best step and (ablations aside) its test scores, "all" setting, with the run's own pooling
    (on ``plan["tasks"]``, default STS-B and SICK-R), in ``<which>.json``. A plan with
    ``"whiten_wiki": n`` also records the scores after whitening fitted on the run's own vectors
    of the first n wiki1m sentences (``"whitened"``), and one with ``"through_head": True`` the
    scores of runs trained with the MLP head read out through it (``"through head"``)."""
    import torch

    from aniso.contrastive.trainer import HEAD_FILE, train_simcse
    from aniso.data.tasks import load_sentences
    from aniso.evaluation.sts import evaluate_many
    from aniso.postprocess.transforms import Whitening, fit_on_sentences

    out = Path(out_dir) if out_dir else results_dir()
    out.mkdir(parents=True, exist_ok=True)
    blob = {"config_sha256": digest, "plan": plan, "runs": []}
    tasks = plan.get("tasks", ["stsb", "sickr"])
    for (name, seed), cfg in configs.items():
        t0 = time.time()
        run = train_simcse(cfg)
        head = plan.get("through_head") and cfg.mlp_head_in_training and "ablation" not in name
        if head and not (run.dir / "best" / HEAD_FILE).exists():
            run = train_simcse(cfg, force=True)  # cached before the book saved the MLP head
        row = {
            "run": name,
            "seed": seed,
            "key": cfg.key(),
            "best_step": run.best_step,
            "evals": {
                k: [round(float(x), 5) for x in v] for k, v in run.evals.to_dict("list").items()
            },
        }
        if not name.startswith("ablation"):
            enc, p = run.encoder(), cfg.pooling
            transforms = {}
            if plan.get("whiten_wiki"):
                wiki = load_sentences("wiki1m", plan["whiten_wiki"])
                transforms["whitened"] = (
                    p,
                    fit_on_sentences(Whitening(), enc, wiki, p, show_progress=False),
                )
            if head:
                transforms["through head"] = (p, run.mlp_head())
            res = evaluate_many(enc, tasks, (p,), transforms=transforms)
            for key, label in [("test", p), *((k, k) for k in transforms)]:
                row[key] = {t: round(float(r["all"]), 4) for t, r in res[label].items()}
        if name == "curve":
            row["loss"] = {
                k: [round(float(x), 5) for x in v] for k, v in run.loss.to_dict("list").items()
            }
        row["train seconds"] = round(float(run.summary["train_seconds"]), 1)
        blob["runs"].append(row)
        with (out / f"{which}.log").open("a", encoding="utf-8") as f:
            f.write(
                f"{time.strftime('%Y-%m-%d %H:%M:%S')} {name} seed={seed} "
                f"best_step={run.best_step} wall={time.time() - t0:.0f}s\n"
            )
        print(f"[reference] {name} seed {seed}: best step {run.best_step}", flush=True)
    blob["environment"] = {"torch": torch.__version__, "numpy": np.__version__}
    if write:
        write_json(out / f"{which}.json", blob)
    return blob


def per_seed(blob: dict, run: str, measure: str, step: int | None = None) -> list[float]:
    """One value per seed of ``run`` in a contrastive reference file (chapters 4 and 5).

    ``measure`` is a column of the run's STS-B dev records (``"spearman"``, ``"alignment"``,
    ``"uniformity"``), read at ``step`` (default: the last evaluation), or ``"test:<task>"``,
    the test score of the best dev checkpoint (``"whitened:<task>"``: after whitening, chapter
    7). The seeds come in the plan's order.
    """
    rows = {r["seed"]: r for r in blob["runs"] if r["run"] == run}
    if not rows:
        raise KeyError(
            f"no run {run!r} in this reference file; it has "
            f"{sorted({r['run'] for r in blob['runs']})}"
        )
    out = []
    for seed in blob["plan"]["seeds"]:
        r = rows[seed]
        if ":" in measure:
            key, task = measure.split(":")
            out.append(float(r[key][task]))
            continue
        ev = r["evals"]
        at = len(ev["step"]) - 1 if step is None else ev["step"].index(step)
        out.append(float(ev[measure][at]))
    return out


def recorded_evals(config, which: str = "simcse"):
    """The STS-B dev records (a DataFrame, as :attr:`aniso.contrastive.SimCSERun.evals`) of the
    run of ``<which>.json`` trained with ``config``, found by its key (configuration, base
    model's weights, code version). Chapters 4, 5 and 7 read the quick profile's ablation runs
    this way instead of training them; a changed configuration, model or code is refused."""
    import pandas as pd

    blob = load(which)
    for r in blob["runs"]:
        if r["key"] == config.key():
            return pd.DataFrame(r["evals"]).astype({"step": int})
    raise KeyError(
        f"the reference run {which!r} has no run with this configuration (key "
        f"{config.key()}); regenerate it: python -m aniso.experiments.reference {which}"
    )
