"""Chapter 3: post-processing of embeddings (centering, all-but-the-top, whitening, the flow)."""

from aniso.postprocess.transforms import (  # the public names of its module
    POSTPROCESSORS,
    AllButTheTop,
    Center,
    Flow,
    PostProcessor,
    Standardize,
    Whitening,
    fit_on_sentences,
    load,
    make_postprocessor,
    target_sentences,
)

__all__ = [
    "POSTPROCESSORS",
    "AllButTheTop",
    "Center",
    "Flow",
    "PostProcessor",
    "Standardize",
    "Whitening",
    "fit_on_sentences",
    "load",
    "make_postprocessor",
    "target_sentences",
]
