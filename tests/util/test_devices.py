"""Where the computation runs (aniso.util.devices): CUDA when present, the CPU exactly as before
otherwise; mixed precision only on a GPU; gloo for torchrun on the CPU."""

import torch

from aniso.encoders.models import TransformerEncoder
from aniso.util import devices


def _cuda(monkeypatch, available: bool, bf16: bool = True):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)


def test_cpu_full_precision_and_no_distributed_args(monkeypatch):
    _cuda(monkeypatch, False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert devices.default_device() == "cpu"
    assert devices.precision() == {"bf16": False, "fp16": False}
    assert devices.distributed_args() == {}
    monkeypatch.setenv("WORLD_SIZE", "2")  # torchrun on the CPU: gloo, and accelerate's MULTI_CPU
    assert devices.distributed_args() == {"use_cpu": True, "ddp_backend": "gloo"}
    devices.barrier()  # no process group: nothing to wait for


def test_gpu_mixed_precision_and_default_backend(monkeypatch):
    monkeypatch.setattr(devices, "_CPU_ONLY", [False])
    _cuda(monkeypatch, True, bf16=True)
    assert devices.default_device() == "cuda"
    assert devices.precision() == {"bf16": True, "fp16": False}
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert devices.distributed_args() == {}  # NCCL, the trainer's default
    _cuda(monkeypatch, True, bf16=False)
    assert devices.precision() == {"bf16": False, "fp16": True}


def test_encoder_is_placed_on_the_default_device(monkeypatch, tiny_bert):
    moved = []
    monkeypatch.setattr(
        "aniso.encoders.models.default_device", lambda: moved.append("cuda-or-cpu") or "cpu"
    )
    enc = TransformerEncoder.from_path(str(tiny_bert))
    assert moved and next(enc.model.parameters()).device.type == "cpu"
    emb = enc.encode(["a sentence", "another one here"], pooling="cls", cache=False)
    assert emb.dtype.name == "float32" and emb.shape == (2, 32)


def test_cpu_only_keeps_the_quick_profile_off_a_gpu(monkeypatch):
    """The quick profile (start_chapter) pins the CPU even where a GPU is present."""
    monkeypatch.setattr(devices, "_CPU_ONLY", [False])
    _cuda(monkeypatch, True, bf16=True)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    devices.cpu_only()
    assert devices.default_device() == "cpu"
    assert devices.precision() == {"bf16": False, "fp16": False}
    assert devices.distributed_args() == {"use_cpu": True}  # or the trainer takes the GPU
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert devices.distributed_args() == {"use_cpu": True, "ddp_backend": "gloo"}
    devices.cpu_only(False)
    assert devices.default_device() == "cuda"


def test_start_chapter_pins_the_cpu_in_the_quick_profile_only(monkeypatch):
    from aniso.book import chapter as book

    monkeypatch.setattr(devices, "_CPU_ONLY", [False])
    _cuda(monkeypatch, True)
    book.start_chapter("quick", "0. Test", threads="one")
    assert devices.default_device() == "cpu"
    book.start_chapter("paper", "0. Test", threads="one")
    assert devices.default_device() == "cuda"
