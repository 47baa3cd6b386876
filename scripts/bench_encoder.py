"""Throughput of the book's encoder against SentenceTransformer.encode (not a timed test).

Encodes the same 2,000 STS-B sentences with ``aniso.encoders.models`` and with
``sentence_transformers.SentenceTransformer.encode`` on the same model and
pooling (all-MiniLM-L6-v2, mean pooling, batch 64, no normalisation), checks
that the vectors agree, and prints sentences/s for each and the ratio
(goal: at least 1.0).

    ANISO_DATA_DIR=../shared/data python scripts/bench_encoder.py
"""

import argparse
import time

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from sentence_transformers import SentenceTransformer

    from aniso.data import tasks as data
    from aniso.encoders.models import load_encoder, minilm_path

    train = data.load_stsb("train")
    sentences = (train.sentences1 + train.sentences2)[: args.n]
    ours = load_encoder("all-MiniLM-L6-v2")
    st = SentenceTransformer(minilm_path(), device="cpu")
    # transformer + mean pooling, no Normalize
    st_modules = torch.nn.Sequential(*list(st.children())[:2])
    st_plain = SentenceTransformer(modules=list(st_modules), device="cpu")
    print(f"{len(sentences)} sentences, batch {args.batch_size}, {torch.get_num_threads()} threads")

    def timed(fn):
        best = float("inf")
        for _ in range(args.repeats):
            t = time.perf_counter()
            out = fn()
            best = min(best, time.perf_counter() - t)
        return out, best

    a, t_ours = timed(
        lambda: ours.encode(
            sentences, pooling="mean", batch_size=args.batch_size, cache=False, show_progress=False
        )
    )
    b, t_st = timed(
        lambda: st_plain.encode(sentences, batch_size=args.batch_size, show_progress_bar=False)
    )
    print(f"max |difference| of the vectors: {np.abs(a - b).max():.2e}")
    print(f"aniso.encoders.models          : {len(sentences) / t_ours:8.1f} sentences/s")
    print(f"SentenceTransformer     : {len(sentences) / t_st:8.1f} sentences/s")
    print(f"ratio (ours / ST)       : {t_st / t_ours:8.2f}")


if __name__ == "__main__":
    main()
