"""``aniso-eval``: STS evaluation and an isotropy report of any encoder in one command.

Introduced in chapter "The problem". Examples::

    aniso-eval --model all-MiniLM-L6-v2 --pooling mean --tasks stsb,sickr
    aniso-eval --model mini-bert --pooling emb_last_avg --tasks all --isotropy
    aniso-eval --model glove --tasks stsb --json
    aniso-eval --model mini-bert --pooling emb_last_avg --tasks all --postprocess whiten

``--postprocess`` (chapter "BERT-flow and its rivals") fits centering,
all-but-the-top, whitening (``whiten``, or ``whiten-k`` with ``--whiten-k K``)
or a normalizing flow on the unlabeled sentences of each evaluated task's whole
data set (the papers' "target" setting: STS-B train+dev+test, SICK train+trial+
test, the STS12-16 year) and scores the transformed embeddings.

The SimCSE command line, ``python -m aniso.contrastive``, is :func:`simcse` (chapter "SimCSE").

Bad arguments (unknown model, pooling or task, missing data directory) give
one clear error line and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from aniso.data import tasks as data_mod
from aniso.data.datadir import DataError, resolve_data_dir
from aniso.encoders.models import POOLINGS, RENAMED_POOLINGS, EncoderError, load_encoder
from aniso.evaluation.sts import evaluate_sts, parse_tasks, results_table
from aniso.postprocess.transforms import fit_on_sentences, make_postprocessor, target_sentences

POSTPROCESS_CHOICES = ("none", "center", "standardize", "abtt", "whiten", "whiten-k", "flow")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="aniso-eval",
        description="Evaluate a sentence encoder on STS (cosine, Spearman x100, SentEval/SimCSE "
        "protocol) and optionally report how anisotropic its embeddings are.",
    )
    ap.add_argument(
        "--model",
        required=True,
        help="short name (all-MiniLM-L6-v2, glove, mini-bert), a local model folder, "
        "or a Hugging Face hub id",
    )
    ap.add_argument(
        "--pooling",
        default="mean",
        help=f"sentence pooling, one of {', '.join(POOLINGS)} (default: mean)",
    )
    ap.add_argument(
        "--tasks",
        default="stsb",
        help=f"comma-separated, from {','.join(data_mod.TASKS)}, or 'all' (default: stsb)",
    )
    ap.add_argument(
        "--data-dir",
        default=None,
        help="folder with the data sets (default: $ANISO_DATA_DIR, else the user cache)",
    )
    ap.add_argument(
        "--postprocess",
        default="none",
        choices=POSTPROCESS_CHOICES,
        help="post-processing fitted on each task's unlabeled sentences (target setting) "
        "before scoring (default: none)",
    )
    ap.add_argument(
        "--whiten-k",
        type=int,
        default=None,
        help="dimensions kept by --postprocess whiten-k (Su et al. use 256 of 768)",
    )
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument(
        "--isotropy",
        action="store_true",
        help="also report average cosine, IsoScore, effective rank, alignment and "
        "uniformity on the STS-B test sentences",
    )
    ap.add_argument("--json", action="store_true", help="print JSON instead of tables")
    return ap


def isotropy_on_stsb(encoder, pooling: str, data_dir=None, transform=None) -> dict:
    """Isotropy report on STS-B test: positive pairs are pairs with gold score > 4 (SimCSE Fig. 2).

    ``transform`` (e.g. a fitted post-processor) is applied to the embeddings
    first. Chapter "The problem".
    """
    from aniso.geometry.metrics import isotropy_report

    task = data_mod.load_task("stsb", data_dir=data_dir)
    emb = encoder.encode(task.sentences1 + task.sentences2, pooling=pooling)
    if transform is not None:
        emb = transform(emb)
    n = len(task)
    pos = task.scores > 4
    return isotropy_report(emb, pairs=(emb[:n][pos], emb[n:][pos]))


def main(argv=None) -> int:  # noqa: C901, PLR0912  (one branch per option of the command line)
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.pooling in RENAMED_POOLINGS:
        ap.error(
            f"--pooling {args.pooling} was renamed because 'first' was ambiguous; "
            f"use {RENAMED_POOLINGS[args.pooling]}"
        )
    if args.pooling not in POOLINGS:
        ap.error(f"unknown --pooling {args.pooling!r}; choose one of {', '.join(POOLINGS)}")
    if args.batch_size < 1:
        ap.error("--batch-size must be a positive integer")
    if args.whiten_k is not None and args.postprocess != "whiten-k":
        ap.error("--whiten-k only applies to --postprocess whiten-k")
    if args.postprocess == "whiten-k" and (args.whiten_k is None or args.whiten_k < 1):
        ap.error("--postprocess whiten-k needs --whiten-k K, a positive number of kept dimensions")
    try:
        tasks = parse_tasks(args.tasks)
        resolve_data_dir(args.data_dir)
        encoder = load_encoder(args.model)
        if args.pooling not in encoder.poolings:
            ap.error(
                f"pooling {args.pooling!r} does not apply to {encoder.name}; "
                f"choose one of {list(encoder.poolings)}"
            )
        results, posts = {}, {}
        for task in tasks:  # one post-processor per task, fitted on that task's unlabeled sentences
            post = make_postprocessor(args.postprocess, k=args.whiten_k)
            if post is not None:
                fit_on_sentences(
                    post,
                    encoder,
                    target_sentences(task, args.data_dir),
                    args.pooling,
                    batch_size=args.batch_size,
                )
                posts[task] = post
            results.update(
                evaluate_sts(
                    encoder,
                    [task],
                    pooling=args.pooling,
                    data_dir=args.data_dir,
                    transform=post,
                    batch_size=args.batch_size,
                )
            )
        report = None
        if args.isotropy:
            post = posts.get("stsb")
            if args.postprocess != "none" and post is None:
                post = fit_on_sentences(
                    make_postprocessor(args.postprocess, k=args.whiten_k),
                    encoder,
                    target_sentences("stsb", args.data_dir),
                    args.pooling,
                    batch_size=args.batch_size,
                )
            report = isotropy_on_stsb(encoder, args.pooling, args.data_dir, transform=post)
    except (EncoderError, DataError, ValueError) as e:
        ap.error(str(e))
    label = f"{encoder.name} ({args.pooling})"
    if args.postprocess != "none":
        label += f" + {args.postprocess}" + (f" {args.whiten_k}" if args.whiten_k else "")
    if args.json:
        print(
            json.dumps(
                {
                    "model": encoder.name,
                    "pooling": args.pooling,
                    "postprocess": args.postprocess,
                    "whiten_k": args.whiten_k,
                    "results": results,
                    "isotropy": report,
                },
                indent=2,
            )
        )
        return 0
    if args.postprocess != "none":
        print(
            f"post-processing '{args.postprocess}' fitted per task on its unlabeled sentences "
            "(target setting: all splits, no scores)"
        )
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
