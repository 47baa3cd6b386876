"""The timed slice of the paper run for scripts/gpu_check.sh (see there).

Unsupervised SimCSE with the paper's settings (batch 64, lr 3e-5, 32 tokens, [CLS] with the MLP
head in training, temperature 0.05) at bert-base size: BertConfig() (12 layers, 768 wide, randomly
initialised, since the hub is unreachable on the GPU machine) with the stand-in's tokenizer, on
the wiki1m head. Writes steps/s, peak GPU memory and STS-B dev at the end to --out (JSON). Without
CUDA it writes {"gpu": null, ...} with the reason, prints it, and exits 0.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--smoke-rc", default="skipped")
    p.add_argument("--smoke-seconds", type=float, default=0.0)
    a = p.parse_args(argv)
    import torch

    report = {
        "smoke": {"exit_code": a.smoke_rc, "seconds": a.smoke_seconds},
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    if not torch.cuda.is_available():
        report["gpu"] = None
        report["slice"] = (
            "skipped: no CUDA device on this machine (torch.cuda.is_available() is False)"
        )
        a.out.write_text(json.dumps(report, indent=1) + "\n")
        print(
            "gpu_check: NO GPU on this machine: the timed slice is skipped "
            f"(smoke part: {a.smoke_rc}); report in {a.out}"
        )
        return 0
    from transformers import BertConfig, BertForMaskedLM

    from aniso.contrastive.trainer import paper_config, train_simcse
    from aniso.encoders.models import mini_bert_path
    from aniso.util.devices import precision

    report["gpu"] = torch.cuda.get_device_name(0)
    with tempfile.TemporaryDirectory(prefix="bert-base-random-") as tmp:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(mini_bert_path()))
        torch.manual_seed(0)
        BertForMaskedLM(BertConfig(vocab_size=tok.vocab_size)).save_pretrained(tmp)
        tok.save_pretrained(tmp)
        config = paper_config(
            model=tmp,
            sentences="wiki1m",
            max_steps=a.steps,
            eval_every=max(a.steps // 2, 1),
            output_dir=str(Path(tmp) / "run"),
        )
        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        run = train_simcse(config, force=True, progress=True)
        secs = time.perf_counter() - start
        evals = run.evals
    report["slice"] = {
        "model": "BertConfig() (bert-base size), random init, stand-in tokenizer",
        "steps": a.steps,
        "batch_size": config.batch_size,
        "precision": [k for k, v in precision().items() if v] or ["fp32"],
        "seconds": round(secs, 1),
        "steps_per_second": round(a.steps / secs, 2),
        "peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
        "stsb_dev_end": float(evals["spearman"].iloc[-1]) if len(evals) else None,
        "evals": evals.to_dict("records") if len(evals) else [],
    }
    a.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report["slice"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
