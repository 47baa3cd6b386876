"""Transcription checks of chapter 7 ("Reproducing the numbers"): claims about published numbers
only, moved out of the notebook (they compare constants of aniso.evaluation.papers, nothing
that an execution computes)."""

import numpy as np

from aniso.data import TASKS
from aniso.evaluation.papers import SIMCSE_TABLE_B2

SEMEVAL = list(TASKS)[:5]  # STS12-16, as the chapter takes them


def b2_avg(row, setting):
    return np.mean([SIMCSE_TABLE_B2[row, setting][t] for t in SEMEVAL])


def test_published_sbert_higher_in_all_target_whitening_much_higher_in_wmean():
    """the published SBERT row is higher in all, target whitening much higher in wmean"""
    assert b2_avg("SBERT", "all") > b2_avg("SBERT", "wmean")
    assert b2_avg("BERT-whitening (target)", "wmean") > b2_avg("BERT-whitening (target)", "all") + 3
