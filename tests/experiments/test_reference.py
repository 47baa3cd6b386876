"""The committed reference runs (results/reference/) match the plans in
aniso.experiments.reference."""

import json

import numpy as np
import pytest

from aniso.experiments import contrastive_runs as cref
from aniso.experiments import reference


def committed(name: str, digest: str, plan: dict) -> dict:
    """The committed results/reference/<name>.json, checked against the plan's hash."""
    path = reference.results_dir() / f"{name}.json"
    if not path.exists():
        pytest.skip(
            f"no committed reference run yet (python -m aniso.experiments.reference {name})"
        )
    blob = json.loads(path.read_text(encoding="utf-8"))
    assert blob["config_sha256"] == digest, (
        f"results/reference/{name}.json was produced by another configuration (or base model, "
        f"or code version): rerun `python -m aniso.experiments.reference {name}`"
    )
    assert blob["plan"] == json.loads(json.dumps(plan))
    return blob


def test_committed_lm_results_match_the_plan():
    blob = committed("lm", reference.plan_hash(), reference.LM_PLAN)
    plan = reference.LM_PLAN
    keys = {(r["variant"], r["seed"]) for r in blob["runs"]}
    assert len(keys) == len(blob["runs"])
    assert keys <= {(n, s) for n in plan["variants"] for s in plan["seeds"]}
    assert blob["complete"] == (len(keys) == len(plan["variants"]) * len(plan["seeds"]))
    for r in blob["runs"]:
        assert r["config_sha256"] == reference.run_hash(r["variant"]), r["variant"]
        assert set(r["perplexity"]) == {str(s) for s in plan["eval_at"]} | {str(plan["steps"])}
        assert all(np.isfinite(v) for v in r["perplexity"].values())


def test_reference_results_are_small():
    folder = reference.results_dir()
    if not folder.exists():
        pytest.skip("no committed reference run yet")
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) <= 1_000_000


def test_plan_hash_follows_the_configs(monkeypatch):
    h = reference.plan_hash()
    plan = json.loads(json.dumps(reference.LM_PLAN))
    assert reference.plan_hash(plan) == h
    plan["steps"] += 1
    assert reference.plan_hash(plan) != h
    from dataclasses import replace

    from aniso.lm import model as lm

    quick = lm.PROFILES["quick"]
    changed = {**quick, "config": replace(quick["config"], lr=1e-2)}
    monkeypatch.setitem(lm.PROFILES, "quick", changed)
    assert reference.plan_hash() != h  # a changed default of the quick profile changes the hash


def test_run_hash_depends_on_the_variant_only():
    plan = json.loads(json.dumps(reference.LM_PLAN))
    h = reference.run_hash("MLE (tied)", plan)
    plan["variants"]["extra"] = {"lr": 1e-2}  # adding a variant keeps the others' runs
    assert reference.run_hash("MLE (tied)", plan) == h
    assert reference.run_hash("extra", plan) != h
    plan["steps"] += 1  # a shared setting changes every run
    assert reference.run_hash("MLE (tied)", plan) != h


def test_mean_sd_and_tie():
    assert reference.mean_sd([1.0, 2.0, 3.0]) == "2.0 ± 1.0"
    assert reference.mean_sd([0.5, 0.5, 0.5], 2) == "0.50 ± 0.00"
    assert reference.mean_sd([200.62]) == "200.6 (1 seed)" and reference.mean_sd([]) == "–"
    assert reference.mean_sd([1e-6, 3e-6], fmt=".1e") == "2.0e-06 ± 1.4e-06"
    # differences -1.5, -0.5, +0.4: mean -0.533, sd 0.950, half-width 4.303 * 0.950 / sqrt(3)
    assert reference.tie([1.0, 2.0, 3.0], [2.5, 2.5, 2.6])
    assert not reference.differ([1.0, 2.0, 3.0], [2.5, 2.5, 2.6])
    # a constant shift of 1.0 with a little noise: the interval excludes 0
    assert not reference.tie([1.0, 1.1, 1.2], [2.0, 2.12, 2.19])
    assert reference.differ([1.0, 1.1, 1.2], [2.0, 2.12, 2.19])
    # the old rule called this a difference (|0.3| > the larger sd, 0.1); paired, the
    # differences 0.1, 0.5, 0.3 (half-width 4.303 * 0.2 / sqrt(3) = 0.50) cover 0
    assert reference.tie([1.1, 1.5, 1.3], [1.0, 1.0, 1.0])
    assert reference.tie([1.0], [1.1])  # one seed: the interval is the whole line
    with pytest.raises(ValueError):
        reference.tie([1.0, 1.1], [1.0, 1.1, 1.2])  # seeds must pair


def test_agree_within_a_tenth_of_the_seed_spread():
    quick = [418.0, 422.0, 414.0]  # sd 4.0: the tolerance is 0.4
    ok, worst = reference.agree(quick, [418.1, 422.0, 413.9])
    assert ok and worst == pytest.approx(0.25)
    ok, worst = reference.agree(quick, [418.0, 422.5, 414.0])  # 0.5 > 0.4: another training
    assert not ok and worst == pytest.approx(1.25)
    assert reference.agree([10.0], [10.05], spread=1.0) == (True, pytest.approx(0.5))
    with pytest.raises(ValueError, match="no spread"):
        reference.agree([10.0], [10.0])
    with pytest.raises(ValueError):
        reference.agree([1.0, 2.0], [1.0])


def tiny_blob():
    """A hand-made contrastive reference file: two seeds of one run, listed out of order."""

    def rec(seed, dev, test):
        return {
            "run": "unsup",
            "seed": seed,
            "key": f"k{seed}",
            "evals": {
                "step": [0, 25, 50],
                "spearman": dev,
                "alignment": [0.1, 0.2, 0.3],
                "uniformity": [-0.5, -1.5, -2.0],
            },
            "test": {"stsb": test, "sickr": test - 10},
            "whitened": {"stsb": test + 1},
        }

    return {
        "plan": {"seeds": [42, 43]},
        "runs": [rec(43, [40.0, 55.0, 52.0], 47.0), rec(42, [40.0, 60.0, 58.0], 49.0)],
    }


def test_per_seed_reads_a_measure_per_seed_in_the_plans_order():
    blob = tiny_blob()
    assert cref.per_seed(blob, "unsup", "spearman") == [58.0, 52.0]  # the last evaluation
    assert cref.per_seed(blob, "unsup", "spearman", step=25) == [60.0, 55.0]
    assert cref.per_seed(blob, "unsup", "uniformity", step=0) == [-0.5, -0.5]
    assert cref.per_seed(blob, "unsup", "test:sickr") == [39.0, 37.0]
    assert cref.per_seed(blob, "unsup", "whitened:stsb") == [50.0, 48.0]
    with pytest.raises(KeyError, match="no run 'sup'"):
        cref.per_seed(blob, "sup", "spearman")
    with pytest.raises(ValueError):
        cref.per_seed(blob, "unsup", "spearman", step=30)  # not an evaluation step


def test_recorded_evals_finds_a_run_by_its_configuration(monkeypatch, tmp_path):
    from aniso.experiments.book_plans import book_configs

    cfg = book_configs("quick")["no_dropout"]
    blob = tiny_blob()
    blob["runs"][1]["key"] = cfg.key()
    (tmp_path / "simcse.json").write_text(json.dumps(blob), encoding="utf-8")
    monkeypatch.setenv("ANISO_RESULTS_DIR", str(tmp_path))
    ev = cref.recorded_evals(cfg)
    assert ev.step.tolist() == [0, 25, 50] and ev.spearman.tolist() == [40.0, 60.0, 58.0]
    with pytest.raises(KeyError, match="python -m aniso.experiments.reference simcse"):
        cref.recorded_evals(cfg.replace(seed=7))  # another configuration is refused


def test_committed_simcse_results_match_the_plan():
    """Chapter 4's reference run: every planned (run, seed) is there, trained with the
    configuration, base model and code that the plan resolves to today."""
    blob = committed("simcse", cref.simcse_plan_hash(), cref.SIMCSE_PLAN)
    configs = cref.simcse_configs()
    assert [(r["run"], r["seed"]) for r in blob["runs"]] == list(configs)
    for r in blob["runs"]:
        assert r["key"] == configs[r["run"], r["seed"]].key()
        ev = r["evals"]
        assert ev["step"][0] == 0 and r["best_step"] in ev["step"]
        assert all(np.isfinite(v) for v in ev["spearman"])
    curve = blob["runs"][0]["evals"]["step"]
    assert curve[-1] == cref.SIMCSE_PLAN["curve"]["max_steps"]


def test_the_quick_ablation_runs_are_seed_42_of_the_reference():
    """Chapters 4, 5 and 7 read the quick profile's two ablation runs from simcse.json instead of
    training them: seed 42 of the reference's ablation is the same configuration."""
    from aniso.experiments.book_plans import book_configs
    from aniso.experiments.plane import FROM_REFERENCE

    configs, quick = cref.simcse_configs(), book_configs("quick")
    for name in FROM_REFERENCE:
        assert configs[f"ablation: {name}", 42].key() == quick[name].key()
        assert cref.recorded_evals(quick[name]).step.tolist()[-1] == 25


def test_committed_au_results_match_the_plan():
    """Chapter 5's reference run: every weighting with every seed, trained with the configuration,
    base model and code that the plan resolves to today; seed 42 of Wang and Isola's weighting is
    the run chapter 5 trains itself (book_configs("quick")["align_uniform"])."""
    from aniso.experiments.book_plans import book_configs

    blob = committed("au", cref.au_plan_hash(), cref.AU_PLAN)
    configs = cref.au_configs()
    assert [(r["run"], r["seed"]) for r in blob["runs"]] == list(configs)
    for r in blob["runs"]:
        assert r["key"] == configs[r["run"], r["seed"]].key()
        assert r["evals"]["step"][0] == 0 and r["best_step"] in r["evals"]["step"]
        assert set(r["test"]) == {"stsb", "sickr"}
    first = next(iter(cref.AU_PLAN["variants"]))
    assert configs[first, 42].key() == book_configs("quick")["align_uniform"].key()


def test_committed_conclusion_results_match_the_plan():
    """Chapter 7's reference run: [CLS] and mean-pooled SimCSE with every seed, scored on the
    seven test sets as they are and after whitening; seed 42 is the quick run of chapter 4 and
    the mean-pooled run chapter 7 describes."""
    from aniso.experiments.book_plans import book_configs

    blob = committed("conclusion", cref.conclusion_plan_hash(), cref.CONCLUSION_PLAN)
    configs = cref.conclusion_configs()
    assert [(r["run"], r["seed"]) for r in blob["runs"]] == list(configs)
    tasks = set(cref.CONCLUSION_PLAN["tasks"])
    for r in blob["runs"]:
        assert r["key"] == configs[r["run"], r["seed"]].key()
        assert set(r["test"]) == tasks and set(r["whitened"]) == tasks
    unsup = book_configs("quick")["unsup"]
    assert configs["unsup", 42].key() == unsup.key()
    mean = unsup.replace(pooling="mean", mlp_head_in_training=False)
    assert configs["unsup, mean pooling", 42].key() == mean.key()


def test_committed_pitfalls_results_match_the_plan():
    """Chapter 6's reference run: with every seed, the quick run (scored below and through its
    MLP head), the run trained without the head, and 25 steps with one mask for both views; seed
    42 of the first is chapter 4's quick run, and the shared-mask runs stop where chapter 4's
    ablation runs stop."""
    from aniso.experiments.book_plans import book_configs

    blob = committed("pitfalls", cref.pitfalls_plan_hash(), cref.PITFALLS_PLAN)
    configs = cref.pitfalls_configs()
    assert [(r["run"], r["seed"]) for r in blob["runs"]] == list(configs)
    for r in blob["runs"]:
        assert r["key"] == configs[r["run"], r["seed"]].key()
        if r["run"] == "unsup":
            assert set(r["test"]) == set(r["through head"]) == {"stsb", "sickr"}
        elif r["run"].startswith("ablation"):
            assert r["evals"]["step"][-1] == cref.PITFALLS_PLAN["shared_mask_steps"]
        else:
            assert "through head" not in r
    quick = book_configs("quick")
    assert configs["unsup", 42].key() == quick["unsup"].key()
    assert configs["ablation: shared_mask", 42].stop_after == quick["no_dropout"].stop_after


def test_committed_grid_results_match_the_plan():
    """Chapter 7's hyperparameter run: every point of SimCSE's batch x learning-rate grid at the
    grid seed, the point best on STS-B dev with the other seeds, and the temperature sweep with
    every seed; the grid point (64, 3e-5) and the temperature 0.05 are chapter 4's quick run."""
    from aniso.experiments.book_plans import book_configs

    blob = committed("grid", cref.grid_plan_hash(), cref.GRID_PLAN)
    configs = cref.grid_configs()
    plan = cref.GRID_PLAN
    best = blob["best grid point"]
    assert best == cref.best_grid_point(blob)
    extra = [(best, s) for s in plan["seeds"] if s != plan["grid_seed"]]
    assert [(r["run"], r["seed"]) for r in blob["runs"]] == [*configs, *extra]
    chosen = configs[best, plan["grid_seed"]]
    for r in blob["runs"]:
        want = configs.get((r["run"], r["seed"])) or chosen.replace(seed=r["seed"])
        assert r["key"] == want.key()
        assert set(r["test"]) == {"stsb", "sickr"} and r["best_step"] in r["evals"]["step"]
    unsup = book_configs("quick")["unsup"]
    assert configs[cref.grid_point(64, 3e-5), 42].key() == unsup.key()
    assert configs["temperature 0.05", 43].key() == unsup.replace(seed=43).key()


def test_the_best_grid_point_is_the_best_on_dev_at_the_grid_seed():
    runs = [
        {"run": "grid: a", "seed": 42, "evals": {"spearman": [30.0, 41.0]}},
        {"run": "grid: b", "seed": 42, "evals": {"spearman": [30.0, 45.0, 44.0]}},
        {"run": "grid: c", "seed": 42, "evals": {"spearman": [45.0]}},  # a tie: the first wins
        {"run": "grid: d", "seed": 43, "evals": {"spearman": [60.0]}},  # another seed
        {"run": "temperature 0.1", "seed": 42, "evals": {"spearman": [70.0]}},  # not the grid
    ]
    assert cref.best_grid_point({"plan": {"grid_seed": 42}, "runs": runs}) == "grid: b"
    with pytest.raises(KeyError):
        cref.best_grid_point({"plan": {"grid_seed": 42}, "runs": runs[3:]})


def _set(plan, path, value):
    *keys, last = path
    for k in keys:
        plan = plan[k]
    plan[last] = value


@pytest.mark.parametrize(
    "name, plan_name, path, value",
    [
        ("simcse", "SIMCSE_PLAN", ["seeds"], [42, 43]),
        ("au", "AU_PLAN", ["variants", "λ = 0.1, t = 2", "uniform_t"], 3.0),
        ("conclusion", "CONCLUSION_PLAN", ["whiten_wiki"], 1000),
        ("pitfalls", "PITFALLS_PLAN", ["shared_mask_steps"], 20),
        ("grid", "GRID_PLAN", ["lrs"], [3e-5]),
    ],
)
def test_contrastive_plan_hashes_follow_the_plan(name, plan_name, path, value):
    digest = getattr(cref, f"{name}_plan_hash")
    h = digest()
    plan = json.loads(json.dumps(getattr(cref, plan_name)))
    assert digest(plan) == h
    _set(plan, path, value)
    assert digest(plan) != h
