"""The appendix: the stand-in BERT's pretraining corpus, MLM pretraining, model card and
diagnostics."""
