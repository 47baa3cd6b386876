"""aniso: the helper package of the book
*Anisotropy and contrastive learning of sentence embeddings*.

One module per concept; each public function's docstring names the chapter
that introduces it.
"""

__version__ = "0.1.0"
