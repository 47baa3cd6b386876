"""The smoke overrides of the paper profile (aniso.smoke): off by default, one switch."""

import dataclasses
import json

import pytest

from aniso import smoke
from aniso.contrastive import paper_config


def test_inactive_changes_nothing(monkeypatch):
    monkeypatch.delenv(smoke.ENV_VAR, raising=False)
    cfg = paper_config()
    assert smoke.simcse_config(cfg) == cfg
    assert smoke.model_name("bert-base-uncased") == "bert-base-uncased"
    assert smoke.changes_table().empty
    monkeypatch.setenv(smoke.ENV_VAR, "0")
    assert not smoke.active()


def test_active_swaps_in_stand_ins_and_cuts_steps(monkeypatch):
    monkeypatch.setenv(smoke.ENV_VAR, "1")
    cfg = smoke.simcse_config(paper_config())
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
    assert smoke.simcse_config(paper_config(stop_after=25)).stop_after == 4
    assert smoke.model_name("all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"
    assert len(smoke.changes_table()) == 5
    from aniso.lm import PROFILES

    small = smoke.lm_setup(PROFILES["paper"])
    assert small["vocab_size"] == PROFILES["quick"]["vocab_size"]
    assert small["config"].steps == smoke.LM_STEPS
    assert small["config"].dim == PROFILES["quick"]["config"].dim


# ------------------------------------------------- the overrides reach the paper profile's code
def test_model_resolver_and_loader_use_the_stand_in(monkeypatch):
    from aniso.encoders import load_encoder, mini_bert_path, model_path

    assert model_path("bert-base-uncased") == "google-bert/bert-base-uncased"
    monkeypatch.setenv(smoke.ENV_VAR, "1")
    assert model_path("bert-base-uncased") == str(mini_bert_path())
    assert model_path("all-MiniLM-L6-v2") != str(mini_bert_path())
    assert load_encoder("bert-base-uncased").name == "mini-bert"


def test_sentence_sources_read_the_local_head(monkeypatch, data_dir):
    from aniso import data

    monkeypatch.setattr(data, "WIKI1M_URL", "http://127.0.0.1:9/wiki1m_for_simcse.txt")
    monkeypatch.setenv(smoke.ENV_VAR, "1")
    head = data.load_sentences("wiki1m", 50, data_dir)
    assert data.training_sentences("wiki1m-full", 50, data_dir) == head
    assert data.load_sentences("wiki1m-full", 50, data_dir) == head


def test_train_simcse_applies_the_overrides_in_one_place(monkeypatch, tmp_path):
    """A smoke run trains (and caches under) the cut config: here its finished run is found."""
    from aniso import contrastive as C

    monkeypatch.setenv("ANISO_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv(smoke.ENV_VAR, "1")
    cut = smoke.simcse_config(paper_config())
    assert cut.key() != paper_config().key()  # the cache key reflects the changed config
    run_dir = cut.run_dir()
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(dataclasses.asdict(cut)))
    (run_dir / "result.json").write_text(json.dumps({"done": True, "steps": smoke.STEPS}))
    run = C.train_simcse(C.book_configs("paper")["unsup"])  # no training: the cut run is cached
    assert run.dir == run_dir and run.config == cut and run.done
    assert smoke.simcse_config(cut) == cut  # idempotent


def test_lm_profile_setup(monkeypatch):
    from aniso import lm

    assert lm.profile_setup("paper") is lm.PROFILES["paper"]
    assert lm.profile_setup("quick") is lm.PROFILES["quick"]
    monkeypatch.setenv(smoke.ENV_VAR, "1")
    small = lm.profile_setup("paper")
    assert small["config"].dim == lm.PROFILES["quick"]["config"].dim
    assert small["config"].steps == smoke.LM_STEPS
    assert lm.profile_setup("quick") is lm.PROFILES["quick"]  # the quick profile never changes
    with pytest.raises(ValueError, match="profile"):
        lm.profile_setup("huge")
