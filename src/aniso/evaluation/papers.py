"""The papers' published numbers, in one place (used from chapter "The problem" on).

* :data:`PAPER_NUMBERS`: Spearman x 100 on the STS test sets, one row per
  (source table, method), as printed in each paper; :data:`PAPER_SETTINGS`
  says which STS12-16 setting ("all" or "wmean", see :mod:`aniso.evaluation.sts`)
  each source used. :func:`aniso.evaluation.results_table` puts them beside ours.
* :data:`PAPER_SIMCSE`: the SimCSE numbers that are not rows of a test-set
  table (dev-set ablations, the supervised model).
* :data:`SIMCSE_TABLE_B2`: SimCSE's reproductions of SBERT and BERT-whitening in both settings.
* :data:`BERT_FLOW_TABLE1`: Li et al. (2020), Table 1, the token embeddings of
  bert-base-uncased by frequency rank (chapter "BERT-flow and whitening").
* :data:`ETHAYARAJH_BERT_BASELINE`, :data:`PROMPTBERT_ANISOTROPY`, :data:`PROMPTBERT_TABLE1`,
  :data:`PROMPTBERT_TABLE3` and :data:`ESIMCSE_TABLE1`: later work on anisotropy and on SimCSE's
  biases (chapter "Reproducing the numbers").
"""

from __future__ import annotations

__all__ = [
    "PAPER_NUMBERS",
    "PAPER_SETTINGS",
    "PAPER_SIMCSE",
    "SIMCSE_TABLE_B2",
    "BERT_FLOW_TABLE1",
    "ETHAYARAJH_BERT_BASELINE",
    "PROMPTBERT_ANISOTROPY",
    "PROMPTBERT_TABLE1",
    "PROMPTBERT_TABLE3",
    "ESIMCSE_TABLE1",
]

# Published Spearman x 100 on the test sets, as printed in each paper.
# (source, row) -> {task: value}
PAPER_NUMBERS: dict[tuple[str, str], dict[str, float]] = {
    ("SBERT Table 1", "Avg. GloVe embeddings"): dict(
        sts12=55.14, sts13=70.66, sts14=59.73, sts15=68.25, sts16=63.66, stsb=58.02, sickr=53.76
    ),
    ("SBERT Table 1", "Avg. BERT embeddings (bert-base)"): dict(
        sts12=38.78, sts13=57.98, sts14=57.98, sts15=63.15, sts16=61.06, stsb=46.35, sickr=58.40
    ),
    ("SBERT Table 1", "BERT CLS-vector (bert-base)"): dict(
        sts12=20.16, sts13=30.01, sts14=20.09, sts15=36.88, sts16=38.08, stsb=16.50, sickr=42.63
    ),
    ("SBERT Table 1", "SBERT-NLI-base"): dict(
        sts12=70.97, sts13=76.53, sts14=73.19, sts15=79.09, sts16=74.30, stsb=77.03, sickr=72.91
    ),
    ("SimCSE Table 5", "GloVe embeddings (avg.)"): dict(
        sts12=55.14, sts13=70.66, sts14=59.73, sts15=68.25, sts16=63.66, stsb=58.02, sickr=53.76
    ),
    ("SimCSE Table 5", "BERT-base (first-last avg.)"): dict(
        sts12=39.70, sts13=59.38, sts14=49.67, sts15=66.03, sts16=66.19, stsb=53.87, sickr=62.06
    ),
    ("SimCSE Table 5", "BERT-base-flow"): dict(
        sts12=58.40, sts13=67.10, sts14=60.85, sts15=75.16, sts16=71.22, stsb=68.66, sickr=64.47
    ),
    ("SimCSE Table 5", "BERT-base-whitening"): dict(
        sts12=57.83, sts13=66.90, sts14=60.90, sts15=75.08, sts16=71.31, stsb=68.24, sickr=63.73
    ),
    ("SimCSE Table 5", "Unsup-SimCSE-BERT-base"): dict(
        sts12=68.40, sts13=82.41, sts14=74.38, sts15=80.91, sts16=78.56, stsb=76.85, sickr=72.23
    ),
    # Li et al. 2020 (BERT-flow), Table 2, bert-base-uncased rows of "Our Implementation";
    # "last2avg" is first-last averaging in their code (Su et al. 2021, footnote 2).
    ("BERT-flow Table 2", "BERT-base (last avg.)"): dict(
        stsb=47.29, sickr=58.21, sts12=49.07, sts13=55.92, sts14=54.75, sts15=62.75, sts16=65.19
    ),
    ("BERT-flow Table 2", "BERT-base-last2avg"): dict(
        stsb=59.04, sickr=63.75, sts12=57.84, sts13=61.95, sts14=62.48, sts15=70.95, sts16=69.81
    ),
    ("BERT-flow Table 2", "BERT-base-flow (NLI)"): dict(
        stsb=58.56, sickr=65.44, sts12=59.54, sts13=64.69, sts14=64.66, sts15=72.92, sts16=71.84
    ),
    ("BERT-flow Table 2", "BERT-base-flow (target)"): dict(
        stsb=70.72, sickr=63.11, sts12=63.48, sts13=72.14, sts14=68.42, sts15=73.77, sts16=75.37
    ),
    # Su et al. 2021 (BERT-whitening), Table 1, bert-base rows of "Our implementation".
    ("BERT-whitening Table 1", "BERT-base-first-last-avg"): dict(
        stsb=59.04, sts12=57.86, sts13=61.97, sts14=62.49, sts15=70.96, sts16=69.76, sickr=63.75
    ),
    ("BERT-whitening Table 1", "BERT-base-whitening (NLI)"): dict(
        stsb=68.19, sts12=61.69, sts13=65.70, sts14=66.02, sts15=75.11, sts16=73.11, sickr=63.60
    ),
    ("BERT-whitening Table 1", "BERT-base-whitening-256 (NLI)"): dict(
        stsb=67.51, sts12=61.46, sts13=66.71, sts14=66.17, sts15=74.82, sts16=72.10, sickr=64.90
    ),
    ("BERT-whitening Table 1", "BERT-base-whitening (target)"): dict(
        stsb=71.34, sts12=63.62, sts13=73.02, sts14=69.23, sts15=74.52, sts16=72.15, sickr=60.60
    ),
    ("BERT-whitening Table 1", "BERT-base-whitening-256 (target)"): dict(
        stsb=71.43, sts12=63.89, sts13=73.76, sts14=69.08, sts15=74.59, sts16=74.40, sickr=62.20
    ),
    # SimCSE's evaluation.py after the fix of princeton-nlp/SimCSE#133 (avg_first_last = the first
    # Transformer layer + the last, not the embedding output + the last as in Table 5), run on
    # bert-base-uncased and reported in princeton-nlp/SimCSE#285; "all" setting.
    ("SimCSE issue #285", "BERT-base (layer 1 + last avg.)"): dict(
        sts12=45.09, sts13=64.30, sts14=54.56, sts15=70.52, sts16=67.87, stsb=59.05, sickr=63.75
    ),
    # Gao et al. 2021 (SimCSE), Table C.1: the target variants re-run in the "all" setting.
    ("SimCSE Table C.1", "BERT-flow (target)"): dict(
        sts12=53.15, sts13=78.38, sts14=66.02, sts15=62.09, sts16=70.84, stsb=71.70, sickr=61.97
    ),
    ("SimCSE Table C.1", "BERT-whitening (target)"): dict(
        sts12=42.88, sts13=77.77, sts14=66.28, sts15=63.60, sts16=67.58, stsb=71.34, sickr=60.40
    ),
}
# BERT-flow and BERT-whitening use "wmean", as established by SimCSE, Appendix B (Tables B.1-B.3).
PAPER_SETTINGS = {
    "SBERT Table 1": "all",  # SimCSE Table B.2 shows SBERT used "all"
    "SimCSE Table 5": "all",
    "BERT-flow Table 2": "wmean",
    "BERT-whitening Table 1": "wmean",
    "SimCSE Table C.1": "all",
    "SimCSE issue #285": "all",
}

#: Numbers of the SimCSE paper (bert-base-uncased) that the package has no other home for.
#: Tables 1, 3 and 6 (unsup. column) are STS-B *dev* Spearman x 100; Table 5 rows are test sets,
#: "all" setting.
PAPER_SIMCSE = {
    "Table 1: dropout (unsup. SimCSE)": 82.5,
    "Table 1: delete one word": 75.9,
    "Table 1: delete one word, w/o dropout": 74.2,
    "Table 3: no dropout (p = 0)": 71.1,
    "Table 3: fixed 0.1 (same mask twice)": 43.6,
    "Table 6: [CLS] w/ MLP": 81.7,
    "Table 6: [CLS] w/ MLP (train)": 82.5,
    "Table 6: [CLS] w/o MLP": 80.9,
    "Table 6: first-last avg.": 81.2,
    "Table 5: Sup-SimCSE-BERT-base": dict(
        sts12=75.30, sts13=84.67, sts14=80.19, sts15=85.40, sts16=80.82, stsb=84.25, sickr=80.39
    ),
}

#: Gao et al. 2021 (SimCSE), Table B.2: the authors' reproductions of SBERT and BERT-whitening
#: (bert-base) aggregated both ways, (row, setting) -> {task: value} (chapter "Reproducing the
#: numbers"). STS-B and SICK-R have no subsets, so the settings coincide there.
SIMCSE_TABLE_B2 = {
    ("SBERT", "all"): dict(
        sts12=70.97, sts13=76.53, sts14=73.19, sts15=79.09, sts16=74.30, stsb=76.98, sickr=72.91
    ),
    ("SBERT", "wmean"): dict(
        sts12=66.35, sts13=73.76, sts14=73.88, sts15=77.33, sts16=73.62, stsb=76.98, sickr=72.91
    ),
    ("BERT-whitening (NLI)", "all"): dict(
        sts12=57.83, sts13=66.90, sts14=60.89, sts15=75.08, sts16=71.30, stsb=68.23, sickr=63.73
    ),
    ("BERT-whitening (NLI)", "wmean"): dict(
        sts12=61.43, sts13=65.90, sts14=65.96, sts15=74.80, sts16=73.10, stsb=68.23, sickr=63.73
    ),
    ("BERT-whitening (target)", "all"): dict(
        sts12=42.88, sts13=77.77, sts14=66.27, sts15=63.60, sts16=67.58, stsb=71.34, sickr=60.40
    ),
    ("BERT-whitening (target)", "wmean"): dict(
        sts12=63.38, sts13=73.01, sts14=69.13, sts15=74.48, sts16=72.56, stsb=71.34, sickr=60.40
    ),
}

#: Li et al. 2020 (BERT-flow), Table 1: mean l2 norm of bert-base-uncased's token embeddings and
#: mean l2 distance to their 3 nearest neighbours, by frequency rank bucket (0 = most frequent).
#: ``pandas.DataFrame(BERT_FLOW_TABLE1)`` is the table with one row per bucket. The paper prints
#: the last bucket as "[5K, 1K)", a typo (its upper end is below its lower end); "[5K, 10K)" is
#: our reading, the intended bound is not stated.
BERT_FLOW_TABLE1 = {
    "mean l2 norm": {"[0, 100)": 0.95, "[100, 500)": 1.04, "[500, 5K)": 1.22, "[5K, 10K)": 1.45},
    "mean 3-NN l2 dist.": {
        "[0, 100)": 0.77,
        "[100, 500)": 0.93,
        "[500, 5K)": 1.16,
        "[5K, 10K)": 1.30,
    },
}

#: Ethayarajh (2019): the anisotropy baseline of bert-base-cased per layer (0 = the input layer),
#: the "mean cosine similarity across words" of his repository (kawine/contextual,
#: bert/embedding_space_stats.json), whose README says it is close to, not exactly, what the
#: paper's Figure 1 charts (chapter "Reproducing the numbers").
ETHAYARAJH_BERT_BASELINE = [
    0.105,
    0.168,
    0.219,
    0.245,
    0.327,
    0.377,
    0.420,
    0.398,
    0.399,
    0.484,
    0.561,
    0.675,
    0.477,
]

#: Jiang et al. (2022, PromptBERT): the anisotropy of bert-base-uncased sentence embeddings (the
#: average cosine between sentence embeddings, x 100) as the first author reports it in the
#: repository's issue tracker (kongds/Prompt-BERT #21): static token embeddings averaged,
#: the same without the biased tokens (frequent tokens, subwords, punctuation), the last layer
#: averaged (chapter "Reproducing the numbers").
PROMPTBERT_ANISOTROPY = {
    "static token average": 82.5,
    "static, biased tokens removed": 78.19,
    "last layer average": 48.74,
}

#: Jiang et al. (2022, PromptBERT, arXiv v1), Table 1, the bert-base-uncased rows: the 7-task STS
#: average (Spearman x 100 over STS12-16, STS-B and SICK-R) and the sentence anisotropy of their
#: Eq. (1) (the average cosine between sentence embeddings) of two averages: the static token
#: embeddings (the input embedding matrix) and the last layer (chapter "Reproducing the numbers").
PROMPTBERT_TABLE1 = {
    "static token average": {"STS avg.": 56.02, "anisotropy": 0.8250},
    "last layer average": {"STS avg.": 52.57, "anisotropy": 0.4874},
}

#: Jiang et al. (2022, PromptBERT, arXiv v1), Table 3, bert-base-uncased: the 7-task STS average of
#: the static token average as biased tokens are removed cumulatively: the frequent tokens of
#: their Table 11 (a hand-made list that holds words such as man, woman, dog, playing, two), then
#: every subword, then the punctuation (the uncased model has no "Case" step).
PROMPTBERT_TABLE3 = {
    "static token average": 56.02,
    "- frequent tokens": 59.65,
    "- frequent tokens, subwords": 62.20,
    "- frequent tokens, subwords, punctuation": 63.10,
}

#: Wu et al. (2022, ESimCSE), Table 1: Spearman (a fraction, as printed) of the released
#: unsup-SimCSE-BERT-base on the pairs whose two sentences differ in length by at most 3 and on
#: the others, correlated within each group; SICK-R is not in the table.
ESIMCSE_TABLE1 = {
    "sts12": {"<= 3": 0.7298, "> 3": 0.6035},
    "sts13": {"<= 3": 0.8508, "> 3": 0.8396},
    "sts14": {"<= 3": 0.7971, "> 3": 0.6676},
    "sts15": {"<= 3": 0.8374, "> 3": 0.7603},
    "sts16": {"<= 3": 0.8134, "> 3": 0.7677},
    "stsb": {"<= 3": 0.8148, "> 3": 0.6924},
}
