"""Contrastive training of sentence encoders: SimCSE and alignment + uniformity.

Introduced in chapter "SimCSE" (notebooks/04_simcse.ipynb) and used in chapter
"Alignment and uniformity" (notebooks/05_alignment_uniformity.ipynb) and the
concluding chapter (notebooks/07_conclusion.ipynb).

* :class:`SimCSEConfig` describes one training run; :func:`paper_config` and
  :func:`quick_config` are the two profiles of the book. :func:`train_simcse`
  trains through sentence-transformers' ``SentenceTransformerTrainer`` with
  ``MultipleNegativesRankingLoss(scale=1/temperature)`` on (s, s) pairs (or
  :class:`aniso.contrastive.losses.AlignUniformLoss`), records the training loss and, every
  ``eval_every`` steps, STS-B dev Spearman, alignment and uniformity
  (:class:`aniso.evaluation.DevProbe`), keeps the best dev checkpoint, resumes
  after an interruption, and caches the finished run on disk under a hash of
  the config (so later chapters reuse it).
* :func:`aniso.experiments.book_plans.book_configs` names the runs of the book.

The command line, ``python -m aniso.contrastive``, is :mod:`aniso.contrastive.__main__`.
The objectives are in :mod:`aniso.contrastive.losses`, the sentence sources in
:mod:`aniso.data.tasks` and the evaluation of many encoders in :mod:`aniso.evaluation.sts`.

On several GPUs, the same code runs under ``torchrun --nproc_per_node N -m
aniso.contrastive --profile paper`` (or ``accelerate launch -m aniso.contrastive
--profile paper``): the trainer handles the processes, and the loss gathers the
in-batch negatives across devices.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import TrainerCallback

from aniso.contrastive.losses import AlignUniformLoss, shared_mask_loss
from aniso.data import tasks as data_mod
from aniso.encoders.models import TransformerEncoder, model_path
from aniso.evaluation.sts import DevProbe
from aniso.util import files
from aniso.util.devices import barrier, distributed_args, precision
from aniso.util.threads import all_threads

__all__ = [
    "SimCSEConfig",
    "paper_config",
    "quick_config",
    "train_simcse",
    "SimCSERun",
    "StopAfter",
]

HEAD_FILE = "mlp_head.pt"  # the MLP head's linear layer, beside the best checkpoint
_CODE_VERSION = 1  # bump when a change in training would change the results of a cached run


# ----------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class SimCSEConfig:
    """One contrastive training run (chapter "SimCSE").

    ``model``: a short name of the book, a folder or a hub id. ``sentences``:
    ``wiki1m`` / ``enwiki`` (the samples in the data directory),
    ``wiki1m+enwiki``, ``wiki1m-full`` (SimCSE's million sentences, downloaded)
    or a text file, one sentence a line; the first ``n_sentences`` are used
    (None: all). ``epochs`` over them, or ``max_steps`` if given;
    ``stop_after`` ends the run after that many steps of the same schedule
    (the first steps of the full run, for short ablations). ``pooling``
    ``cls`` or ``mean``; with ``mlp_head_in_training`` a dense layer with tanh
    sits on top during training only (SimCSE's ``cls`` setting; evaluation
    uses the pooled vector below it). ``positive``: ``dropout`` (the same
    sentence twice, two dropout masks), ``no_dropout`` (dropout probabilities
    set to 0), ``delete_word`` (the second view misses one random word) or ``shared_mask``
    (one dropout mask for both views: SimCSE's "fixed 0.1", chapter "Reproducing the numbers").
    ``objective``: ``infonce`` or ``align_uniform``. ``supervised="sick"``
    replaces the sentences by SICK train entailment pairs, with a
    contradiction of the same premise as a hard negative where there is one.
    Every ``eval_every`` steps a checkpoint is saved and STS-B dev Spearman,
    alignment and uniformity are recorded; the best dev step is kept.
    """

    model: str = "mini-bert"
    sentences: str = "wiki1m"
    n_sentences: int | None = None
    batch_size: int = 64
    lr: float = 3e-5
    max_length: int = 32
    epochs: float = 1.0
    max_steps: int | None = None
    stop_after: int | None = None
    pooling: str = "cls"
    mlp_head_in_training: bool = True
    temperature: float = 0.05
    positive: str = "dropout"
    objective: str = "infonce"
    supervised: str | None = None
    align_alpha: float = 2.0
    uniform_t: float = 2.0
    uniform_weight: float = 1.0
    seed: int = 42
    eval_every: int = 250
    log_every: int = 5
    output_dir: str | None = None

    def __post_init__(self):
        positives = ("dropout", "no_dropout", "delete_word", "shared_mask")
        choices = {
            "pooling": ("cls", "mean"),
            "positive": positives,
            "objective": ("infonce", "align_uniform"),
            "supervised": (None, "sick"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("batch_size", "max_length", "eval_every", "log_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.objective == "align_uniform" and self.supervised:
            raise ValueError(
                "the align_uniform objective is implemented for unsupervised pairs only"
            )
        if not self.lr > 0 or not self.temperature > 0:
            raise ValueError("lr and temperature must be positive")

    def replace(self, **changes) -> "SimCSEConfig":
        return dataclasses.replace(self, **changes)

    def key(self) -> str:
        """Hash of everything that determines the result: the fields (not ``output_dir``), the base
        model's weights and the code version."""
        fields = {k: v for k, v in dataclasses.asdict(self).items() if k != "output_dir"}
        payload = json.dumps(
            [_CODE_VERSION, fields, _model_fingerprint(self.model)], sort_keys=True
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def run_dir(self) -> Path:
        if self.output_dir:
            return Path(self.output_dir)
        return files.cache_dir("runs", f"simcse-{self.key()}")


def paper_config(**changes) -> SimCSEConfig:
    """Unsupervised SimCSE with the paper's settings (chapter "SimCSE"): bert-base-uncased,
    SimCSE's wiki1m (10^6 sentences), batch 64, lr 3e-5, max length 32, one epoch, ``cls`` pooling
    with the MLP head in training only, temperature 0.05, STS-B dev evaluation every 250 steps,
    seed 42."""
    return SimCSEConfig(
        model="bert-base-uncased",
        sentences="wiki1m-full",
        n_sentences=None,
        batch_size=64,
        lr=3e-5,
        max_length=32,
        epochs=1.0,
        pooling="cls",
        mlp_head_in_training=True,
        temperature=0.05,
        eval_every=250,
        log_every=50,
        seed=42,
    ).replace(**changes)


def quick_config(**changes) -> SimCSEConfig:
    """The paper's run scaled to two CPU cores (chapter "SimCSE"): the stand-in BERT and the first
    3,200 sentences of the wiki1m sample (one epoch, 50 steps of 64); everything else as in the
    paper, with dev evaluation and a checkpoint every 25 steps."""
    return SimCSEConfig(
        model="mini-bert", sentences="wiki1m", n_sentences=3200, eval_every=25, log_every=5
    ).replace(**changes)


def _model_fingerprint(name: str) -> str:
    path = Path(model_path(name))
    if not path.is_dir():
        return str(name)  # a hub id: its name identifies it
    stamp = tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in sorted(path.iterdir()))
    return _folder_hash(str(path), stamp)


@functools.lru_cache(maxsize=32)
def _folder_hash(path: str, stamp: tuple) -> str:
    path = Path(path)
    h = hashlib.sha256()
    for f in sorted(path.iterdir()):
        if f.suffix in (".safetensors", ".bin") or f.name == "config.json":
            h.update(f.name.encode())
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    h.update(block)
    return h.hexdigest()


def _train_dataset(config: SimCSEConfig, data_dir=None):
    from datasets import Dataset

    if config.supervised:
        pairs, triplets = data_mod.supervised_examples(config.supervised, data_dir)
        sets = {}
        if triplets:
            sets["with_negative"] = Dataset.from_dict(
                {
                    "anchor": [t[0] for t in triplets],
                    "positive": [t[1] for t in triplets],
                    "negative": [t[2] for t in triplets],
                }
            )
        if pairs:
            sets["pairs"] = Dataset.from_dict(
                {"anchor": [p[0] for p in pairs], "positive": [p[1] for p in pairs]}
            )
        return sets
    s = data_mod.training_sentences(config.sentences, config.n_sentences, data_dir)
    if config.positive == "delete_word":
        second = [data_mod.delete_word(x, config.seed * 1_000_003 + i) for i, x in enumerate(s)]
    else:
        second = list(s)
    return Dataset.from_dict({"anchor": s, "positive": second})


# ----------------------------------------------------------------------------- training
def _build_model(config: SimCSEConfig):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Pooling, Transformer
    from transformers import set_seed
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    set_seed(config.seed)  # the MLP head's initialization
    kwargs = {}
    if config.positive == "no_dropout":
        kwargs["config_kwargs"] = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    tr = Transformer(model_path(config.model), max_seq_length=config.max_length, **kwargs)
    dim = tr.get_embedding_dimension()
    modules = [tr, Pooling(dim, config.pooling)]
    if config.mlp_head_in_training:
        modules.append(Dense(dim, dim, activation_function=torch.nn.Tanh()))
    return SentenceTransformer(modules=modules)


class _Monitor(TrainerCallback):
    """Every ``eval_every`` steps (and at step 0): STS-B dev Spearman, alignment, uniformity of the
    pooled vector *below* the MLP head; the best dev step's encoder goes to ``best/`` (with the
    head's weights, ``best/mlp_head.pt``, when it has one)."""

    def __init__(
        self,
        run_dir: Path,
        config: SimCSEConfig,
        transformer,
        tokenizer,
        probe: DevProbe,
        head=None,
    ):
        self.run_dir, self.config, self.probe, self.head = run_dir, config, probe, head
        self.encoder = TransformerEncoder(transformer, tokenizer, "simcse-training")
        self.log_path = run_dir / "evals.jsonl"
        self.best = -np.inf

    def restore(self, upto_step: int):
        """After a resume: keep the records up to the checkpoint and the best dev among them."""
        rows = files.read_jsonl(self.log_path)
        rows = [r for r in rows if r["step"] <= upto_step]
        files.write_jsonl(self.log_path, rows)
        self.best = max([r["spearman"] for r in rows if r["step"] > 0], default=-np.inf)

    def measure(self, step: int, state):
        self.encoder.invalidate()
        measured = self.probe.measure_encoder(self.encoder, self.config.pooling, cache=(step == 0))
        m = {"step": step, **measured}
        with open(self.log_path, "a") as f:
            f.write(json.dumps(m) + "\n")
        if step > 0 and m["spearman"] > self.best:  # dev-set model selection, as in the paper
            self.best = m["spearman"]
            with files.atomic_dir(self.run_dir / "best") as tmp:
                self.encoder.model.save_pretrained(tmp)
                self.encoder.tokenizer.save_pretrained(tmp)
                if self.head is not None:  # the MLP head, for reading out through it
                    linear = self.head.linear
                    torch.save(
                        {
                            "weight": linear.weight.detach().cpu().clone(),
                            "bias": linear.bias.detach().cpu().clone(),
                        },
                        tmp / HEAD_FILE,
                    )
                best = {"step": step, "spearman": m["spearman"]}
                (tmp / "aniso_step.json").write_text(json.dumps(best))

    def on_train_begin(self, args, state, control, **kw):
        first = state.global_step == 0 and not files.read_jsonl(self.log_path)
        if state.is_world_process_zero and first:
            self.measure(0, state)

    def on_step_end(self, args, state, control, **kw):
        last = min(state.max_steps, self.config.stop_after or state.max_steps)
        if state.is_world_process_zero and (
            state.global_step % self.config.eval_every == 0 or state.global_step == last
        ):
            self.measure(state.global_step, state)


class StopAfter(TrainerCallback):
    """End training after ``step`` steps: a finished run (no checkpoint), or with ``interrupt`` an
    interruption (a checkpoint to resume from; ``--interrupt-at``)."""

    def __init__(self, step: int, interrupt: bool = False):
        self.step, self.interrupt = step, interrupt

    def on_step_end(self, args, state, control, **kw):
        if state.global_step >= self.step:
            control.should_training_stop = True
            control.should_save = self.interrupt


def _last_checkpoint(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    ckpts = sorted(folder.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    return ckpts[-1] if ckpts else None


@dataclass
class SimCSERun:
    """A trained (or interrupted) run: its folder, config and records (chapter "SimCSE")."""

    dir: Path
    config: SimCSEConfig
    summary: dict

    @property
    def done(self) -> bool:
        return bool(self.summary.get("done"))

    @property
    def evals(self):
        """One row per evaluation: step, spearman (STS-B dev), alignment, uniformity."""
        import pandas as pd

        # the last record of a step wins
        rows = {r["step"]: r for r in files.read_jsonl(self.dir / "evals.jsonl")}
        return pd.DataFrame([rows[k] for k in sorted(rows)])

    @property
    def loss(self):
        """The training loss every ``log_every`` steps (step, loss, learning_rate)."""
        import pandas as pd

        path = self.dir / "loss.json"
        return pd.DataFrame(json.loads(path.read_text()) if path.exists() else [])

    @property
    def best_step(self) -> int | None:
        return self.summary.get("best_step")

    def encoder(self, name: str | None = None, max_length: int = 128) -> TransformerEncoder:
        """The best dev checkpoint's encoder (the pooled vector below the MLP head); its embedding
        cache entries are named after the run folder unless ``name`` is given."""
        if not (self.dir / "best").is_dir():
            raise FileNotFoundError(f"{self.dir} holds no best checkpoint yet (train it first)")
        best = str(self.dir / "best")
        return TransformerEncoder.from_path(best, name or self.dir.name, max_length)

    def mlp_head(self):
        """The best checkpoint's MLP head as a function ``x -> tanh(x W^T + b)`` (numpy), to read
        the encoder out *through* it: a transform for :func:`aniso.evaluation.evaluate_many`
        (chapter "Reproducing the numbers"). Fails for a run without a head, or one cached
        before the book saved heads (retrain it: ``train_simcse(config, force=True)``)."""
        path = self.dir / "best" / HEAD_FILE
        if not self.config.mlp_head_in_training or not path.exists():
            raise FileNotFoundError(
                f"no MLP head in {path.parent}: trained without one, or "
                "cached before heads were saved (train_simcse(force=True))"
            )
        blob = torch.load(path, weights_only=True)
        w, b = blob["weight"].double().numpy(), blob["bias"].double().numpy()
        return lambda x: np.tanh(np.asarray(x, np.float64) @ w.T + b).astype(np.float32)

    @classmethod
    def load(cls, run_dir) -> "SimCSERun":
        run_dir = Path(run_dir)
        cfg = SimCSEConfig(**json.loads((run_dir / "config.json").read_text()))
        result = run_dir / "result.json"
        summary = json.loads(result.read_text()) if result.exists() else {}
        return cls(run_dir, cfg, summary)


def train_simcse(
    config: SimCSEConfig,
    *,
    force: bool = False,
    callbacks=(),
    data_dir=None,
    progress: bool = False,
) -> SimCSERun:
    """Train (or load the cached result of) one contrastive run (chapter "SimCSE").

    A finished run in ``config.run_dir()`` is returned without training
    unless ``force``. An unfinished one resumes from its last checkpoint
    (``resume_from_checkpoint``); the dev records after that checkpoint are
    dropped and recomputed. Returns a :class:`SimCSERun`; ``run.done`` is
    False when training stopped early (e.g. a callback asked it to). One process at a time trains a
    run folder (:func:`aniso.util.files.locked`): another one waits, then reads (or resumes) the
    run.

    The run is the one ``config`` describes, and nothing else: its model, sentences and
    steps (the smoke profile cuts them in the config it passes,
    :func:`aniso.experiments.book_plans.book_configs`). Under ``torchrun`` every process trains
    on its share of each batch (the loss gathers the negatives of all of them); only the first
    process writes the run's records, the best
    checkpoint and the summary. On a GPU the trainer uses mixed precision (:func:`precision`).
    """
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import (
        MultipleNegativesRankingLoss as MNRL,
    )
    from transformers.trainer_callback import PrinterCallback
    from transformers.utils import logging as hf_logging

    if not progress:
        hf_logging.disable_progress_bar()
    run_dir = config.run_dir()
    if not force and (run_dir / "result.json").exists():
        return SimCSERun.load(run_dir)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(run_dir / "trainer"),
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.lr,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps else -1,
        warmup_steps=0,
        lr_scheduler_type="linear",
        weight_decay=0.0,
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=config.log_every,
        save_strategy="steps",
        save_steps=config.eval_every,
        save_total_limit=1,
        report_to="none",
        dataloader_drop_last=True,
        disable_tqdm=not progress,
        eval_strategy="no",
        dataloader_pin_memory=torch.cuda.is_available(),
        **distributed_args(),
        **precision(),
    )
    main = args.process_index == 0  # sets up the process group under torchrun
    # one process at a time trains a run folder; under torchrun the first one locks for the group
    lock = files.locked(run_dir, f"the SimCSE run {run_dir.name}") if main else None
    with lock or contextlib.nullcontext():
        if main and (force or not (run_dir / "result.json").exists()):
            if force and run_dir.exists():
                shutil.rmtree(run_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1))
        barrier()  # the others wait for the first one, and so for its lock
        if not force and (run_dir / "result.json").exists():  # finished while this one waited
            return SimCSERun.load(run_dir)

        model = _build_model(config)
        transformer = model[0]
        if config.objective == "align_uniform":
            loss = AlignUniformLoss(
                model, config.align_alpha, config.uniform_t, config.uniform_weight
            )
        else:
            gather = args.world_size > 1  # negatives from every process
            make = shared_mask_loss if config.positive == "shared_mask" else MNRL
            loss = make(model, scale=1.0 / config.temperature, gather_across_devices=gather)
        monitor = _Monitor(
            run_dir,
            config,
            transformer.auto_model,
            transformer.tokenizer,
            DevProbe("stsb-dev", data_dir),
            head=model[2] if config.mlp_head_in_training else None,
        )

        class _Trainer(SentenceTransformerTrainer):
            def add_model_card_callback(self, default_args_dict):  # no model card to publish
                pass

            def _save(self, output_dir=None, state_dict=None):  # no model card in every checkpoint
                output_dir = output_dir or self.args.output_dir
                os.makedirs(output_dir, exist_ok=True)
                self.model.save_pretrained(output_dir, create_model_card=False)

        stop = [StopAfter(config.stop_after)] if config.stop_after else []
        trainer = _Trainer(
            model=model,
            args=args,
            train_dataset=_train_dataset(config, data_dir),
            loss=loss,
            callbacks=[monitor, *stop, *callbacks],
        )
        if not progress:
            trainer.remove_callback(PrinterCallback)
        ckpt = _last_checkpoint(run_dir / "trainer")
        if main:
            if ckpt is not None:
                monitor.restore(int(ckpt.name.split("-")[1]))
            else:
                (run_dir / "evals.jsonl").unlink(missing_ok=True)
        barrier()
        t0 = time.perf_counter()
        with all_threads():  # the machine's CPUs, not its load: the same numbers on a busy one
            trainer.train(resume_from_checkpoint=str(ckpt) if ckpt else None)
        seconds = time.perf_counter() - t0
        state = trainer.state
        done = state.global_step >= min(state.max_steps, config.stop_after or state.max_steps)
        barrier()  # the first process has written its last records and checkpoint
        summary = {
            "done": done,
            "steps": state.global_step,
            "max_steps": state.max_steps,
            "train_seconds": seconds,
            "resumed_from": ckpt.name if ckpt else None,
        }
        if (run_dir / "best" / "aniso_step.json").exists():
            summary.update(
                {
                    ("best_" + k): v
                    for k, v in json.loads(
                        (run_dir / "best" / "aniso_step.json").read_text()
                    ).items()
                }
            )
        if main:
            logs = [
                {"step": h["step"], "loss": h["loss"], "learning_rate": h.get("learning_rate")}
                for h in state.log_history
                if "loss" in h
            ]
            (run_dir / "loss.json").write_text(json.dumps(logs))
            if done:
                # the optimizer states are only for resuming
                shutil.rmtree(run_dir / "trainer", ignore_errors=True)
                with files.atomic_write(run_dir / "result.json", "w") as f:  # read without a lock
                    f.write(json.dumps(summary, indent=1))
        barrier()  # the others return once the records are complete
        return SimCSERun(run_dir, config, summary)
