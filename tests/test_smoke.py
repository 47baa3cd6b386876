"""The smoke overrides of the paper profile (aniso.smoke): off by default, one switch."""

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
    assert len(smoke.changes_table()) == 4
    from aniso.lm import PROFILES

    small = smoke.lm_setup(PROFILES["paper"])
    assert small["vocab_size"] == PROFILES["quick"]["vocab_size"]
    assert small["config"].steps == smoke.LM_STEPS
    assert small["config"].dim == PROFILES["quick"]["config"].dim
