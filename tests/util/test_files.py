"""aniso.util.files (atomic writes, sums, cache folders) and the model-name resolver of
aniso.encoders.models, including the stand-in BERT shipped as package data."""

import hashlib
import json
from importlib import resources
from pathlib import Path

import pytest

from aniso.encoders.models import EncoderError, mini_bert_path, minilm_path, model_path
from aniso.util import files


def test_atomic_write_replaces_only_on_success(tmp_path):
    path = tmp_path / "sub" / "x.bin"
    with files.atomic_write(path) as f:
        f.write(b"one")
    assert path.read_bytes() == b"one"
    with pytest.raises(RuntimeError):
        with files.atomic_write(path) as f:
            f.write(b"two")
            raise RuntimeError("interrupted")
    assert path.read_bytes() == b"one"

    def reject(tmp):
        raise ValueError(f"bad content in {tmp.name}")

    with pytest.raises(ValueError, match="bad content"):
        with files.atomic_write(path, "w", verify=reject) as f:
            f.write("three")
    assert path.read_bytes() == b"one"
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.bin"]  # no temporary file left


def test_atomic_dir(tmp_path):
    target = tmp_path / "best"
    with files.atomic_dir(target) as tmp:
        (tmp / "a.json").write_text("{}")
    with pytest.raises(KeyError):
        with files.atomic_dir(target) as tmp:
            (tmp / "b.json").write_text("{}")
            raise KeyError("interrupted")
    assert [p.name for p in target.iterdir()] == ["a.json"]
    with files.atomic_dir(target) as tmp:
        (tmp / "c.json").write_text("{}")
    assert [p.name for p in target.iterdir()] == ["c.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]


def test_sha256_and_cache_folders(tmp_path, monkeypatch):
    f = tmp_path / "f.txt"
    f.write_bytes(b"abc" * 100_000)
    assert files.sha256(f) == hashlib.sha256(f.read_bytes()).hexdigest()
    monkeypatch.setenv("ANISO_CACHE_DIR", str(tmp_path / "c"))
    assert files.cache_dir() == tmp_path / "c"
    assert files.cache_dir("runs", "x") == tmp_path / "c" / "runs" / "x"
    monkeypatch.delenv("ANISO_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert files.cache_dir("lm") == tmp_path / "xdg" / "aniso" / "embeddings" / "lm"


def test_mini_bert_is_package_data(monkeypatch):
    """The checkpoint is found through importlib.resources (so a non-editable install has it)."""
    monkeypatch.delenv("ANISO_MINI_BERT", raising=False)
    shipped = resources.files("aniso").joinpath("models").joinpath("mini-bert")
    assert shipped.joinpath("config.json").is_file()
    assert shipped.joinpath("model.safetensors").is_file()
    assert mini_bert_path() == Path(str(shipped))
    assert json.loads((mini_bert_path() / "config.json").read_text())["model_type"] == "bert"
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"models/mini-bert/*"' in pyproject  # declared as package data
    monkeypatch.setenv("ANISO_MINI_BERT", "/elsewhere/mini-bert")
    assert mini_bert_path() == Path("/elsewhere/mini-bert")


def test_model_path_resolves_the_short_names(monkeypatch):
    monkeypatch.delenv("ANISO_MINI_BERT", raising=False)
    assert model_path("mini-bert") == model_path("MiniBERT") == str(mini_bert_path())
    assert model_path("all-MiniLM-L6-v2") == model_path("minilm") == minilm_path()
    assert model_path("bert-base-uncased") == "google-bert/bert-base-uncased"
    assert model_path("/some/folder") == "/some/folder"
    with pytest.raises(EncoderError, match="glove"):
        model_path("glove")
