"""Data sets of the book: STS-B, STS12-16, SICK-R, unlabeled sentences (chapter "The problem").

Every loader reads its files from the data directory (the ``data_dir``
argument, else ``$ANISO_DATA_DIR``, else a user cache folder), where they are
checked against their sha256 sums and, for STS and SICK, downloaded when
missing: see :mod:`aniso.data.datadir`. The sentence sources of contrastive
training (:func:`training_sentences`, :func:`supervised_examples`,
:func:`delete_word`) are here too (chapter "SimCSE").
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from aniso.data.datadir import SICK_FILES, DataError, data_file, resolve_data_dir, retrieve

__all__ = [
    "STSData",
    "TASKS",
    "STS_SUBSETS",
    "load_stsb",
    "load_sts",
    "load_sickr",
    "load_sick_pairs",
    "load_task",
    "thin",
    "load_sentences",
    "word_frequencies",
    "WIKI1M_URL",
    "training_sentences",
    "supervised_examples",
    "delete_word",
]

#: Evaluation tasks of the book, in the order the tables print them.
TASKS = ("sts12", "sts13", "sts14", "sts15", "sts16", "stsb", "sickr")


#: Subsets of each SemEval STS year, as SentEval uses them.
STS_SUBSETS = {
    12: ("MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews"),
    13: ("FNWN", "headlines", "OnWN"),
    14: ("deft-forum", "deft-news", "headlines", "images", "OnWN", "tweet-news"),
    15: ("answers-forums", "answers-students", "belief", "headlines", "images"),
    16: ("answer-answer", "headlines", "plagiarism", "postediting", "question-question"),
}

_STSB_SPLITS = ("train", "dev", "test")
_SICK_ALIASES = {"dev": "trial"}
_SENTENCE_FILES = {
    "wiki1m": "wiki1m_sample/wiki1m_head.txt",
    "enwiki": "enwiki_sample/enwiki_sample_sentences.txt",
}


@dataclass
class STSData:
    """Sentence pairs with gold similarity scores (chapter "The problem").

    ``subsets`` names the subset of each pair (STS-B: the genre column,
    STS12-16: the SemEval subset, SICK-R: ``"SICK"``); ``labels`` holds the
    SICK entailment judgment of each pair and is ``None`` elsewhere.
    """

    name: str
    sentences1: list[str]
    sentences2: list[str]
    scores: np.ndarray
    subsets: list[str]
    labels: Optional[list[str]] = field(default=None)

    def __len__(self) -> int:
        return len(self.scores)


def _read_lines(path: Path) -> list[str]:
    """Lines of a UTF-8 file, split on newlines only (CRLF tolerated)."""
    text = path.read_bytes().decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


# --------------------------------------------------------------------------
# loaders
# --------------------------------------------------------------------------


def load_stsb(split: str = "test", data_dir=None) -> STSData:
    """STS Benchmark pairs of one split: train 5749, dev 1500, test 1379
    (chapter "The problem").

    Scores are 0-5; ``subsets`` holds the genre column (main-captions,
    main-news, main-forums).
    """
    if split not in _STSB_SPLITS:
        raise ValueError(f"unknown STS-B split {split!r}; valid splits: {', '.join(_STSB_SPLITS)}")
    d = resolve_data_dir(data_dir)
    rel = f"stsb/sts-{split}.csv"
    path = data_file(rel, d)
    s1, s2, scores, genres = [], [], [], []
    for i, line in enumerate(_read_lines(path), 1):
        cols = line.split("\t")
        if len(cols) < 7:
            raise DataError(
                f"{path}, line {i}: expected 7 or 9 tab-separated columns, found {len(cols)}"
            )
        genres.append(cols[0])
        scores.append(float(cols[4]))
        s1.append(cols[5])
        s2.append(cols[6])
    return STSData(f"STSB-{split}", s1, s2, np.asarray(scores, dtype=np.float64), genres)


def _parse_year(year) -> int:
    y = year
    if isinstance(y, str):
        m = re.fullmatch(r"(?:sts)?(\d{2}|\d{4})", y.strip(), flags=re.IGNORECASE)
        y = int(m.group(1)) if m else None
    if isinstance(y, (int, np.integer)) and not isinstance(y, bool):
        y = int(y)
        if 2000 <= y < 2100:
            y -= 2000
        if y in STS_SUBSETS:
            return y
    raise ValueError(
        f"unknown STS year {year!r}; valid years: 12-16 (also 2012-2016 or 'STS12'-'STS16')"
    )


def load_sts(year, data_dir=None) -> STSData:
    """SemEval STS 20xx English test set, all subsets concatenated
    (chapter "The problem").

    ``year`` is 12-16, 2012-2016 or "STS12"-"STS16". Labeled pairs: STS12
    3108, STS13 1500, STS14 3750, STS15 3000, STS16 1186; pairs with an empty
    gold line are unlabeled and skipped. ``subsets`` names each pair's subset.
    """
    y = _parse_year(year)
    d = resolve_data_dir(data_dir)
    prefix = "STS2016" if y == 16 else "STS"
    s1, s2, scores, subsets = [], [], [], []
    for sub in STS_SUBSETS[y]:
        folder = f"sts12_16/STS{y}"
        inp = data_file(f"{folder}/{prefix}.input.{sub}.txt", d)
        gs = data_file(f"{folder}/{prefix}.gs.{sub}.txt", d)
        pairs, golds = _read_lines(inp), _read_lines(gs)
        if len(pairs) != len(golds):
            raise DataError(f"{inp} has {len(pairs)} lines but {gs} has {len(golds)}")
        for i, (pair, gold) in enumerate(zip(pairs, golds), 1):
            if not gold.strip():
                continue  # unlabeled pair
            cols = pair.split("\t")
            if len(cols) < 2:
                raise DataError(f"{inp}, line {i}: expected sentence1<TAB>sentence2")
            s1.append(cols[0])
            s2.append(cols[1])
            scores.append(float(gold))
            subsets.append(sub)
    return STSData(f"STS{y}", s1, s2, np.asarray(scores, dtype=np.float64), subsets)


def _sick_rows(split: str, data_dir) -> tuple[str, list[list[str]]]:
    s = _SICK_ALIASES.get(split, split)
    if s not in SICK_FILES:
        raise ValueError(
            f"unknown SICK split {split!r}; valid splits: {', '.join(SICK_FILES)} ('dev' = 'trial')"
        )
    d = resolve_data_dir(data_dir)
    path = data_file(f"sick/{SICK_FILES[s]}", d)
    lines = _read_lines(path)
    rows = []
    for i, line in enumerate(lines[1:], 2):  # line 1 is the header
        cols = line.split("\t")
        if len(cols) != 5:
            raise DataError(
                f"{path}, line {i}: expected 5 tab-separated columns, found {len(cols)}"
            )
        rows.append(cols)
    return s, rows


def load_sickr(split: str = "test", data_dir=None) -> STSData:
    """SICK-R (relatedness 1-5) pairs of one split: train 4500, trial 500,
    test 4927 (chapter "The problem").

    ``labels`` holds the entailment judgment (ENTAILMENT, NEUTRAL,
    CONTRADICTION) of each pair. ``split`` "dev" is an alias of "trial".
    """
    s, rows = _sick_rows(split, data_dir)
    return STSData(
        f"SICKR-{s}",
        [r[1] for r in rows],
        [r[2] for r in rows],
        np.asarray([float(r[3]) for r in rows], dtype=np.float64),
        ["SICK"] * len(rows),
        [r[4] for r in rows],
    )


def load_sick_pairs(split: str = "train", data_dir=None):
    """SICK pairs as a pandas DataFrame with columns pair_id, sentence_A,
    sentence_B, relatedness, entailment (chapter "The problem")."""
    import pandas as pd

    _, rows = _sick_rows(split, data_dir)
    return pd.DataFrame(
        {
            "pair_id": [int(r[0]) for r in rows],
            "sentence_A": [r[1] for r in rows],
            "sentence_B": [r[2] for r in rows],
            "relatedness": np.asarray([float(r[3]) for r in rows], dtype=np.float64),
            "entailment": [r[4] for r in rows],
        }
    )


_TASK_LOADERS = {
    "stsb": lambda d: load_stsb("test", d),
    "stsb-dev": lambda d: load_stsb("dev", d),
    "stsb-train": lambda d: load_stsb("train", d),
    "sickr": lambda d: load_sickr("test", d),
    "sickr-train": lambda d: load_sickr("train", d),
    "sickr-trial": lambda d: load_sickr("trial", d),
    **{f"sts{y}": (lambda d, y=y: load_sts(y, d)) for y in STS_SUBSETS},
}


def load_task(name: str, data_dir=None, max_pairs: int | None = None) -> STSData:
    """An evaluation task by name (chapter "The problem"): "sts12".."sts16",
    "stsb" (test), "stsb-dev", "stsb-train", "sickr" (test), "sickr-train",
    "sickr-trial". :data:`TASKS` lists the ones the book reports. ``max_pairs``: at most about
    that many pairs (:func:`thin`; None, the default: every pair)."""
    key = name.lower() if isinstance(name, str) else name
    if key not in _TASK_LOADERS:
        raise ValueError(f"unknown task {name!r}; valid names: {', '.join(sorted(_TASK_LOADERS))}")
    return thin(_TASK_LOADERS[key](data_dir), max_pairs)


def thin(task: STSData, max_pairs: int | None) -> STSData:
    """``task`` cut to at most ``max_pairs`` pairs by keeping every k-th pair (k = ceil(n /
    max_pairs)), so that each subset keeps its share and its order; ``task`` itself when it is
    that small or ``max_pairs`` is None. The smoke profile's data cap
    (:mod:`aniso.experiments.profiles`). Chapter "How to run"."""
    if max_pairs is not None and max_pairs < 1:
        raise ValueError(f"max_pairs must be a positive number of pairs or None, got {max_pairs}")
    n = len(task)
    if max_pairs is None or n <= max_pairs:
        return task
    keep = range(0, n, -(-n // max_pairs))
    return replace(
        task,
        sentences1=[task.sentences1[i] for i in keep],
        sentences2=[task.sentences2[i] for i in keep],
        scores=task.scores[list(keep)],
        subsets=[task.subsets[i] for i in keep],
        labels=None if task.labels is None else [task.labels[i] for i in keep],
    )


def load_sentences(name: str, n: Optional[int] = None, data_dir=None) -> list[str]:
    """Unlabeled English sentences, one per line, stripped, empty lines
    skipped, the first ``n`` (all if None) (chapter "The problem").

    "wiki1m": 11,913 sentences, the head of SimCSE's wiki1m_for_simcse.txt;
    "enwiki": 18,741 sentences from a Wikipedia dump sample. These samples
    are fetched into the data directory from their pinned sources (:mod:`aniso.data.sources`).
    """
    if name not in _SENTENCE_FILES:
        raise ValueError(
            f"unknown sentence set {name!r}; valid names: {', '.join(_SENTENCE_FILES)}"
        )
    if n is not None and n < 0:
        raise ValueError(f"n must be >= 0 or None, got {n}")
    path = data_file(_SENTENCE_FILES[name], resolve_data_dir(data_dir))
    out = []
    for line in _read_lines(path):
        if n is not None and len(out) >= n:
            break
        line = line.strip()
        if line:
            out.append(line)
    return out


def word_frequencies(words: Iterable[str]) -> np.ndarray:
    """English unigram frequency of each word from the ``wordfreq`` package,
    ``wordfreq.word_frequency(w, "en")`` (0.0 for unknown words)
    (chapter "The problem")."""
    from wordfreq import word_frequency

    return np.asarray([word_frequency(w, "en") for w in words], dtype=np.float64)


# --------------------------------------------------------------------------
# sentences for contrastive training (chapter "SimCSE")
# --------------------------------------------------------------------------

#: SimCSE's million Wikipedia sentences (the ``wiki1m-full`` source; downloaded on first use).
WIKI1M_URL = (
    "https://huggingface.co/datasets/princeton-nlp/datasets-for-simcse/resolve/main/"
    "wiki1m_for_simcse.txt"
)


#: Where ``wiki1m-full`` lives in the data directory.
WIKI1M_FILE = "wiki1m/wiki1m_for_simcse.txt"
#: What a download of it must be: 10^6 lines, the first 1,279,689 bytes of which are the data
#: directory's wiki1m head (its first 11,913 lines, whose sha256 the package ships). No sum of
#: the whole file is published; the head's sum and the line count stand in for it.
WIKI1M_LINES = 1_000_000
WIKI1M_HEAD = ("wiki1m_sample/wiki1m_head.txt", 1_279_689)


def _download_wiki1m(path: Path) -> None:
    """Download SimCSE's wiki1m to ``path``, check it, and only then give it its name."""
    import hashlib
    import shutil
    import tempfile

    from aniso.data.datadir import sums

    created = not path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".download-", dir=path.parent))
    try:
        try:
            got = retrieve(WIKI1M_URL, tmp, path.name, timeout=30.0)
        except OSError as e:
            raise DataError(
                f"SimCSE's wiki1m_for_simcse.txt is not in {path.parent} and could not be "
                f"downloaded from {WIKI1M_URL} ({getattr(e, 'reason', e)}); put the file "
                "there or use sentences='wiki1m' (the sample in the data directory)"
            ) from e
        rel, size = WIKI1M_HEAD
        with open(got, "rb") as f:
            head = hashlib.sha256(f.read(size)).hexdigest()
            f.seek(0)
            lines, last = 0, b"\n"
            for block in iter(lambda: f.read(1 << 22), b""):
                lines, last = lines + block.count(b"\n"), block[-1:]
            lines += last != b"\n"  # a last line without its newline
        if head != sums()[rel] or lines != WIKI1M_LINES:
            raise DataError(
                f"the file downloaded from {WIKI1M_URL} is not SimCSE's wiki1m ({lines:,} lines, "
                f"expected {WIKI1M_LINES:,}; sha256 of its first {size:,} bytes {head}, expected "
                f"{sums()[rel]}, that of {rel}); it was not kept"
            )
        got.replace(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if created and not path.exists():
            path.parent.rmdir()


def training_sentences(source: str, n: int | None = None, data_dir=None) -> list[str]:
    """Unlabeled training sentences (chapter "SimCSE").

    ``source`` as in :class:`aniso.contrastive.SimCSEConfig`: ``wiki1m``, ``enwiki``,
    ``wiki1m+enwiki``, ``wiki1m-full`` (downloaded into the data directory) or a text file.
    """
    if source in ("wiki1m", "enwiki"):
        return load_sentences(source, n, data_dir)
    if source == "wiki1m+enwiki":
        out = load_sentences("wiki1m", None, data_dir) + load_sentences("enwiki", None, data_dir)
        return out[:n] if n is not None else out
    if source == "wiki1m-full":
        path = resolve_data_dir(data_dir) / WIKI1M_FILE
        if not path.exists():
            _download_wiki1m(path)
    else:
        path = Path(source)
        if not path.is_file():
            raise ValueError(
                f"unknown sentence source {source!r}: not wiki1m, enwiki, wiki1m+enwiki, "
                f"wiki1m-full or an existing text file"
            )
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in lines if ln]
    return lines[:n] if n is not None else lines


def supervised_examples(
    source: str = "sick", data_dir=None
) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """SimCSE's supervised examples from SICK train (chapter "SimCSE"): ``(pairs, triplets)``.

    Each ENTAILMENT pair (A, B) is a positive pair; when a CONTRADICTION pair
    (A, C) with the same premise A exists, the example becomes the triplet
    (A, B, C) with C as the hard negative, as SimCSE does with NLI.
    """
    if source != "sick":
        raise ValueError(f"unknown supervised source {source!r}; only 'sick' is available offline")
    df = load_sick_pairs("train", data_dir)
    contra = {}
    for a, b in zip(
        df.sentence_A[df.entailment == "CONTRADICTION"],
        df.sentence_B[df.entailment == "CONTRADICTION"],
    ):
        contra.setdefault(a, b)
    pairs, triplets = [], []
    for a, b in zip(
        df.sentence_A[df.entailment == "ENTAILMENT"], df.sentence_B[df.entailment == "ENTAILMENT"]
    ):
        (triplets.append((a, b, contra[a])) if a in contra else pairs.append((a, b)))
    return pairs, triplets


def delete_word(sentence: str, seed) -> str:
    """The sentence with one whitespace-separated word removed, chosen by ``random.Random(seed)``.

    One-word sentences are returned unchanged. Chapter "SimCSE" (the
    "delete one word" positives of SimCSE's Table 1).
    """
    words = sentence.split()
    if len(words) < 2:
        return sentence
    del words[random.Random(seed).randrange(len(words))]
    return " ".join(words)
