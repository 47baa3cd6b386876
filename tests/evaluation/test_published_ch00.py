"""Chapter 0 ("The problem"): sentences of the prose that compare published numbers only.

They are transcription checks of `aniso.evaluation.papers`, so they live here rather than in the
chapter's execution.
"""

from aniso.evaluation.papers import PAPER_NUMBERS


def test_sbert_table1_cls_below_averaged_bert_below_glove():
    """SBERT Table 1: on STS-B, [CLS] < averaged BERT < averaged GloVe"""
    paper = {
        key: PAPER_NUMBERS["SBERT Table 1", row]["stsb"]
        for key, row in [
            ("glove", "Avg. GloVe embeddings"),
            ("bert_avg", "Avg. BERT embeddings (bert-base)"),
            ("bert_cls", "BERT CLS-vector (bert-base)"),
        ]
    }
    assert paper["bert_cls"] < paper["bert_avg"] < paper["glove"]
