"""Evaluation: STS scoring the SentEval/SimCSE way, the alignment-uniformity probe, the
contextuality measures and the papers' published numbers (chapter "The problem" and on)."""

from aniso.evaluation.sts import (  # the public names of :mod:`aniso.evaluation.sts`
    RAW_POOLINGS,
    TASK_LABELS,
    DevProbe,
    best_raw_pooling,
    encode_many,
    evaluate_many,
    evaluate_sts,
    pair_cosines,
    parse_tasks,
    pretext_stats,
    results_table,
    score_task,
    spearman_x100,
)

__all__ = [
    "RAW_POOLINGS",
    "TASK_LABELS",
    "DevProbe",
    "best_raw_pooling",
    "encode_many",
    "evaluate_many",
    "evaluate_sts",
    "pair_cosines",
    "parse_tasks",
    "pretext_stats",
    "results_table",
    "score_task",
    "spearman_x100",
]
