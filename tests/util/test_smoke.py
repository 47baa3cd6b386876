"""The smoke overrides of the paper profile (aniso.util.smoke): off by default, one switch."""

import dataclasses
import json

import numpy as np
import pytest

from aniso.contrastive.trainer import paper_config, smoke_config
from aniso.experiments.book_plans import book_configs
from aniso.lm.model import lm_setup
from aniso.util import smoke


def test_inactive_changes_nothing(monkeypatch):
    monkeypatch.delenv(smoke.ENV_VAR, raising=False)
    cfg = paper_config()
    assert smoke_config(cfg) == cfg
    assert smoke.model_name("bert-base-uncased") == "bert-base-uncased"
    assert smoke.changes_table().empty
    monkeypatch.setenv(smoke.ENV_VAR, "0")
    assert not smoke.active()


def test_active_swaps_in_stand_ins_and_cuts_steps(monkeypatch):
    monkeypatch.setenv(smoke.ENV_VAR, "1")
    cfg = smoke_config(paper_config())
    assert (cfg.model, cfg.sentences, cfg.max_steps, cfg.eval_every) == (
        "mini-bert",
        "wiki1m",
        4,
        2,
    )
    # everything else stays the paper's
    assert (cfg.batch_size, cfg.lr, cfg.max_length, cfg.temperature, cfg.pooling) == (
        64,
        3e-5,
        32,
        0.05,
        "cls",
    )
    assert smoke_config(paper_config(stop_after=25)).stop_after == 4
    assert smoke.model_name("all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"
    assert len(smoke.changes_table()) == 6
    from aniso.lm.model import PROFILES

    small = lm_setup(PROFILES["paper"])
    assert small["vocab_size"] == PROFILES["quick"]["vocab_size"]
    assert small["config"].steps == smoke.LM_STEPS
    assert small["config"].eval_tokens == smoke.LM_EVAL_TOKENS
    assert small["config"].dim == PROFILES["quick"]["config"].dim


def _toy_task(n):
    from aniso.data.tasks import STSData

    return STSData(
        "toy",
        [f"a{i}" for i in range(n)],
        [f"b{i}" for i in range(n)],
        np.arange(n, dtype=float),
        ["x"] * (n // 2) + ["y"] * (n - n // 2),
        [str(i) for i in range(n)],
    )


def test_task_pairs_keeps_every_kth_pair_of_every_subset(monkeypatch):
    monkeypatch.delenv(smoke.ENV_VAR, raising=False)
    big = _toy_task(1000)
    assert smoke.task_pairs(big) is big  # inactive: unchanged
    monkeypatch.setenv(smoke.ENV_VAR, "1")
    cut = smoke.task_pairs(big)
    assert len(cut) == 250  # stride ceil(1000 / 300) = 4
    assert cut.sentences1[:3] == ["a0", "a4", "a8"] and cut.sentences2[-1] == "b996"
    assert cut.scores.tolist()[:2] == [0.0, 4.0] and cut.labels[1] == "4"
    assert cut.subsets.count("x") == cut.subsets.count("y") == 125
    small = _toy_task(smoke.TASK_PAIRS)
    assert smoke.task_pairs(small) is small


def test_sentence_sets_are_capped_during_a_smoke_run(monkeypatch, data_dir):
    from aniso.data.tasks import load_sentences

    assert smoke.sentence_count(None) is None and smoke.sentence_count(10**6) == 10**6
    monkeypatch.setenv(smoke.ENV_VAR, "1")
    assert smoke.sentence_count(None) == smoke.SENTENCES_MAX
    assert smoke.sentence_count(10) == 10
    assert len(load_sentences("wiki1m", None, data_dir)) == smoke.SENTENCES_MAX
    assert len(load_sentences("wiki1m", 5000, data_dir)) == smoke.SENTENCES_MAX
    assert len(load_sentences("wiki1m", 7, data_dir)) == 7


def test_load_task_is_cut_during_a_smoke_run(monkeypatch, data_dir):
    from aniso.data.tasks import load_task

    monkeypatch.setenv(smoke.ENV_VAR, "1")
    cut = load_task("sts12", data_dir)
    monkeypatch.setenv(smoke.ENV_VAR, "0")
    full = load_task("sts12", data_dir)
    assert len(cut) <= smoke.TASK_PAIRS < len(full)
    assert set(cut.subsets) == set(full.subsets)
    assert cut.sentences1[1] == full.sentences1[-(-len(full) // smoke.TASK_PAIRS)]


# ------------------------------------------------- the overrides reach the paper profile's code
def test_model_resolver_and_loader_use_the_stand_in(monkeypatch):
    from aniso.encoders.models import load_encoder, mini_bert_path, model_path

    assert model_path("bert-base-uncased") == "google-bert/bert-base-uncased"
    monkeypatch.setenv(smoke.ENV_VAR, "1")
    assert model_path("bert-base-uncased") == str(mini_bert_path())
    assert model_path("all-MiniLM-L6-v2") != str(mini_bert_path())
    assert load_encoder("bert-base-uncased").name == "mini-bert"


def test_sentence_sources_read_the_local_head(monkeypatch, data_dir):
    from aniso.data import tasks as data

    monkeypatch.setattr(data, "WIKI1M_URL", "http://127.0.0.1:9/wiki1m_for_simcse.txt")
    monkeypatch.setenv(smoke.ENV_VAR, "1")
    head = data.load_sentences("wiki1m", 50, data_dir)
    assert data.training_sentences("wiki1m-full", 50, data_dir) == head
    assert data.load_sentences("wiki1m-full", 50, data_dir) == head


def test_train_simcse_applies_the_overrides_in_one_place(monkeypatch, tmp_path):
    """A smoke run trains (and caches under) the cut config: here its finished run is found."""
    from aniso.contrastive import trainer as C

    monkeypatch.setenv("ANISO_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv(smoke.ENV_VAR, "1")
    cut = smoke_config(paper_config())
    assert cut.key() != paper_config().key()  # the cache key reflects the changed config
    run_dir = cut.run_dir()
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(dataclasses.asdict(cut)))
    (run_dir / "result.json").write_text(json.dumps({"done": True, "steps": smoke.STEPS}))
    run = C.train_simcse(book_configs("paper")["unsup"])  # no training: the cut run is cached
    assert run.dir == run_dir and run.config == cut and run.done
    assert smoke_config(cut) == cut  # idempotent


def test_lm_profile_setup(monkeypatch):
    from aniso.lm import model as lm

    assert lm.profile_setup("paper") is lm.PROFILES["paper"]
    assert lm.profile_setup("quick") is lm.PROFILES["quick"]
    monkeypatch.setenv(smoke.ENV_VAR, "1")
    small = lm.profile_setup("paper")
    assert small["config"].dim == lm.PROFILES["quick"]["config"].dim
    assert small["config"].steps == smoke.LM_STEPS
    assert small["config"].eval_tokens == smoke.LM_EVAL_TOKENS
    assert lm.profile_setup("quick") is lm.PROFILES["quick"]  # the quick profile never changes
    with pytest.raises(ValueError, match="profile"):
        lm.profile_setup("huge")
