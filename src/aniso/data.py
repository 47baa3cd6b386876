"""Data sets of the book: STS-B, STS12-16, SICK-R, unlabeled sentences (chapter "The problem").

Every loader reads its files from a *data directory* laid out like the
project's ``../shared/data`` folder::

    stsb/sts-{train,dev,test}.csv
    sts12_16/STS12 .. STS16/STS.input.<subset>.txt, STS.gs.<subset>.txt
    sick/SICK_{train,trial,test_annotated}.txt
    wiki1m_sample/wiki1m_head.txt
    enwiki_sample/enwiki_sample_sentences.txt

The directory is the ``data_dir`` argument, else the environment variable
``ANISO_DATA_DIR``, else a user cache folder (see :func:`resolve_data_dir`).

Each file is checked once per process against the sha256 sums shipped with the
package (``data_sha256.txt``); a file whose sum does not match is never used.
A missing STS-B, STS12-16 or SICK file is downloaded from its public original
(:data:`URLS`) into the data directory, checked, and only then moved under its
final name.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Iterable, Optional

import numpy as np

__all__ = [
    "DataError", "STSData", "ENV_VAR", "URLS", "TASKS", "STS_SUBSETS",
    "resolve_data_dir", "load_stsb", "load_sts", "load_sickr", "load_sick_pairs",
    "load_task", "load_sentences", "word_frequencies", "verify_file",
]

ENV_VAR = "ANISO_DATA_DIR"
DOWNLOAD_TIMEOUT = 5.0  # seconds, for the connection and for each read
LAYOUT_HINT = "layout as in ../shared/data"

#: Evaluation tasks of the book, in the order the tables print them.
TASKS = ("sts12", "sts13", "sts14", "sts15", "sts16", "stsb", "sickr")

#: Public originals, for users with internet access.
URLS = {
    "stsb": "http://ixa2.si.ehu.eus/stswiki/images/4/48/Stsbenchmark.tar.gz",
    "sts12": "http://ixa2.si.ehu.eus/stswiki/images/4/40/STS2012-en-test.zip",
    "sts13": "http://ixa2.si.ehu.eus/stswiki/images/2/2f/STS2013-en-test.zip",
    "sts14": "http://ixa2.si.ehu.eus/stswiki/images/8/8c/STS2014-en-test.zip",
    "sts15": "http://ixa2.si.ehu.eus/stswiki/images/d/da/STS2015-en-test.zip",
    "sts16": "http://ixa2.si.ehu.eus/stswiki/images/9/98/STS2016-en-test.zip",
    "sick-train": "https://raw.githubusercontent.com/alvations/stasis/master/SICK-data/SICK_train.txt",
    "sick-trial": "https://raw.githubusercontent.com/alvations/stasis/master/SICK-data/SICK_trial.txt",
    "sick-test": "https://raw.githubusercontent.com/alvations/stasis/master/SICK-data/SICK_test_annotated.txt",
}

#: Subsets of each SemEval STS year, as SentEval uses them.
STS_SUBSETS = {
    12: ("MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews"),
    13: ("FNWN", "headlines", "OnWN"),
    14: ("deft-forum", "deft-news", "headlines", "images", "OnWN", "tweet-news"),
    15: ("answers-forums", "answers-students", "belief", "headlines", "images"),
    16: ("answer-answer", "headlines", "plagiarism", "postediting", "question-question"),
}

_STSB_SPLITS = ("train", "dev", "test")
_SICK_FILES = {"train": "SICK_train.txt", "trial": "SICK_trial.txt",
               "test": "SICK_test_annotated.txt"}
_SICK_ALIASES = {"dev": "trial"}
_SENTENCE_FILES = {"wiki1m": "wiki1m_sample/wiki1m_head.txt",
                   "enwiki": "enwiki_sample/enwiki_sample_sentences.txt"}


class DataError(RuntimeError):
    """A data set cannot be used: missing, not downloadable, or corrupt."""


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


# --------------------------------------------------------------------------
# data directory, sums, verification
# --------------------------------------------------------------------------

def _default_dir() -> Path:
    try:
        import platformdirs
        base = Path(platformdirs.user_cache_dir("aniso"))
    except ImportError:  # pragma: no cover - platformdirs is nearly always there
        base = Path.home() / ".cache" / "aniso"
    return base / "data"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder the data sets are read from (chapter "The problem").

    ``data_dir`` if given, else the environment variable ``ANISO_DATA_DIR``,
    else ``<user cache>/aniso/data`` (created if needed; missing files are
    downloaded there). A given folder that does not exist raises
    :class:`DataError`.
    """
    if data_dir is not None:
        source = "the data_dir argument"
        path = Path(data_dir).expanduser()
    elif os.environ.get(ENV_VAR):
        source = f"the environment variable {ENV_VAR}"
        path = Path(os.environ[ENV_VAR]).expanduser()
    else:
        path = _default_dir()
        path.mkdir(parents=True, exist_ok=True)
        return path
    if not path.is_dir():
        what = "is not a directory" if path.exists() else "does not exist"
        raise DataError(
            f"data directory {path} (from {source}) {what}. Point {ENV_VAR} "
            f"(or data_dir) at a folder with the data sets ({LAYOUT_HINT}), or "
            f"unset {ENV_VAR} to download them into {_default_dir()}.")
    return path


_SUMS: dict[str, str] | None = None
_VERIFIED: set[tuple[str, int, int]] = set()  # (resolved path, size, mtime_ns)


def _sums() -> dict[str, str]:
    """Relative path -> sha256, from the package file ``data_sha256.txt``."""
    global _SUMS
    if _SUMS is None:
        text = resources.files("aniso").joinpath("data_sha256.txt").read_text("utf-8")
        sums = {}
        for line in text.splitlines():
            if line.strip():
                digest, name = line.split(None, 1)
                sums[name.strip().removeprefix("./")] = digest.lower()
        _SUMS = sums
    return _SUMS


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_file(path: Path, rel: str) -> Path:
    """Check ``path`` against the sum of ``rel`` (chapter "The problem").

    Done once per process per file; a mismatch raises :class:`DataError`.
    """
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key in _VERIFIED:
        return path
    if rel not in _sums():
        raise ValueError(f"no sha256 sum is known for {rel!r}")
    expected = _sums()[rel]
    actual = _sha256(path)
    if actual != expected:
        raise DataError(
            f"data file {path} is corrupt or not the published original: sha256 "
            f"{actual}, expected {expected}. It is not used. Delete it so it is "
            f"downloaded again, or fix {ENV_VAR} to point at a folder with the "
            f"original files ({LAYOUT_HINT}).")
    _VERIFIED.add(key)
    return path


# --------------------------------------------------------------------------
# download
# --------------------------------------------------------------------------

def _fetch(url: str, dest_path: Path, timeout: float) -> None:
    """Write the bytes at ``url`` to ``dest_path`` (tests replace this)."""
    req = urllib.request.Request(url, headers={"User-Agent": "aniso-data/0.1"})
    with urllib.request.urlopen(req, timeout=timeout) as r, open(dest_path, "wb") as f:
        shutil.copyfileobj(r, f, 1 << 20)


def _source_of(rel: str) -> tuple[str, str, str]:
    """(URLS key, kind, target folder) of the download that provides ``rel``."""
    parts = rel.split("/")
    if parts[0] == "stsb":
        return "stsb", "tar", "stsb"
    if parts[0] == "sts12_16" and len(parts) == 3:
        return f"sts{parts[1][-2:]}", "zip", f"sts12_16/{parts[1]}"
    if parts[0] == "sick":
        for split, fname in _SICK_FILES.items():
            if parts[-1] == fname:
                return f"sick-{split}", "file", "sick"
    raise KeyError(rel)


def _tmp_in(folder: Path, name: str) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    os.close(fd)
    return Path(tmp)


def _unlink(path: Optional[Path]) -> None:
    if path is not None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _install(tmp: Path, final: Path, rel: str) -> Optional[str]:
    """Move ``tmp`` to ``final`` if its sum matches ``rel``; else delete it and
    return the actual sum."""
    actual = _sha256(tmp)
    if actual != _sums()[rel]:
        _unlink(tmp)
        return actual
    os.replace(tmp, final)
    st = final.stat()
    _VERIFIED.add((str(final.resolve()), st.st_size, st.st_mtime_ns))
    return None


def _archive_members(archive: Path, kind: str):
    """Yield (basename, open binary stream) for each regular file member."""
    if kind == "tar":
        with tarfile.open(archive, "r:*") as tar:
            for m in tar:
                if m.isfile():
                    f = tar.extractfile(m)
                    if f is not None:
                        yield PurePosixPath(m.name).name, f
    else:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    with zf.open(info) as f:
                        yield PurePosixPath(info.filename).name, f


def _download(rel: str, data_dir: Path) -> None:
    """Fetch the public original holding ``rel`` and install every missing file
    of it whose sha256 matches. Raises on any failure; leaves no temp files."""
    key, kind, folder_rel = _source_of(rel)
    url = URLS[key]
    folder = data_dir / folder_rel
    created = [p for p in [folder, *folder.parents] if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        tmp = _tmp_in(folder, PurePosixPath(url).name)
        _fetch(url, tmp, DOWNLOAD_TIMEOUT)
        if kind == "file":
            actual = _install(tmp, data_dir / rel, rel)
            tmp = None
            if actual is not None:
                raise DataError(
                    f"the file downloaded from {url} has sha256 {actual}, expected "
                    f"{_sums()[rel]} (truncated or changed download); it was not kept.")
            return
        bad: dict[str, str] = {}
        for base, stream in _archive_members(tmp, kind):
            member_rel = f"{folder_rel}/{base}"
            final = data_dir / member_rel
            if member_rel not in _sums() or final.exists():
                continue
            part = _tmp_in(folder, base)
            try:
                with open(part, "wb") as out:
                    shutil.copyfileobj(stream, out, 1 << 20)
                actual = _install(part, final, member_rel)
            except BaseException:
                _unlink(part)
                raise
            if actual is not None:
                bad[member_rel] = actual
        if not (data_dir / rel).exists():
            if rel in bad:
                raise DataError(
                    f"{PurePosixPath(rel).name} in the archive from {url} has sha256 "
                    f"{bad[rel]}, expected {_sums()[rel]}; it was not kept.")
            raise DataError(f"the archive from {url} holds no {PurePosixPath(rel).name}.")
    except (tarfile.TarError, zipfile.BadZipFile, gzip.BadGzipFile, EOFError,
            zlib.error) as e:
        raise DataError(f"the archive downloaded from {url} is truncated or corrupt "
                        f"({type(e).__name__}: {' '.join(str(e).split())}); it was not kept."
                        ) from e
    finally:
        _unlink(tmp)
        for p in created:  # deepest first; only empty folders go
            try:
                p.rmdir()
            except OSError:
                break


_LABELS = {"stsb": "STS-B", "sts12_16": "STS12-16", "sick": "SICK",
           "wiki1m_sample": "wiki1m", "enwiki_sample": "enwiki"}


def _data_file(rel: str, data_dir: Path) -> Path:
    """Path of data file ``rel`` in ``data_dir``: downloaded if missing, and
    checked against its sha256."""
    path = data_dir / rel
    if not path.exists():
        label = _LABELS.get(rel.split("/")[0], "data")
        name = PurePosixPath(rel).name
        hint = (f"Set {ENV_VAR} to a folder with the data sets ({LAYOUT_HINT}) "
                f"or connect to the internet.")
        try:
            key = _source_of(rel)[0]
        except KeyError:
            raise DataError(
                f"{label} file {name} not found in {data_dir} (expected at {path}); "
                f"it has no download source. Set {ENV_VAR} to a folder with the "
                f"data sets ({LAYOUT_HINT}).") from None
        try:
            _download(rel, data_dir)
        except DataError as e:
            raise DataError(f"{label} file {name} not found in {data_dir} and "
                            f"{e} {hint}") from e
        except OSError as e:  # URLError, HTTPError, timeouts, disk errors
            reason = getattr(e, "reason", None) or e
            raise DataError(
                f"{label} file {name} not found in {data_dir} and it could not be "
                f"downloaded from {URLS[key]} ({reason}). {hint}") from e
    return verify_file(path, rel)


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
        raise ValueError(f"unknown STS-B split {split!r}; valid splits: "
                         f"{', '.join(_STSB_SPLITS)}")
    d = resolve_data_dir(data_dir)
    rel = f"stsb/sts-{split}.csv"
    path = _data_file(rel, d)
    s1, s2, scores, genres = [], [], [], []
    for i, line in enumerate(_read_lines(path), 1):
        cols = line.split("\t")
        if len(cols) < 7:
            raise DataError(f"{path}, line {i}: expected 7 or 9 tab-separated "
                            f"columns, found {len(cols)}")
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
    raise ValueError(f"unknown STS year {year!r}; valid years: 12-16 "
                     f"(also 2012-2016 or 'STS12'-'STS16')")


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
        inp = _data_file(f"{folder}/{prefix}.input.{sub}.txt", d)
        gs = _data_file(f"{folder}/{prefix}.gs.{sub}.txt", d)
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
    if s not in _SICK_FILES:
        raise ValueError(f"unknown SICK split {split!r}; valid splits: "
                         f"{', '.join(_SICK_FILES)} ('dev' = 'trial')")
    d = resolve_data_dir(data_dir)
    path = _data_file(f"sick/{_SICK_FILES[s]}", d)
    lines = _read_lines(path)
    rows = []
    for i, line in enumerate(lines[1:], 2):  # line 1 is the header
        cols = line.split("\t")
        if len(cols) != 5:
            raise DataError(f"{path}, line {i}: expected 5 tab-separated columns, "
                            f"found {len(cols)}")
        rows.append(cols)
    return s, rows


def load_sickr(split: str = "test", data_dir=None) -> STSData:
    """SICK-R (relatedness 1-5) pairs of one split: train 4500, trial 500,
    test 4927 (chapter "The problem").

    ``labels`` holds the entailment judgment (ENTAILMENT, NEUTRAL,
    CONTRADICTION) of each pair. ``split`` "dev" is an alias of "trial".
    """
    s, rows = _sick_rows(split, data_dir)
    return STSData(f"SICKR-{s}", [r[1] for r in rows], [r[2] for r in rows],
                   np.asarray([float(r[3]) for r in rows], dtype=np.float64),
                   ["SICK"] * len(rows), [r[4] for r in rows])


def load_sick_pairs(split: str = "train", data_dir=None):
    """SICK pairs as a pandas DataFrame with columns pair_id, sentence_A,
    sentence_B, relatedness, entailment (chapter "The problem")."""
    import pandas as pd
    _, rows = _sick_rows(split, data_dir)
    return pd.DataFrame({
        "pair_id": [int(r[0]) for r in rows],
        "sentence_A": [r[1] for r in rows],
        "sentence_B": [r[2] for r in rows],
        "relatedness": np.asarray([float(r[3]) for r in rows], dtype=np.float64),
        "entailment": [r[4] for r in rows],
    })


_TASK_LOADERS = {
    "stsb": lambda d: load_stsb("test", d),
    "stsb-dev": lambda d: load_stsb("dev", d),
    "stsb-train": lambda d: load_stsb("train", d),
    "sickr": lambda d: load_sickr("test", d),
    "sickr-train": lambda d: load_sickr("train", d),
    "sickr-trial": lambda d: load_sickr("trial", d),
    **{f"sts{y}": (lambda d, y=y: load_sts(y, d)) for y in STS_SUBSETS},
}


def load_task(name: str, data_dir=None) -> STSData:
    """An evaluation task by name (chapter "The problem"): "sts12".."sts16",
    "stsb" (test), "stsb-dev", "stsb-train", "sickr" (test), "sickr-train",
    "sickr-trial". :data:`TASKS` lists the ones the book reports."""
    key = name.lower() if isinstance(name, str) else name
    if key not in _TASK_LOADERS:
        raise ValueError(f"unknown task {name!r}; valid names: "
                         f"{', '.join(sorted(_TASK_LOADERS))}")
    return _TASK_LOADERS[key](data_dir)


def load_sentences(name: str, n: Optional[int] = None, data_dir=None) -> list[str]:
    """Unlabeled English sentences, one per line, stripped, empty lines
    skipped, the first ``n`` (all if None) (chapter "The problem").

    "wiki1m": 11,913 sentences, the head of SimCSE's wiki1m_for_simcse.txt;
    "enwiki": 18,741 sentences from a Wikipedia dump sample. These samples
    are not downloadable; they must be in the data directory.
    """
    if name not in _SENTENCE_FILES:
        raise ValueError(f"unknown sentence set {name!r}; valid names: "
                         f"{', '.join(_SENTENCE_FILES)}")
    if n is not None and n < 0:
        raise ValueError(f"n must be >= 0 or None, got {n}")
    path = _data_file(_SENTENCE_FILES[name], resolve_data_dir(data_dir))
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
