"""Tests of aniso.contrastive.trainer (chapters "SimCSE" and "Alignment and uniformity").

Training runs use a tiny random BERT (the ``tiny_bert`` fixture of conftest.py)
and a 20-pair stand-in for STS-B dev, so the whole file takes seconds.
"""

import json

import numpy as np
import pytest
import torch
from conftest import SENTENCES
from transformers import TrainerCallback

from aniso.contrastive import trainer as C
from aniso.data.tasks import STSData
from aniso.evaluation.sts import DevProbe
from aniso.experiments.book_plans import book_configs
from aniso.util.threads import available_cpus, free_cores


@pytest.fixture(scope="module", autouse=True)
def _threads():
    """One thread when another process holds a core: two would wait on each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(free_cores())
    yield
    torch.set_num_threads(before)


# ----------------------------------------------------------------------------- configuration
def test_paper_config_has_the_papers_settings():
    cfg = C.paper_config()
    assert (
        cfg.model,
        cfg.sentences,
        cfg.n_sentences,
        cfg.batch_size,
        cfg.lr,
        cfg.max_length,
        cfg.epochs,
        cfg.pooling,
        cfg.mlp_head_in_training,
        cfg.temperature,
        cfg.eval_every,
    ) == ("bert-base-uncased", "wiki1m-full", None, 64, 3e-5, 32, 1.0, "cls", True, 0.05, 250)
    quick = C.quick_config()
    for field in (
        "batch_size",
        "max_length",
        "pooling",
        "mlp_head_in_training",
        "temperature",
        "positive",
        "objective",
        "epochs",
    ):
        assert getattr(quick, field) == getattr(cfg, field), field  # scaled, nothing dropped
    assert cfg.key() != cfg.replace(positive="delete_word").key()
    assert cfg.key() == cfg.replace(output_dir="/somewhere").key()
    with pytest.raises(ValueError, match="positive"):
        C.SimCSEConfig(positive="crop")


# ----------------------------------------------------------------------------- training
class StopAt(TrainerCallback):
    """Simulates an interruption: training stops after `step` (its checkpoint is written first)."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kw):
        if state.global_step == self.step:
            control.should_training_stop = True


@pytest.fixture
def tiny_setup(tiny_bert, tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    dev = STSData("tiny-dev", SENTENCES[:20], SENTENCES[10:30], rng.uniform(0, 5, 20), ["x"] * 20)
    monkeypatch.setattr(C, "DevProbe", lambda task="stsb-dev", data_dir=None: DevProbe(dev))
    (tmp_path / "s.txt").write_text("\n".join(SENTENCES) + "\n")
    return C.SimCSEConfig(
        model=str(tiny_bert),
        sentences=str(tmp_path / "s.txt"),
        n_sentences=24,
        batch_size=4,
        lr=1e-3,
        max_length=16,
        eval_every=2,
        log_every=1,
        seed=3,
    )


def _weights(run):
    from safetensors.torch import load_file

    return load_file(str(run.dir / "best" / "model.safetensors"))


def test_tiny_training_is_deterministic_checkpoints_and_resumes(tiny_setup, tmp_path):
    a = C.train_simcse(tiny_setup.replace(output_dir=str(tmp_path / "a")))
    assert a.done and a.summary["steps"] == 6
    assert list(a.evals.step) == [0, 2, 4, 6] and len(a.loss) == 6
    assert a.best_step in (2, 4, 6) and (a.dir / "best" / "model.safetensors").exists()
    again = C.train_simcse(
        tiny_setup.replace(output_dir=str(tmp_path / "a"))
    )  # cached: no training
    assert again.summary == a.summary

    cfg_b = tiny_setup.replace(output_dir=str(tmp_path / "b"))
    b = C.train_simcse(cfg_b, callbacks=[StopAt(4)])
    assert not b.done and (b.dir / "trainer" / "checkpoint-4").is_dir()
    assert not (b.dir / "result.json").exists()
    # deterministic: a second fresh run gives the same losses and dev records, to the last bit
    np.testing.assert_array_equal(b.loss.loss, a.loss.loss[:4])
    np.testing.assert_array_equal(b.evals.spearman, a.evals.spearman[:3])
    b = C.train_simcse(cfg_b)
    assert b.done and b.summary["resumed_from"] == "checkpoint-4"
    assert list(b.evals.step) == [0, 2, 4, 6]
    np.testing.assert_allclose(b.loss.loss, a.loss.loss, rtol=1e-5)
    np.testing.assert_allclose(b.evals.spearman, a.evals.spearman, atol=1e-4)
    for k, v in _weights(a).items():
        torch.testing.assert_close(_weights(b)[k], v, rtol=1e-5, atol=1e-6)
    assert json.loads((b.dir / "result.json").read_text())["done"]


def test_no_dropout_and_align_uniform_runs(tiny_setup, tmp_path):
    cfg = tiny_setup.replace(n_sentences=8, eval_every=2)
    nd = C.train_simcse(cfg.replace(positive="no_dropout", output_dir=str(tmp_path / "nd")))
    assert nd.done
    model_cfg = json.loads((nd.dir / "best" / "config.json").read_text())
    assert model_cfg["hidden_dropout_prob"] == 0 and model_cfg["attention_probs_dropout_prob"] == 0
    au = C.train_simcse(cfg.replace(objective="align_uniform", output_dir=str(tmp_path / "au")))
    assert au.done and np.isfinite(au.loss.loss).all()


def test_shared_mask_run_and_the_saved_mlp_head(tiny_setup, tmp_path):
    cfg = tiny_setup.replace(n_sentences=8, eval_every=2)
    run = C.train_simcse(cfg.replace(positive="shared_mask", output_dir=str(tmp_path / "sm")))
    assert run.done and np.isfinite(run.loss.loss).all()
    saved = torch.load(run.dir / "best" / C.HEAD_FILE, weights_only=True)
    head = run.mlp_head()
    x = np.random.default_rng(0).normal(size=(3, saved["weight"].shape[1])).astype(np.float32)
    ref = torch.tanh(
        torch.nn.functional.linear(
            torch.from_numpy(x).double(), saved["weight"].double(), saved["bias"].double()
        )
    )
    np.testing.assert_allclose(head(x), ref.numpy(), rtol=1e-6, atol=1e-7)
    assert head(x).shape == (3, saved["weight"].shape[0]) and np.abs(head(x)).max() < 1
    bare = C.train_simcse(cfg.replace(mlp_head_in_training=False, output_dir=str(tmp_path / "b")))
    assert not (bare.dir / "best" / C.HEAD_FILE).exists()
    with pytest.raises(FileNotFoundError, match="no MLP head"):
        bare.mlp_head()


def test_book_configs_and_free_cores():
    quick = book_configs("quick")
    assert set(quick) == {"unsup", "no_dropout", "delete_word", "sup", "align_uniform"}
    assert quick["no_dropout"].replace(positive="dropout", stop_after=None) == quick["unsup"]
    assert book_configs("paper")["unsup"] == C.paper_config()
    assert 1 <= free_cores() <= available_cpus()
