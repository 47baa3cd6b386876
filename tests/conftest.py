"""Shared fixtures of the test suite."""

import os
from pathlib import Path

import pytest

# 36 distinct short sentences for the tests of training, probes and losses
SENTENCES = [
    f"sentence number {i} is about {w} and {v}"
    for i, (w, v) in enumerate(
        zip(
            ["cats", "dogs", "rain", "music", "trains", "bread"] * 6,
            ["tea", "snow", "maps", "glass", "wind", "boats"] * 6,
        )
    )
]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The data sets: $ANISO_DATA_DIR if set, else ../shared/data next to the repo."""
    env = os.environ.get("ANISO_DATA_DIR")
    path = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"data directory {path} not found; set ANISO_DATA_DIR")
    return path


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A random 2-layer, 32-wide BERT with the MiniLM (bert-base-uncased) tokenizer, on disk."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from aniso.encoders.models import minilm_path

    folder = tmp_path_factory.mktemp("tiny-bert")
    tok = AutoTokenizer.from_pretrained(minilm_path())
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture
def book_in(tmp_path, monkeypatch):
    """A book of one's own in ``tmp_path`` for the build machinery (scripts/bookbuild): its
    root, _build, stage and timings file, and an empty embedding cache."""
    from bookbuild import common

    for name, value in {
        "ROOT": tmp_path,
        "BUILD": tmp_path / "_build",
        "STAGE": tmp_path / "_build" / "stage",
        "TIMINGS": tmp_path / "_build" / "timings.json",
    }.items():
        monkeypatch.setattr(common, name, value)
    monkeypatch.setenv("ANISO_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "_build").mkdir()
    return tmp_path
