"""``python -m aniso.contrastive``: one contrastive run from the command line.

Introduced in chapter "SimCSE" (notebooks/04_simcse.ipynb). Also under ``torchrun
--nproc_per_node N -m aniso.contrastive`` or ``accelerate launch -m aniso.contrastive``.
"""

from __future__ import annotations

import argparse
import json
import os

from aniso.contrastive import trainer


def simcse(argv=None) -> None:
    """``python -m aniso.contrastive --profile paper``: one SimCSE run from the command line
    (chapter "SimCSE"; also under ``torchrun --nproc_per_node N`` or ``accelerate launch``).

    ``--profile`` picks the quick or the paper configuration; every other option overrides one
    field of it, and nothing else changes the run (the book's smoke profile is ``--profile paper
    --model mini-bert --sentences wiki1m --max-steps 4 --eval-every 2 --log-every 1``).
    ``--interrupt-at STEP`` stops after STEP steps with a checkpoint, as an interruption would;
    the same command without it resumes from there.
    """
    p = argparse.ArgumentParser(prog="python -m aniso.contrastive", description=simcse.__doc__)
    p.add_argument("--profile", choices=["quick", "paper"], default="quick")
    p.add_argument("--model", help="override the profile's model (short name, folder or hub id)")
    p.add_argument(
        "--sentences", help="override the sentence source (wiki1m, enwiki, wiki1m-full, a file)"
    )
    p.add_argument("--n-sentences", type=int)
    p.add_argument("--batch-size", type=int, help="per process (the global batch is N times it)")
    p.add_argument("--max-steps", type=int)
    p.add_argument("--eval-every", type=int, help="STS-B dev every this many steps")
    p.add_argument("--log-every", type=int, help="record the training loss every this many steps")
    p.add_argument("--positive", choices=["dropout", "no_dropout", "delete_word"])
    p.add_argument("--objective", choices=["infonce", "align_uniform"])
    p.add_argument("--supervised", choices=["sick"])
    p.add_argument("--output-dir", help="run folder (default: the cache, keyed by the config)")
    p.add_argument("--force", action="store_true", help="retrain even if a finished run is cached")
    p.add_argument(
        "--interrupt-at",
        type=int,
        metavar="STEP",
        help="stop after STEP steps, keeping a checkpoint to resume from",
    )
    a = p.parse_args(argv)
    config = trainer.paper_config() if a.profile == "paper" else trainer.quick_config()
    given = dict(
        model=a.model,
        sentences=a.sentences,
        n_sentences=a.n_sentences,
        batch_size=a.batch_size,
        max_steps=a.max_steps,
        eval_every=a.eval_every,
        log_every=a.log_every,
        positive=a.positive,
        objective=a.objective,
        supervised=a.supervised,
        output_dir=a.output_dir,
    )
    changes = {k: v for k, v in given.items() if v is not None}
    stop = [trainer.StopAfter(a.interrupt_at, interrupt=True)] if a.interrupt_at else []
    run = trainer.train_simcse(
        config.replace(**changes), force=a.force, progress=True, callbacks=stop
    )
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps({"run_dir": str(run.dir), **run.summary}, indent=1))
        if len(run.evals):
            print(run.evals.to_string(index=False))


if __name__ == "__main__":
    simcse()
