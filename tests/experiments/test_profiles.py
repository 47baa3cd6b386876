"""The book's profiles (aniso.experiments.profiles): one object says what a chapter runs, the
functions that need it take it, and no library function swaps what it was asked for."""

import ast
from pathlib import Path

import pytest

from aniso.contrastive import paper_config, quick_config
from aniso.experiments.book_plans import book_configs, cut
from aniso.experiments.profiles import (
    PROFILES,
    SMOKE_EVAL_EVERY,
    SMOKE_LM_EVAL_TOKENS,
    SMOKE_LM_STEPS,
    SMOKE_PAIRS,
    SMOKE_STEPS,
    changes_table,
    lm_setup,
    profile,
)
from aniso.lm import PROFILES as LM_SIZES

SRC = Path(__file__).resolve().parents[2] / "src" / "aniso"


def test_profile_names_and_errors():
    assert [p.name for p in PROFILES.values()] == ["quick", "paper", "smoke"]
    assert profile("quick").quick and not profile("paper").quick and not profile("smoke").quick
    assert profile(profile("smoke")) is PROFILES["smoke"]
    with pytest.raises(ValueError, match="expected one of quick, paper, smoke"):
        profile("huge")
    assert profile("quick").cpu_only and not profile("paper").cpu_only


def test_the_quick_and_paper_runs_are_the_configs_of_the_trainer():
    assert book_configs("quick")["unsup"] == quick_config()
    assert book_configs("paper")["unsup"] == paper_config()
    assert book_configs(profile("paper")) == book_configs("paper")
    assert not profile("quick").cut and not profile("paper").cut
    assert changes_table("quick").empty and changes_table("paper").empty


def test_the_smoke_profile_is_the_paper_run_with_stand_ins_and_few_steps():
    runs = book_configs("smoke")
    cfg = runs["unsup"]
    assert (cfg.model, cfg.sentences, cfg.max_steps, cfg.eval_every, cfg.log_every) == (
        "mini-bert",
        "wiki1m",
        SMOKE_STEPS,
        SMOKE_EVAL_EVERY,
        1,
    )
    # everything else stays the paper's
    paper = paper_config()
    assert (cfg.batch_size, cfg.lr, cfg.max_length, cfg.temperature, cfg.pooling) == (
        paper.batch_size,
        paper.lr,
        paper.max_length,
        paper.temperature,
        paper.pooling,
    )
    assert runs["sup"].supervised == "sick" and runs["sup"].max_steps == SMOKE_STEPS
    assert cut(paper_config(stop_after=25), "smoke").stop_after == SMOKE_STEPS
    assert cut(paper_config(max_steps=2), "smoke").max_steps == 2
    assert cut(paper, "paper") is paper
    assert len(changes_table("smoke")) == 7
    assert PROFILES["smoke"].max_pairs == SMOKE_PAIRS and PROFILES["quick"].max_pairs is None


def test_lm_setup_by_profile():
    assert lm_setup("quick") == LM_SIZES["quick"]
    assert lm_setup("paper") == LM_SIZES["paper"]
    small = lm_setup("smoke")
    assert small["vocab_size"] == LM_SIZES["quick"]["vocab_size"]
    assert small["config"].dim == LM_SIZES["quick"]["config"].dim
    assert small["config"].steps == min(LM_SIZES["quick"]["config"].steps, SMOKE_LM_STEPS)
    assert small["config"].eval_tokens == SMOKE_LM_EVAL_TOKENS


def test_the_loaders_load_what_they_are_asked_for(data_dir):
    from aniso.data import load_sentences, load_task, training_sentences
    from aniso.encoders import model_path

    assert model_path("bert-base-uncased") == "google-bert/bert-base-uncased"
    assert len(load_task("sts12", data_dir)) == 3108
    assert len(load_sentences("wiki1m", None, data_dir)) == 11913
    assert training_sentences("wiki1m", 5, data_dir) == load_sentences("wiki1m", 5, data_dir)


def environment_reads(path: Path) -> list[str]:
    """The names of environment variables a module reads with a literal name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.startswith("ANISO_"):
                found.append(node.value)
    return found


def test_no_module_reads_a_profile_switch():
    """The profile is an argument: no module of the package reads an ANISO_SMOKE-like switch
    from the environment (ANISO_DATA_DIR, ANISO_CACHE_DIR and the like are places, not
    behaviour; ANISO_STRICT is the build's, read by aniso.book alone)."""
    reads = {p.relative_to(SRC).as_posix(): environment_reads(p) for p in SRC.rglob("*.py")}
    names = {n for found in reads.values() for n in found}
    assert not any("SMOKE" in n or "PROFILE" in n for n in names), names
    strict = [m for m, found in reads.items() if "ANISO_STRICT" in found]
    assert strict == ["book/chapter.py"], strict
