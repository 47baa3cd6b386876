"""Masked-language-model pretraining of the stand-in BERT (appendix "The stand-in BERT").

A BERT (``transformers.BertForMaskedLM``) is trained with the MLM objective on
the corpus built by :mod:`aniso.standin.corpus`. Compute goes where it buys quality:
15% of positions are masked (80% [MASK], 10% random, 10% kept) and the
vocabulary projection is computed at the masked positions only.

The run is deterministic and interruptible: every ``ckpt_every`` steps it
writes ``ckpt.pt`` atomically (weights, optimizer, schedule, RNG state), and a
restarted run resumes from it and reaches the same weights as an
uninterrupted one. ``log.jsonl`` holds loss, accuracy, learning rate and
tokens/s every ``log_every`` steps, and held-out loss/accuracy every
``eval_every`` steps.

    python -m aniso.standin.pretrain --corpus build/corpus --out build/mini-bert-run
    python -m aniso.standin.pretrain --out build/mini-bert-run --export src/aniso/models/mini-bert

A run can start from the weights of another (``--init-from RUN``) with a fresh
optimizer and schedule, for instance with other position embeddings; the export
then carries both runs' logs, settings and notes, as stages.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from aniso.util import files


@dataclass
class PretrainConfig:
    corpus: str = "build/corpus"
    out: str = "build/mini-bert-run"
    tokenizer: str = ""  # default: the bert-base-uncased WordPiece bundled with MiniLM
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 1024
    max_len: int = 128
    batch_size: int = 64
    lr: float = 5e-4
    warmup_steps: int = 200
    total_steps: int = 4000
    weight_decay: float = 0.01
    mask_prob: float = 0.15
    dropout: float = 0.1
    seed: int = 0
    ckpt_every: int = 100
    log_every: int = 20
    eval_every: int = 250
    threads: int = 0  # 0: torch's default
    bf16: bool = (
        False  # bfloat16 autocast for the training step (weights and optimizer stay float32)
    )
    position_init: str = (
        "random"  # "random": BERT's N(0, 0.02); "sinusoidal": the Transformer's sines and cosines
    )
    position_scale: float = 0.03  # root mean square of the sinusoidal position embeddings
    freeze_positions: bool = False  # keep the position embeddings at their initial values
    max_train_blocks: int = 0  # 0: all (a small number for tests)
    init_from: str = (
        ""  # a finished run folder: start from its weights (fresh optimizer and schedule)
    )


def default_tokenizer_path() -> str:
    """all-MiniLM-L6-v2's folder: its tokenizer is BERT's uncased WordPiece vocabulary."""
    from aniso.encoders.models import minilm_path

    return minilm_path()


def load_tokenizer(cfg: PretrainConfig):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(cfg.tokenizer or default_tokenizer_path())


def make_blocks(path: Path, tok, max_len: int) -> np.ndarray:
    """Tokenize a one-paragraph-per-line file and pack it into [CLS] ... [SEP] blocks."""
    lines = [ln.rstrip("\n") for ln in open(path, encoding="utf-8") if ln.strip()]
    return blocks_from_paragraphs(lines, tok, max_len)


def blocks_from_paragraphs(paragraphs: list[str], tok, max_len: int) -> np.ndarray:
    """Pack paragraphs, each followed by [SEP], into rows of ``max_len`` tokens: [CLS] ... [SEP]."""
    ids = []
    for i in range(0, len(paragraphs), 10000):
        enc = tok(paragraphs[i : i + 10000], add_special_tokens=False)["input_ids"]
        for e in enc:
            ids.extend(e)
            ids.append(tok.sep_token_id)
    body = max_len - 2
    n = len(ids) // body
    arr = np.asarray(ids[: n * body], dtype=np.int32).reshape(n, body)
    cls = np.full((n, 1), tok.cls_token_id, np.int32)
    sep = np.full((n, 1), tok.sep_token_id, np.int32)
    return np.concatenate([cls, arr, sep], axis=1)


def mask_tokens(ids: torch.Tensor, tok, mask_prob: float, gen: torch.Generator):
    """BERT masking: returns (inputs, positions mask, labels at those positions)."""
    special = (ids == tok.cls_token_id) | (ids == tok.sep_token_id) | (ids == tok.pad_token_id)
    probs = torch.rand(ids.shape, generator=gen)
    chosen = (probs < mask_prob) & ~special
    labels = ids[chosen]
    inputs = ids.clone()
    r = torch.rand(ids.shape, generator=gen)
    inputs[chosen & (r < 0.8)] = tok.mask_token_id
    rand_words = torch.randint(len(tok), ids.shape, generator=gen)
    swap = chosen & (r >= 0.8) & (r < 0.9)
    inputs[swap] = rand_words[swap]
    return inputs, chosen, labels


def sinusoidal_positions(n_positions: int, dim: int) -> torch.Tensor:
    """The Transformer's position encodings (Vaswani et al. 2017, section 3.5), root mean square
    1."""
    pos = torch.arange(n_positions, dtype=torch.float64)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * (-math.log(10000.0) / dim))
    out = torch.zeros(n_positions, dim, dtype=torch.float64)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return (out * math.sqrt(2)).float()


def build_model(cfg: PretrainConfig, vocab_size: int):
    from transformers import BertConfig, BertForMaskedLM

    if cfg.position_init not in ("random", "sinusoidal"):
        raise ValueError(
            f"position_init must be 'random' or 'sinusoidal', got {cfg.position_init!r}"
        )
    torch.manual_seed(cfg.seed)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=cfg.hidden_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        intermediate_size=cfg.intermediate_size,
        max_position_embeddings=max(cfg.max_len, 128),
        hidden_dropout_prob=cfg.dropout,
        attention_probs_dropout_prob=cfg.dropout,
    )
    model = BertForMaskedLM(config)
    pe = model.bert.embeddings.position_embeddings.weight
    if cfg.position_init == "sinusoidal":
        with torch.no_grad():
            pe.copy_(cfg.position_scale * sinusoidal_positions(*pe.shape))
    pe.requires_grad_(not cfg.freeze_positions)
    return model


def mlm_step_loss(model, inputs, chosen, labels):
    """Loss and number of correct predictions, projecting only masked positions."""
    hidden = model.bert(input_ids=inputs).last_hidden_state
    logits = model.cls(hidden[chosen])
    loss = torch.nn.functional.cross_entropy(logits, labels)
    correct = (logits.argmax(-1) == labels).sum().item()
    return loss, correct


def heldout_masks(
    blocks: np.ndarray, tok, mask_prob: float = 0.15, batch: int = 64, seed: int = 12345
):
    """Yield ``(inputs, chosen, labels)`` batch by batch with the fixed held-out masking seed.

    Every held-out number (the model's, and the count baseline's in ``aniso.standin.diagnostics``)
    is measured on these same masked positions.
    """
    gen = torch.Generator().manual_seed(seed)
    for i in range(0, len(blocks), batch):
        ids = torch.from_numpy(blocks[i : i + batch].astype(np.int64))
        yield mask_tokens(ids, tok, mask_prob, gen)


@torch.no_grad()
def evaluate(model, blocks: np.ndarray, tok, cfg: PretrainConfig, batch: int = 64):
    """Held-out MLM loss and masked-token accuracy with a fixed masking seed."""
    was_training = model.training
    model.eval()
    tot_loss, tot_correct, tot_n = 0.0, 0, 0
    for inputs, chosen, labels in heldout_masks(blocks, tok, cfg.mask_prob, batch):
        loss, correct = mlm_step_loss(model, inputs, chosen, labels)
        tot_loss += loss.item() * len(labels)
        tot_correct += correct
        tot_n += len(labels)
    model.train(was_training)
    return tot_loss / tot_n, tot_correct / tot_n


def lr_at(step: int, cfg: PretrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    frac = (step - cfg.warmup_steps) / max(1, cfg.total_steps - cfg.warmup_steps)
    return cfg.lr * max(0.0, 1.0 - frac)


def _init_from_run(model, cfg: PretrainConfig):
    """Copy the weights of the run in ``cfg.init_from`` (its last checkpoint) into ``model``.

    The position embeddings follow this run's ``position_init``: with ``sinusoidal`` they keep the
    encodings :func:`build_model` set; with ``random`` they are copied too. The optimizer and the
    learning-rate schedule start afresh (appendix "The stand-in BERT", section "How it was
    trained").
    """
    earlier = torch.load(Path(cfg.init_from) / "ckpt.pt", weights_only=False)["model"]
    state = model.state_dict()
    if set(earlier) != set(state) or any(earlier[k].shape != v.shape for k, v in state.items()):
        raise ValueError(f"the run in {cfg.init_from} has a different architecture")
    keep = (
        {"bert.embeddings.position_embeddings.weight"}
        if cfg.position_init == "sinusoidal"
        else set()
    )
    model.load_state_dict({k: (state[k] if k in keep else earlier[k]) for k in state})


def train(cfg: PretrainConfig, stop_after: int | None = None, progress: bool = True):  # noqa: PLR0915
    # one training loop with its resumption and logging, kept whole to read as the appendix shows it
    """Run (or resume) pretraining; ``stop_after`` halts early (to test resumption)."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    tok = load_tokenizer(cfg)
    cache = out / f"blocks_{cfg.max_len}.npz"
    if cache.exists():
        z = np.load(cache)
        train_blocks, held_blocks = z["train"], z["heldout"]
    else:
        train_blocks = make_blocks(Path(cfg.corpus) / "train.txt", tok, cfg.max_len)
        held_blocks = make_blocks(Path(cfg.corpus) / "heldout.txt", tok, cfg.max_len)
        np.savez(cache, train=train_blocks, heldout=held_blocks)
    if cfg.max_train_blocks:
        train_blocks = train_blocks[: cfg.max_train_blocks]
    n = len(train_blocks)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))

    model = build_model(cfg, len(tok))
    trained = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trained if p.ndim >= 2]
    no_decay = [p for p in trained if p.ndim < 2]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=cfg.lr,
        betas=(0.9, 0.98),
        eps=1e-6,
    )
    step = 0
    ckpt = out / "ckpt.pt"
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        torch.set_rng_state(state["torch_rng"])
    else:
        if cfg.init_from:
            _init_from_run(model, cfg)
        torch.manual_seed(cfg.seed + 1)
    model.train()
    log = open(out / "log.jsonl", "a")
    bar = tqdm(total=cfg.total_steps, initial=step, disable=not progress, desc="MLM pretraining")
    run_loss, run_correct, run_n, t0, run_tokens = 0.0, 0, 0, time.time(), 0
    while step < cfg.total_steps:
        idx = np.arange(step * cfg.batch_size, (step + 1) * cfg.batch_size)
        epochs, pos = idx // n, idx % n
        rows = (
            [
                np.random.default_rng(cfg.seed + int(e)).permutation(n)[p]
                for e, p in zip(epochs, pos)
            ]
            if epochs[0] != epochs[-1]
            else np.random.default_rng(cfg.seed + int(epochs[0])).permutation(n)[pos]
        )
        ids = torch.from_numpy(train_blocks[np.asarray(rows)].astype(np.int64))
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
        inputs, chosen, labels = mask_tokens(ids, tok, cfg.mask_prob, gen)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            loss, correct = mlm_step_loss(model, inputs, chosen, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        bar.update(1)
        run_loss += loss.item() * len(labels)
        run_correct += correct
        run_n += len(labels)
        run_tokens += ids.numel()
        if step % cfg.log_every == 0 or step == cfg.total_steps:
            dt = time.time() - t0
            rec = {
                "step": step,
                "loss": run_loss / run_n,
                "acc": run_correct / run_n,
                "lr": lr_at(step - 1, cfg),
                "tokens_per_s": run_tokens / dt,
                "epoch": step * cfg.batch_size / n,
                "time": time.time(),
            }
            if step % cfg.eval_every == 0 or step == cfg.total_steps:
                rec["heldout_loss"], rec["heldout_acc"] = evaluate(model, held_blocks, tok, cfg)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            bar.set_postfix(loss=f"{rec['loss']:.3f}", acc=f"{rec['acc']:.3f}")
            run_loss, run_correct, run_n, t0, run_tokens = 0.0, 0, 0, time.time(), 0
        if step % cfg.ckpt_every == 0 or step == cfg.total_steps:
            with files.atomic_write(ckpt) as f:
                torch.save(
                    {
                        "model": model.state_dict(),
                        "opt": opt.state_dict(),
                        "step": step,
                        "torch_rng": torch.get_rng_state(),
                    },
                    f,
                )
        if stop_after is not None and step >= stop_after:
            break
    bar.close()
    return model


def export(run_dir: str, dest: str, dtype=torch.float16):
    """Write the trained model as a Hugging Face folder (safetensors, config, tokenizer).

    The training log, the run's settings, the corpus manifest and the run's ``NOTES.md``
    (appended to
    the model card) travel with it.
    """
    cfg = PretrainConfig(**json.loads((Path(run_dir) / "config.json").read_text()))
    tok = load_tokenizer(cfg)
    model = build_model(cfg, len(tok))
    state = torch.load(Path(run_dir) / "ckpt.pt", weights_only=False)
    model.load_state_dict(state["model"])
    model.to(dtype).save_pretrained(dest)
    tok.save_pretrained(dest)
    # weights are stored in half precision to fit the repository; loaders compute in float32
    conf = Path(dest) / "config.json"
    c = json.loads(conf.read_text())
    c["dtype"] = "float32"
    conf.write_text(json.dumps(c, indent=2, sort_keys=True) + "\n")
    # the training log and the corpus manifest travel with the checkpoint (the appendix plots them);
    # a run started --init-from another brings that run's log, settings and notes along, as stages
    stages, offset, records, notes = [], 0, {}, ""
    for run in _stage_runs(Path(run_dir)):
        last = (
            state["step"]
            if run == Path(run_dir)
            else torch.load(run / "ckpt.pt", weights_only=False)["step"]
        )
        for line in open(run / "log.jsonl"):
            rec = json.loads(line)
            if (
                "step" in rec and rec["step"] <= last
            ):  # after a resume, the re-run steps replace the first ones
                records[offset + rec["step"]] = {
                    **rec,
                    "step": offset + rec["step"],
                    "stage": len(stages) + 1,
                }
        stages.append({**json.loads((run / "config.json").read_text()), "steps": last})
        notes += (run / "NOTES.md").read_text() if (run / "NOTES.md").exists() else ""
        offset += last
    if len(stages) > 1:  # each run's notes are headed "## Notes on this run"
        parts = notes.split("## Notes on this run")
        notes = parts[0] + "".join(
            f"## Notes on stage {i}{part}" for i, part in enumerate(parts[1:], 1)
        )
    with open(Path(dest) / "training_log.jsonl", "w") as f:
        for step in sorted(records):
            f.write(json.dumps(records[step]) + "\n")
    (Path(dest) / "pretraining_config.json").write_text((Path(run_dir) / "config.json").read_text())
    (Path(dest) / "pretraining_stages.json").write_text(json.dumps(stages, indent=2) + "\n")
    manifest = Path(cfg.corpus) / "manifest.json"
    if manifest.exists():
        (Path(dest) / "corpus_manifest.json").write_text(manifest.read_text())
    from aniso.standin.model_card import model_card

    n_params = sum(p.numel() for p in model.parameters())
    (Path(dest) / "MODEL_CARD.md").write_text(model_card(Path(dest), n_params) + notes)
    return dest


def _stage_runs(run: Path) -> list[Path]:
    """The run folders behind ``run``, earliest first, following ``init_from``."""
    chain = [run]
    while init := json.loads((chain[0] / "config.json").read_text()).get("init_from"):
        chain.insert(0, Path(init))
    return chain


def main(argv=None):
    ap = argparse.ArgumentParser(description="Pretrain the stand-in BERT with MLM.")
    for f in fields(PretrainConfig):
        if isinstance(f.default, bool):  # --bf16 / --no-bf16
            ap.add_argument(
                "--" + f.name.replace("_", "-"),
                action=argparse.BooleanOptionalAction,
                default=f.default,
            )
        else:
            ap.add_argument(
                "--" + f.name.replace("_", "-"), type=type(f.default), default=f.default
            )
    ap.add_argument("--export", default=None, help="export the run in --out to this folder")
    args = vars(ap.parse_args(argv))
    dest = args.pop("export")
    cfg = PretrainConfig(**args)
    if dest:
        print(export(cfg.out, dest))
    else:
        train(cfg)


if __name__ == "__main__":
    main()
