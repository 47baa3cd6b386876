"""Chapter 7 ("Conclusion"): sentences of the prose that compare published numbers only.

They are transcription checks of `aniso.evaluation.papers`, so they live here rather than in the
chapter's execution.
"""

import numpy as np

from aniso.evaluation.papers import PAPER_NUMBERS


def test_bert_first_last_average_below_the_papers_glove():
    """bert-base's first-last average is below the paper's GloVe"""
    P = {k: np.mean(list(v.values())) for k, v in PAPER_NUMBERS.items()}
    assert (
        P["SimCSE Table 5", "BERT-base (first-last avg.)"]
        < P["SimCSE Table 5", "GloVe embeddings (avg.)"]
    )
