"""STS evaluation against independent computations, and the aniso-eval command line."""

import json

import numpy as np
import pytest
from conftest import SENTENCES
from scipy.stats import spearmanr

from aniso.data import tasks as data
from aniso.data.tasks import STSData
from aniso.encoders.models import Encoder
from aniso.evaluation import sts as E
from aniso.evaluation.papers import PAPER_NUMBERS
from aniso.evaluation.sts import (
    evaluate_sts,
    pair_cosines,
    parse_tasks,
    results_table,
    score_task,
    spearman_x100,
)
from aniso.experiments import cli
from aniso.geometry import metrics


def test_spearman_equals_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50), rng.normal(size=50)
    assert spearman_x100(a, b) == pytest.approx(100 * spearmanr(a, b).statistic, abs=1e-12)


def _by_hand_spearman(x, y):
    """Pearson correlation of average ranks, computed without scipy."""

    def ranks(v):
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(1, len(v) + 1)
        for val in np.unique(v):  # ties get their average rank
            r[v == val] = r[v == val].mean()
        return r

    rx, ry = ranks(np.asarray(x, float)), ranks(np.asarray(y, float))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return 100 * (rx @ ry) / np.sqrt((rx @ rx) * (ry @ ry))


def _fixture_task():
    # 6 pairs in two subsets; 2-D embeddings chosen by hand
    e1 = np.array([[1, 0], [1, 0], [1, 0], [0, 1], [0, 1], [0, 1]], float)
    e2 = np.array([[1, 0], [1, 1], [0, 1], [0, 1], [1, 2], [-1, 1]], float)
    gold = np.array([5.0, 3.0, 1.0, 4.0, 4.5, 0.5])
    task = data.STSData(
        name="toy",
        sentences1=[f"a{i}" for i in range(6)],
        sentences2=[f"b{i}" for i in range(6)],
        scores=gold,
        subsets=["x", "x", "x", "y", "y", "y"],
    )
    return task, e1, e2


def test_score_task_on_hand_made_fixture():
    task, e1, e2 = _fixture_task()
    cos = np.array([1, 1 / np.sqrt(2), 0, 1, 2 / np.sqrt(5), 1 / np.sqrt(2)])
    res = score_task(task, e1, e2)
    assert res["all"] == pytest.approx(_by_hand_spearman(cos, task.scores))
    # wmean: subset x ranks (1, .707, 0) vs (5, 3, 1) -> 100;
    # subset y (1, .894, .707) vs (4, 4.5, .5) -> 50
    assert res["wmean"] == pytest.approx((3 * 100 + 3 * 50) / 6)
    assert res["mean"] == pytest.approx((100 + 50) / 2)  # equal sizes: mean = wmean
    flat = score_task(task, e1, e2, by_subset=False)
    assert flat["wmean"] == flat["mean"] == res["all"]
    assert "cosines" not in res  # kept only on request, for a bootstrap over the pairs
    kept = score_task(task, e1, e2, keep_cosines=True)
    assert kept["cosines"] == pytest.approx(cos, abs=1e-12)
    assert list(kept["gold"]) == list(task.scores) and kept["all"] == res["all"]


def test_wmean_weights_by_subset_size_and_mean_does_not():
    """Subsets of 4 and 3 pairs: "wmean" weights the per-subset correlations by size, "mean"
    does not; both checked against scipy's Spearman on each subset."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    e1, e2 = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    gold = rng.uniform(0, 5, 7)
    subsets = ["x"] * 4 + ["y"] * 3
    task = data.STSData(
        "toy", [f"a{i}" for i in range(7)], [f"b{i}" for i in range(7)], gold, subsets
    )
    cos = (e1 * e2).sum(1) / np.linalg.norm(e1, axis=1) / np.linalg.norm(e2, axis=1)
    rx = 100 * spearmanr(cos[:4], gold[:4]).statistic
    ry = 100 * spearmanr(cos[4:], gold[4:]).statistic
    res = score_task(task, e1, e2)
    assert res["wmean"] == pytest.approx((4 * rx + 3 * ry) / 7)
    assert res["mean"] == pytest.approx((rx + ry) / 2)
    assert res["all"] == pytest.approx(100 * spearmanr(cos, gold).statistic)


class FixedEncoder(Encoder):
    """Returns the fixture's embeddings for its sentences (no model)."""

    name = "fixed"

    def __init__(self, table):
        self.table = table

    def fingerprint(self):
        return "fixed"

    def _encode(self, sentences, pooling, batch_size, show_progress):
        return np.stack([self.table[s] for s in sentences])


def test_evaluate_sts_end_to_end_with_fixture(monkeypatch, tmp_path):
    task, e1, e2 = _fixture_task()
    table = {
        **{s: v for s, v in zip(task.sentences1, e1)},
        **{s: v for s, v in zip(task.sentences2, e2)},
    }
    monkeypatch.setattr(data, "load_task", lambda name, data_dir=None, max_pairs=None: task)
    monkeypatch.setenv("ANISO_CACHE_DIR", str(tmp_path))
    res = evaluate_sts(FixedEncoder(table), "sts12")
    assert res["sts12"]["wmean"] == pytest.approx(75.0)
    assert res["sts12"]["n"] == 6


def test_pair_cosines_zero_norm_and_shapes():
    cos, n_zero = pair_cosines(
        np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[1.0, 0.0], [2.0, 0.0]])
    )
    assert n_zero == 1 and cos.tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="equal shape"):
        pair_cosines(np.ones((3, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        pair_cosines(np.array([[np.nan, 1.0]]), np.ones((1, 2)))


def test_unequal_pair_counts():
    task, e1, e2 = _fixture_task()
    with pytest.raises(ValueError, match="6 pairs but 5 embeddings"):
        score_task(task, e1[:5], e2[:5])


def test_parse_tasks():
    assert parse_tasks("stsb, SICKR") == ["stsb", "sickr"]
    assert parse_tasks("all") == list(data.TASKS)
    with pytest.raises(ValueError, match="unknown task.*sts99"):
        parse_tasks("stsb,sts99")
    with pytest.raises(ValueError, match="no task given"):
        parse_tasks(" , ")


def test_results_table_labels_sources():
    task, e1, e2 = _fixture_task()
    ours = {"stsb": {"all": 50.0, "wmean": 50.0}}
    df = results_table({"mine": ours}, papers=[("SBERT Table 1", "Avg. GloVe embeddings")])
    assert ("mine", "ours", "all") in df.index
    assert df.loc[("Avg. GloVe embeddings", "SBERT Table 1", "all"), "STS-B"] == 58.02
    with pytest.raises(ValueError, match="no published numbers"):
        results_table({"mine": ours}, papers=[("Nope", "x")])
    with pytest.raises(ValueError, match="setting must be"):
        results_table({"mine": ours}, setting="mean")
    assert all(set(v) <= set(data.TASKS) for v in PAPER_NUMBERS.values())


def test_glove_stsb_pinned(data_dir, tmp_path, monkeypatch):
    """Averaged GloVe 6B-50d on STS-B test: a pinned value of the whole pipeline."""
    monkeypatch.setenv("ANISO_CACHE_DIR", str(tmp_path))
    res = evaluate_sts("glove", "stsb", data_dir=data_dir)
    assert res["stsb"]["all"] == pytest.approx(38.1903, abs=1e-3)
    assert res["stsb"]["n"] == 1379 and res["stsb"]["n_zero_norm"] == 0


# ---- the command line -------------------------------------------------------------------------


def _run_cli(args, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(args)
    return e.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    "args, msg",
    [
        (["--model", "glove", "--tasks", "sts99"], "unknown task"),
        (["--model", "glove", "--pooling", "max"], "unknown --pooling 'max'"),
        (["--model", "glove", "--pooling", "first_last_avg"], "use emb_last_avg"),
        (["--model", "glove", "--pooling", "first_last_avg"], "or layer1_last_avg"),
        (["--model", "no such model!"], "unknown model"),
        (["--model", "glove", "--pooling", "cls"], "does not apply"),
        (["--model", "glove", "--data-dir", "/nonexistent/folder"], "ANISO_DATA_DIR"),
        (["--model", "glove", "--batch-size", "0"], "batch-size"),
        (["--tasks", "stsb"], "required: --model"),
    ],
)
def test_cli_bad_arguments_exit_2(args, msg, capsys, data_dir, monkeypatch):
    monkeypatch.setenv("ANISO_DATA_DIR", str(data_dir))
    code, err = _run_cli(args, capsys)
    assert code == 2 and msg in err and "aniso-eval: error:" in err and "Traceback" not in err


def test_cli_json(capsys, data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ANISO_CACHE_DIR", str(tmp_path))
    assert (
        cli.main(
            [
                "--model",
                "glove",
                "--tasks",
                "stsb",
                "--data-dir",
                str(data_dir),
                "--json",
                "--isotropy",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["results"]["stsb"]["all"] == pytest.approx(38.1903, abs=1e-3)
    assert set(out["isotropy"]) >= {
        "average_cosine",
        "isoscore",
        "effective_rank",
        "alignment",
        "uniformity",
    }


# ------------------------------------------------------------- several encoders, the plane
def test_evaluate_many_equals_evaluate_sts_and_shares_its_cache(
    tiny_bert, data_dir, tmp_path, monkeypatch
):
    from aniso.encoders.models import TransformerEncoder

    monkeypatch.setenv("ANISO_CACHE_DIR", str(tmp_path))
    enc = TransformerEncoder.from_path(str(tiny_bert), "tiny")
    many = E.evaluate_many(enc, ["stsb"], ("cls", "mean"), data_dir=data_dir)
    n_files = len(list(tmp_path.glob("*.npy")))
    assert n_files == 4  # every cheap pooling (cls, mean, emb_last_avg*) from the one pass
    for p in ("cls", "mean"):
        assert (
            many[p]["stsb"]["all"]
            == evaluate_sts(enc, "stsb", pooling=p, data_dir=data_dir)["stsb"]["all"]
        )
    assert len(list(tmp_path.glob("*.npy"))) == n_files  # evaluate_sts found them in the cache


def test_dev_probe_and_pretext_stats(tiny_bert):
    from aniso.encoders.models import TransformerEncoder

    rng = np.random.default_rng(0)
    task = STSData(
        "t",
        SENTENCES[:12],
        SENTENCES[6:18],
        np.r_[np.full(6, 4.5), rng.uniform(0, 3, 6)],
        ["x"] * 12,
    )
    probe = E.DevProbe(task)
    assert len(probe.sentences) == len(set(SENTENCES[:18]))
    enc = TransformerEncoder.from_path(str(tiny_bert), "tiny")
    m = probe.measure_encoder(enc, "cls", cache=False)
    emb = enc.encode(probe.sentences, pooling="cls", cache=False)
    assert m["alignment"] == pytest.approx(metrics.alignment(emb[probe.i1[:6]], emb[probe.i2[:6]]))
    assert m["uniformity"] == pytest.approx(metrics.uniformity(emb))
    same = E.pretext_stats(enc, SENTENCES[:16], batch_size=8, positive="no_dropout")
    assert same["top1"] == 1.0 and same["alignment"] == pytest.approx(0, abs=1e-10)
    noisy = E.pretext_stats(enc, SENTENCES[:16], batch_size=8)
    assert noisy["alignment"] > 0 and 0 <= noisy["top1"] <= 1
    # truncated to 2 tokens, every sentence is "[CLS] [SEP]": all vectors coincide
    cut = E.pretext_stats(enc, SENTENCES[:16], batch_size=8, positive="no_dropout", max_length=2)
    assert cut["neg_cos"] == pytest.approx(1.0, abs=1e-6) and cut["top1"] < 1


def test_best_raw_pooling_is_the_dev_argmax(tiny_bert, data_dir, tmp_path, monkeypatch):
    """The book's one definition of "best raw pooling": argmax of STS-B dev Spearman, checked
    against scipy on cosines computed here."""
    from scipy.stats import spearmanr

    from aniso.encoders.models import load_encoder
    from aniso.evaluation.sts import RAW_POOLINGS, best_raw_pooling

    monkeypatch.setenv("ANISO_CACHE_DIR", str(tmp_path))
    best, dev = best_raw_pooling(str(tiny_bert), data_dir=data_dir)
    assert list(dev) == list(RAW_POOLINGS)
    d = data.load_task("stsb-dev", data_dir=data_dir)
    enc = load_encoder(str(tiny_bert))
    for p in RAW_POOLINGS:
        a = enc.encode(d.sentences1, pooling=p).astype(np.float64)
        b = enc.encode(d.sentences2, pooling=p).astype(np.float64)
        cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        # the library's cosines are float32: near-ties may rank differently from float64's
        assert dev[p] == pytest.approx(100 * spearmanr(cos, d.scores).statistic, abs=1e-4)
    assert best == max(dev, key=dev.get)
    best, dev = best_raw_pooling("glove", data_dir=data_dir)  # GloVe has only "mean"
    assert best == "mean" and list(dev) == ["mean"]
