"""``aniso-eval``: STS evaluation and an isotropy report of any encoder in one command.

Introduced in chapter "The problem". Examples::

    aniso-eval --model all-MiniLM-L6-v2 --pooling mean --tasks stsb,sickr
    aniso-eval --model mini-bert --pooling first_last_avg --tasks all --isotropy
    aniso-eval --model glove --tasks stsb --json

Bad arguments (unknown model, pooling or task, missing data directory) give
one clear error line and exit code 2.
"""
from __future__ import annotations

import argparse
import json
import sys

from . import data as data_mod
from .encoders import POOLINGS, EncoderError, load_encoder
from .evaluation import evaluate_sts, parse_tasks, results_table


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="aniso-eval",
        description="Evaluate a sentence encoder on STS (cosine, Spearman x100, SentEval/SimCSE "
                    "protocol) and optionally report how anisotropic its embeddings are.")
    ap.add_argument("--model", required=True,
                    help="short name (all-MiniLM-L6-v2, glove, mini-bert), a local model folder, "
                         "or a Hugging Face hub id")
    ap.add_argument("--pooling", default="mean", choices=POOLINGS, help="sentence pooling (default: mean)")
    ap.add_argument("--tasks", default="stsb",
                    help=f"comma-separated, from {','.join(data_mod.TASKS)}, or 'all' (default: stsb)")
    ap.add_argument("--data-dir", default=None,
                    help="folder with the data sets (default: $ANISO_DATA_DIR, else the user cache)")
    ap.add_argument("--postprocess", default="none", choices=("none",),
                    help="post-processing of the embeddings before scoring")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--isotropy", action="store_true",
                    help="also report average cosine, IsoScore, effective rank, alignment and "
                         "uniformity on the STS-B test sentences")
    ap.add_argument("--json", action="store_true", help="print JSON instead of tables")
    return ap


def isotropy_on_stsb(encoder, pooling: str, data_dir=None) -> dict:
    """Isotropy report on STS-B test: positive pairs are pairs with gold score > 4 (SimCSE Fig. 2).

    Chapter "The problem".
    """
    from .metrics import isotropy_report
    task = data_mod.load_task("stsb", data_dir=data_dir)
    emb = encoder.encode(task.sentences1 + task.sentences2, pooling=pooling)
    n = len(task)
    pos = task.scores > 4
    return isotropy_report(emb, pairs=(emb[:n][pos], emb[n:][pos]))


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.batch_size < 1:
        ap.error("--batch-size must be a positive integer")
    try:
        tasks = parse_tasks(args.tasks)
        data_mod.resolve_data_dir(args.data_dir)
        encoder = load_encoder(args.model)
        if args.pooling not in encoder.poolings:
            ap.error(f"pooling {args.pooling!r} does not apply to {encoder.name}; "
                     f"choose one of {list(encoder.poolings)}")
        results = evaluate_sts(encoder, tasks, pooling=args.pooling, data_dir=args.data_dir,
                               batch_size=args.batch_size)
        report = isotropy_on_stsb(encoder, args.pooling, args.data_dir) if args.isotropy else None
    except (EncoderError, data_mod.DataError, ValueError) as e:
        ap.error(str(e))
    label = f"{encoder.name} ({args.pooling})"
    if args.json:
        print(json.dumps({"model": encoder.name, "pooling": args.pooling, "results": results,
                          "isotropy": report}, indent=2))
        return 0
    for setting in ("all", "wmean"):
        print(f"\nSpearman x100, setting '{setting}'")
        print(results_table({label: results}, setting=setting).to_string())
    if report is not None:
        print("\nIsotropy on STS-B test sentences (positive pairs: gold score > 4)")
        for k, v in report.items():
            print(f"  {k:>16}: {v:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
