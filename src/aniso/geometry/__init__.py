"""The geometry of a set of embeddings: cosines, isotropy (average cosine, I(W), IsoScore,
effective rank, spectrum), alignment and uniformity (chapters "The problem" and on)."""
