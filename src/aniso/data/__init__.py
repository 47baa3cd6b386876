"""The data layer: the data directory and its pinned public sources, STS and SICK, and the
sentence sources (chapter "The problem")."""

from aniso.data.tasks import (  # the public names of :mod:`aniso.data.tasks`
    STS_SUBSETS,
    TASKS,
    WIKI1M_FILE,
    WIKI1M_HEAD,
    WIKI1M_LINES,
    WIKI1M_URL,
    STSData,
    delete_word,
    load_sentences,
    load_sick_pairs,
    load_sickr,
    load_sts,
    load_stsb,
    load_task,
    supervised_examples,
    thin,
    training_sentences,
    word_frequencies,
)

__all__ = [
    "STS_SUBSETS",
    "TASKS",
    "WIKI1M_FILE",
    "WIKI1M_HEAD",
    "WIKI1M_LINES",
    "WIKI1M_URL",
    "STSData",
    "delete_word",
    "load_sentences",
    "load_sick_pairs",
    "load_sickr",
    "load_sts",
    "load_stsb",
    "load_task",
    "supervised_examples",
    "thin",
    "training_sentences",
    "word_frequencies",
]
