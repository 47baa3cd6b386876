"""Tests of aniso.contrastive (chapters "SimCSE" and "Alignment and uniformity").

The hand-written InfoNCE is checked against sentence-transformers'
MultipleNegativesRankingLoss on the outputs of a real (tiny, random) BERT;
training runs use that tiny BERT and a 20-pair stand-in for STS-B dev, so
the whole file takes seconds.
"""
import json
import math

import numpy as np
import pytest
import torch
from aniso.threads import free_cores
from transformers import TrainerCallback

from aniso import contrastive as C
from aniso import metrics
from aniso.data import STSData

SENTENCES = [f"sentence number {i} is about {w} and {v}" for i, (w, v) in enumerate(
    zip(["cats", "dogs", "rain", "music", "trains", "bread"] * 6, ["tea", "snow", "maps", "glass", "wind", "boats"] * 6))]


@pytest.fixture(scope="module", autouse=True)
def _threads():
    """One thread when another process holds a core: two would wait on each other (see free_cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(free_cores())
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A random 2-layer, 32-wide BERT with the MiniLM (bert-base-uncased) tokenizer, saved to disk."""
    from transformers import AutoTokenizer, BertConfig, BertModel
    from aniso.encoders import _minilm_path
    folder = tmp_path_factory.mktemp("tiny-bert")
    tok = AutoTokenizer.from_pretrained(_minilm_path())
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    BertModel(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def _st_model(folder, pooling="cls"):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    tr = Transformer(str(folder), max_seq_length=16)
    return SentenceTransformer(modules=[tr, Pooling(tr.get_embedding_dimension(), pooling)], device="cpu")


# ----------------------------------------------------------------------------- the objectives
def test_info_nce_equals_multiple_negatives_ranking_loss(tiny_bert):
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    model = _st_model(tiny_bert)
    model.eval()  # the same forward for both losses (no dropout noise)
    mnrl = MultipleNegativesRankingLoss(model, scale=20.0)
    anchors, positives = SENTENCES[:8], [s.upper() for s in SENTENCES[:8]]
    features = [model.preprocess(anchors), model.preprocess(positives)]
    with torch.no_grad():
        theirs = mnrl(features, None)  # the loss's own forward: embed both columns, then score
        z1 = model(model.preprocess(anchors))["sentence_embedding"]
        z2 = model(model.preprocess(positives))["sentence_embedding"]
        ours = C.info_nce(z1, z2, temperature=0.05)
    assert theirs.item() > 0.1  # a real comparison: not a trivially solved batch
    assert abs(ours.item() - theirs.item()) < 1e-6
    # and with hard negatives, on fixed embeddings through the loss's own computation
    g = torch.Generator().manual_seed(1)
    a, p, n = (torch.randn(6, 16, generator=g) for _ in range(3))
    theirs = mnrl.compute_loss_from_embeddings([a, p, n], None)
    assert abs(C.info_nce(a, p, 0.05, hard_negatives=n).item() - theirs.item()) < 1e-6


def test_info_nce_with_hard_negatives_by_direct_computation():
    g = torch.Generator().manual_seed(0)
    z1, z2, hn = (torch.randn(5, 7, generator=g, dtype=torch.float64) for _ in range(3))
    tau = 0.05

    def cos(u, v):
        return float(u @ v / (u.norm() * v.norm()))

    total = 0.0
    for i in range(5):
        pos = math.exp(cos(z1[i], z2[i]) / tau)
        denom = sum(math.exp(cos(z1[i], z2[j]) / tau) for j in range(5))
        denom += sum(math.exp(cos(z1[i], hn[j]) / tau) for j in range(5))
        total += -math.log(pos / denom)
    assert C.info_nce(z1, z2, tau, hard_negatives=hn).item() == pytest.approx(total / 5, rel=1e-10)
    without = sum(-math.log(math.exp(cos(z1[i], z2[i]) / tau)
                            / sum(math.exp(cos(z1[i], z2[j]) / tau) for j in range(5))) for i in range(5)) / 5
    assert C.info_nce(z1, z2, tau).item() == pytest.approx(without, rel=1e-10)


def test_align_uniform_loss_on_three_vectors():
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    z2 = torch.tensor([[0.0, 1.0], [0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    align = (2 + 0 + 0) / 3  # squared distances of the pairs
    u1 = math.log((2 * math.exp(-2 * 2) + math.exp(-2 * 4)) / 3)  # pairwise squared distances 2, 4, 2
    u2 = math.log((math.exp(0) + 2 * math.exp(-2 * 2)) / 3)  # 0, 2, 2
    assert C.align_uniform_loss(z1, z2).item() == pytest.approx(align + (u1 + u2) / 2, rel=1e-12)
    assert C.align_uniform_loss(3 * z1, z2, lam=0).item() == pytest.approx(align)  # features are normalized
    assert metrics.alignment(z1.numpy(), z2.numpy()) == pytest.approx(align)
    assert metrics.uniformity(z1.numpy()) == pytest.approx(u1)


def test_delete_word_is_deterministic_for_a_seed():
    s = "the quick brown fox jumps over the lazy dog"
    out = C.delete_word(s, 7)
    assert out == C.delete_word(s, 7)
    assert len(out.split()) == len(s.split()) - 1
    assert len({C.delete_word(s, k) for k in range(40)}) > 3
    assert C.delete_word("alone", 3) == "alone"


# ----------------------------------------------------------------------------- configuration
def test_paper_config_has_the_papers_settings():
    cfg = C.paper_config()
    assert (cfg.model, cfg.sentences, cfg.n_sentences, cfg.batch_size, cfg.lr, cfg.max_length, cfg.epochs,
            cfg.pooling, cfg.mlp_head_in_training, cfg.temperature, cfg.eval_every) == \
        ("bert-base-uncased", "wiki1m-full", None, 64, 3e-5, 32, 1.0, "cls", True, 0.05, 250)
    quick = C.quick_config()
    for field in ("batch_size", "max_length", "pooling", "mlp_head_in_training", "temperature", "positive",
                  "objective", "epochs"):
        assert getattr(quick, field) == getattr(cfg, field), field  # scaled, nothing dropped
    assert cfg.key() != cfg.replace(positive="delete_word").key()
    assert cfg.key() == cfg.replace(output_dir="/somewhere").key()
    with pytest.raises(ValueError, match="positive"):
        C.SimCSEConfig(positive="crop")


def test_full_wiki1m_fails_fast_and_clearly_offline(tmp_path, monkeypatch):
    def no_net(url, dest, timeout):
        raise OSError("network is unreachable")
    monkeypatch.setattr(C.data_mod, "_fetch", no_net)
    with pytest.raises(C.data_mod.DataError, match="wiki1m_for_simcse.txt"):
        C.training_sentences("wiki1m-full", data_dir=tmp_path)
    assert not any((tmp_path / "wiki1m").iterdir())  # no partial download left behind


def test_supervised_examples_from_sick(data_dir):
    pairs, triplets = C.supervised_examples("sick", data_dir)
    from aniso.data import load_sick_pairs
    df = load_sick_pairs("train", data_dir)
    assert len(pairs) + len(triplets) == int((df.entailment == "ENTAILMENT").sum())
    contra = set(zip(df.sentence_A[df.entailment == "CONTRADICTION"], df.sentence_B[df.entailment == "CONTRADICTION"]))
    assert triplets and all((a, c) in contra for a, _, c in triplets)


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
    monkeypatch.setattr(C, "_dev_task", lambda name="stsb-dev", data_dir=None: dev)
    (tmp_path / "s.txt").write_text("\n".join(SENTENCES) + "\n")
    return C.SimCSEConfig(model=str(tiny_bert), sentences=str(tmp_path / "s.txt"), n_sentences=24, batch_size=4,
                          lr=1e-3, max_length=16, eval_every=2, log_every=1, seed=3)


def _weights(run):
    from safetensors.torch import load_file
    return load_file(str(run.dir / "best" / "model.safetensors"))


def test_tiny_training_is_deterministic_checkpoints_and_resumes(tiny_setup, tmp_path):
    a = C.train_simcse(tiny_setup.replace(output_dir=str(tmp_path / "a")))
    assert a.done and a.summary["steps"] == 6
    assert list(a.evals.step) == [0, 2, 4, 6] and len(a.loss) == 6
    assert a.best_step in (2, 4, 6) and (a.dir / "best" / "model.safetensors").exists()
    again = C.train_simcse(tiny_setup.replace(output_dir=str(tmp_path / "a")))  # cached: no training
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


# ----------------------------------------------------------------------------- evaluation helpers
def test_evaluate_many_equals_evaluate_sts_and_shares_its_cache(tiny_bert, data_dir, tmp_path, monkeypatch):
    from aniso.encoders import TransformerEncoder
    from aniso.evaluation import evaluate_sts
    monkeypatch.setenv("ANISO_CACHE_DIR", str(tmp_path))
    enc = TransformerEncoder.from_path(str(tiny_bert), "tiny")
    many = C.evaluate_many(enc, ["stsb"], ("cls", "mean"), data_dir=data_dir)
    n_files = len(list(tmp_path.glob("*.npy")))
    assert n_files == 4  # every cheap pooling (cls, mean, first_last_avg*) from the one pass
    for p in ("cls", "mean"):
        assert many[p]["stsb"]["all"] == evaluate_sts(enc, "stsb", pooling=p, data_dir=data_dir)["stsb"]["all"]
    assert len(list(tmp_path.glob("*.npy"))) == n_files  # evaluate_sts found them in the cache


def test_dev_probe_and_pretext_stats(tiny_bert):
    from aniso.encoders import TransformerEncoder
    rng = np.random.default_rng(0)
    task = STSData("t", SENTENCES[:12], SENTENCES[6:18], np.r_[np.full(6, 4.5), rng.uniform(0, 3, 6)], ["x"] * 12)
    probe = C.DevProbe(task)
    assert len(probe.sentences) == len(set(SENTENCES[:18]))
    enc = TransformerEncoder.from_path(str(tiny_bert), "tiny")
    m = probe.measure_encoder(enc, "cls", cache=False)
    emb = enc.encode(probe.sentences, pooling="cls", cache=False)
    assert m["alignment"] == pytest.approx(metrics.alignment(emb[probe.i1[:6]], emb[probe.i2[:6]]))
    assert m["uniformity"] == pytest.approx(metrics.uniformity(emb))
    same = C.pretext_stats(enc, SENTENCES[:16], batch_size=8, positive="no_dropout")
    assert same["top1"] == 1.0 and same["alignment"] == pytest.approx(0, abs=1e-10)
    noisy = C.pretext_stats(enc, SENTENCES[:16], batch_size=8)
    assert noisy["alignment"] > 0 and 0 <= noisy["top1"] <= 1


def test_book_configs_and_free_cores():
    quick = C.book_configs("quick")
    assert set(quick) == {"unsup", "no_dropout", "delete_word", "sup", "align_uniform"}
    assert quick["no_dropout"].replace(positive="dropout", stop_after=None) == quick["unsup"]
    assert C.book_configs("paper")["unsup"] == C.paper_config()
    assert 1 <= free_cores() <= (__import__("os").cpu_count() or 1)
