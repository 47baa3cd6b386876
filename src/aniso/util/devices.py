"""Where the computation runs: a GPU when there is one, several processes under ``torchrun``.

Introduced in the chapter "How to run". The quick profile runs on the CPU on every machine,
GPU or not (:func:`cpu_only`, set by :func:`aniso.book.start_chapter`), so that a reader's
numbers are the book's: on a GPU, dropout masks come from CUDA's generator and reductions run
in another order, and a SimCSE run would become another seed. The paper profile meets a GPU in
Colab or on a cluster:

* :func:`cpu_only`: keep this process on the CPU even where a GPU is present;
* :func:`default_device`: where :class:`aniso.encoders.TransformerEncoder` puts a model;
* :func:`precision`: the trainer's mixed precision (bf16 or fp16 on a GPU, never on the CPU);
* :func:`distributed_args` and :func:`barrier`: the process group of a ``torchrun`` run of
  :func:`aniso.contrastive.train_simcse` (gloo on the CPU, NCCL on GPUs).
"""

from __future__ import annotations

import os

__all__ = ["cpu_only", "default_device", "precision", "distributed_args", "barrier"]

_CPU_ONLY = [False]  # set by cpu_only()


def cpu_only(on: bool = True) -> None:
    """Keep every model and trainer of this process on the CPU (``on=True``), or let them use a
    GPU when there is one (``on=False``, the default state). Chapter "How to run": the quick
    profile sets it (:func:`aniso.book.start_chapter`)."""
    _CPU_ONLY[0] = bool(on)


def default_device() -> str:
    """``"cuda"`` when PyTorch sees a GPU and :func:`cpu_only` is off, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() and not _CPU_ONLY[0] else "cpu"


def precision() -> dict:
    """The trainer's mixed precision as ``TrainingArguments`` fields: ``bf16`` on a GPU that
    supports it, else ``fp16`` on a GPU; full precision (float32) on the CPU, always."""
    import torch

    if default_device() == "cpu":
        return {"bf16": False, "fp16": False}
    bf16 = bool(torch.cuda.is_bf16_supported())
    return {"bf16": bf16, "fp16": not bf16}


def distributed_args() -> dict:
    """``TrainingArguments`` fields for a ``torchrun`` run: none on GPUs (the trainer's defaults,
    NCCL) or in a single process; on the CPU ``use_cpu=True`` and the ``gloo`` backend. Without
    them the trainer on the CPU (accelerate 1.15) sees no distributed run: every process believes
    it is the only one, trains alone on all the data and writes into the same run folder."""
    import torch

    several = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if default_device() == "cuda":
        return {}
    if not several:  # one process: the trainer would still move to a GPU it sees
        return {"use_cpu": True} if torch.cuda.is_available() else {}
    return {"use_cpu": True, "ddp_backend": "gloo"}


def barrier() -> None:
    """Wait for every process of a ``torchrun`` run (a no-op in a single process)."""
    import torch

    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
