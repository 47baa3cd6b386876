"""Sentence encoders behind one interface (:class:`Encoder`): transformers, averaged GloVe, and
Gemma's GGUF file; names resolved to local models (chapter "The problem")."""

from aniso.encoders.models import (  # the public names of :mod:`aniso.encoders.models`
    CHEAP_POOLINGS,
    HUB_NAMES,
    POOLINGS,
    RENAMED_POOLINGS,
    SHORT_NAMES,
    Encoder,
    EncoderError,
    GloveEncoder,
    TransformerEncoder,
    check_renamed,
    load_encoder,
    mini_bert_path,
    minilm_path,
    model_path,
    pool,
    validate_sentences,
)

__all__ = [
    "CHEAP_POOLINGS",
    "HUB_NAMES",
    "POOLINGS",
    "RENAMED_POOLINGS",
    "SHORT_NAMES",
    "Encoder",
    "EncoderError",
    "GloveEncoder",
    "TransformerEncoder",
    "check_renamed",
    "load_encoder",
    "mini_bert_path",
    "minilm_path",
    "model_path",
    "pool",
    "validate_sentences",
]
