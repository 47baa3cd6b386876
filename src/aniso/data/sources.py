"""Pinned public sources of every data file, and how each file is derived from its source.

Introduced in chapter "The problem" (``00_the_problem``) and used by :mod:`aniso.data.datadir`,
which downloads, checks and installs the files. This module holds no network code: it is the
table of sources and the pure functions that turn a downloaded artifact into the exact bytes
of a data file (the sha256 sums in ``data_sha256.txt`` are the arbiter).

- :data:`UPSTREAMS`: each public artifact (a file at a git commit, a Debian package, a PyPI
  sdist), its pinned URLs (the original first, then mirrors) and, where it is fixed, its sha256.
- :data:`RECIPES`: each data file (its path relative to the data directory, as in
  ``data_sha256.txt``) -> the artifact it comes from and the function that extracts it
  (``None``: the file *is* the artifact). A recipe's ``fallbacks`` are other artifacts that
  yield the same bytes, to try in order when the first cannot be had.

Derived files:

- ``wiki1m_sample/wiki1m_head.txt``: the first 11,913 complete lines of SimCSE's
  ``wiki1m_for_simcse.txt`` (:func:`wiki1m_head`).
- ``enwiki_sample/enwiki_sample_sentences.txt``: sentences from the Wikipedia dump sample in the
  gensim 4.4.0 sdist, segmented by gensim's ``segment_wiki`` (:func:`enwiki_articles`, needs
  gensim 4.4.0) and split and filtered by :func:`enwiki_sentences`.
- ``janeausten/*.txt``: the character vectors of the R package janeaustenr 1.0.0, read from the
  Debian package's lazy-load database (:func:`austen_novel_from_deb`) or from the package's
  ``data/*.rda`` on GitHub (:func:`austen_novel_from_rda`), one element per line.
- ``janeausten/debian-copyright`` and ``wordsim/gensim/*``: members of an archive.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import re
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

__all__ = [
    "Upstream",
    "Recipe",
    "UPSTREAMS",
    "RECIPES",
    "WIKI1M_LINES",
    "ENWIKI_MEMBER",
    "JANEAUSTEN_BOOKS",
    "github_raw_url",
    "artifact_relpath",
    "first_lines",
    "wiki1m_head",
    "archive_member",
    "deb_member",
    "r_unserialize",
    "r_lazyload",
    "r_load_rdata",
    "lines_text",
    "austen_novel_from_deb",
    "austen_novel_from_rda",
    "enwiki_articles",
    "enwiki_sentences",
    "enwiki_sample",
]


@dataclass(frozen=True)
class Upstream:
    """One public artifact (chapter "The problem")."""

    urls: tuple[str, ...]  # pinned URLs, the original first, then mirrors
    sha256: str | None  # of the artifact itself, when it is fixed (None if not known)
    note: str  # one line: what it is


@dataclass(frozen=True)
class Recipe:
    """How one data file is made from an artifact of :data:`UPSTREAMS` (chapter "The problem")."""

    upstream: str  # key of UPSTREAMS
    extract: Callable[[Path], bytes] | None = None  # artifact path -> the file's bytes; None: as is
    fallbacks: tuple[Recipe, ...] = ()  # other artifacts that give the same bytes, in order


def github_raw_url(repo: str, commit: str, path: str) -> str:
    """URL of ``path`` in GitHub repository ``repo`` ("owner/name") at ``commit`` (chapter "The
    problem")."""
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


def artifact_relpath(key: str) -> str:
    """Where the artifact of ``UPSTREAMS[key]`` lies in a folder of downloaded artifacts
    (chapter "The problem"): ``<key>/<last path component of its first URL>``.

    Artifact names alone collide (``00-readme.txt``, ``readme.txt``), hence the key folder.
    """
    return f"{key}/{PurePosixPath(UPSTREAMS[key].urls[0]).name}"


# --------------------------------------------------------------------------------------------
# wiki1m: a prefix of lines
# --------------------------------------------------------------------------------------------

#: Complete lines of ``wiki1m_for_simcse.txt`` kept in ``wiki1m_sample/wiki1m_head.txt``.
WIKI1M_LINES = 11_913


def first_lines(path: Path, n: int, chunk: int = 1 << 20) -> bytes:
    """The first ``n`` newline-terminated lines of the file at ``path``, as bytes (chapter "The
    problem"). Reads only as much of the file as needed; fewer than ``n`` complete lines raise
    ValueError."""
    if n <= 0:
        return b""
    out = bytearray()
    seen = 0
    with open(path, "rb") as f:
        while block := f.read(chunk):
            count = block.count(b"\n")
            if seen + count < n:
                out += block
                seen += count
                continue
            end = -1
            for _ in range(n - seen):
                end = block.index(b"\n", end + 1)
            out += block[: end + 1]
            return bytes(out)
    raise ValueError(f"{path} has {seen} complete lines, fewer than {n}")


def wiki1m_head(path: Path) -> bytes:
    """``wiki1m_sample/wiki1m_head.txt`` from SimCSE's ``wiki1m_for_simcse.txt`` or the
    1,280,000-byte prefix of it committed on GitHub: its first :data:`WIKI1M_LINES` complete
    lines (chapter "The problem")."""
    return first_lines(path, WIKI1M_LINES)


# --------------------------------------------------------------------------------------------
# archives: tar, zip (wheels), ar (Debian packages)
# --------------------------------------------------------------------------------------------


def _member_matches(name: str, member: str) -> bool:
    name = name.removeprefix("./")
    return name == member or name.endswith("/" + member)


def archive_member(path: Path, member: str) -> bytes:
    """Bytes of the one regular file in the tar (any compression) or zip archive at ``path``
    whose path is ``member`` or ends with ``/member`` (chapter "The problem").

    So ``gensim/test/test_data/x`` finds ``gensim-4.4.0/gensim/test/test_data/x`` in the sdist
    and ``gensim/test/test_data/x`` in a wheel. None or several matches raise KeyError.
    """
    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
            found = [n for n in names if _member_matches(n, member)]
            if len(found) == 1:
                return zf.read(found[0])
    else:
        with tarfile.open(path, "r:*") as tar:
            found = [m for m in tar.getmembers() if m.isfile() and _member_matches(m.name, member)]
            if len(found) == 1:
                f = tar.extractfile(found[0])
                assert f is not None
                return f.read()
    what = "no" if not found else f"{len(found)} members"
    raise KeyError(f"{path} has {what} {member!r}")


def _ar_members(data: bytes) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each member of an ar archive (the container of a .deb)."""
    if not data.startswith(b"!<arch>\n"):
        raise ValueError("not an ar archive (a .deb starts with '!<arch>\\n')")
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        if header[58:60] != b"`\n":
            raise ValueError(f"corrupt ar header at byte {pos}")
        name = header[:16].decode("ascii").strip().removesuffix("/")
        size = int(header[48:58].decode("ascii"))
        pos += 60
        yield name, data[pos : pos + size]
        pos += size + (size & 1)  # members are padded to an even size


def deb_member(path: Path, member: str) -> bytes:
    """Bytes of file ``member`` (e.g. ``usr/share/doc/<pkg>/copyright``) in the Debian package
    at ``path`` (chapter "The problem"): the ar archive's ``data.tar.{xz,gz,bz2}`` member,
    opened with :mod:`tarfile`; see :func:`archive_member`. No ``dpkg`` needed."""
    data = Path(path).read_bytes()
    for name, body in _ar_members(data):
        if name.startswith("data.tar"):
            if name.endswith(".zst"):
                raise ValueError(f"{path}: {name} is zstd-compressed, which tarfile cannot read")
            with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as tar:
                found = [
                    m for m in tar.getmembers() if m.isfile() and _member_matches(m.name, member)
                ]
                if len(found) != 1:
                    raise KeyError(f"{path} has {len(found) or 'no'} member(s) {member!r}")
                f = tar.extractfile(found[0])
                assert f is not None
                return f.read()
    raise ValueError(f"{path} has no data.tar member")


# --------------------------------------------------------------------------------------------
# R serialization (XDR), enough for character vectors, lists and lazy-load indexes
# --------------------------------------------------------------------------------------------

_NA_INTEGER = -(2**31)
_R_NIL, _R_REF = 254, 255
_R_SYM, _R_LIST, _R_CHAR, _R_LGL, _R_INT, _R_REAL, _R_STR, _R_VEC = 1, 2, 9, 10, 13, 14, 16, 19
_R_UTF8, _R_LATIN1, _R_BYTES, _R_ASCII = 1 << 3, 1 << 2, 1 << 1, 1 << 6


class _RReader:
    """R's ``unserialize`` for the XDR format ('X\\n', versions 2 and 3), restricted to NULL,
    symbols, pairlists, character, logical, integer, double and list vectors."""

    def __init__(self, data: bytes):
        if data[:2] != b"X\n":
            raise ValueError(f"not R XDR serialization data (starts with {data[:2]!r})")
        self.data, self.pos, self.refs = data, 2, []
        version = self.int()
        self.int()  # the R version that wrote it
        self.int()  # the oldest R version that can read it
        if version == 3:
            self.native_encoding = self.bytes(self.int()).decode("ascii")
        elif version == 2:
            self.native_encoding = "utf-8"
        else:
            raise ValueError(f"R serialization version {version} is not supported")

    def int(self) -> int:
        (value,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return value

    def bytes(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("truncated R serialization data")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def length(self) -> int:
        n = self.int()
        if n == -1:  # long vector: two more words
            upper, lower = self.int(), self.int()
            n = (upper << 32) + (lower & 0xFFFFFFFF)
        return n

    def item(self) -> object:  # noqa: C901, PLR0912  (one branch per R serialization type)
        flags = self.int()
        kind = flags & 0xFF
        has_attr, has_tag = flags & (1 << 9), flags & (1 << 10)
        if kind == _R_NIL:
            return None
        if kind == _R_REF:
            return self.refs[(flags >> 8 or self.int()) - 1]
        if kind == _R_SYM:
            name = self.item()
            self.refs.append(name)
            return name
        if kind == _R_CHAR:
            n = self.int()
            if n == -1:
                return None  # NA_character_
            raw = self.bytes(n)
            levels = flags >> 12
            if levels & _R_LATIN1:
                return raw.decode("latin-1")
            if levels & (_R_UTF8 | _R_ASCII):
                return raw.decode("utf-8")
            if levels & _R_BYTES:
                raise ValueError("R strings marked as bytes are not supported")
            return raw.decode(self.native_encoding)
        if kind == _R_LIST:
            out: dict[str, object] = {}
            while True:
                if has_attr:
                    self.item()  # a pairlist node's attributes: not kept
                tag = self.item() if has_tag else None
                value = self.item()
                out[tag if tag is not None else str(len(out))] = value
                flags = self.int()
                kind = flags & 0xFF
                if kind == _R_NIL:
                    return out
                if kind != _R_LIST:
                    raise ValueError(f"unsupported pairlist tail of SEXP type {kind}")
                has_attr, has_tag = flags & (1 << 9), flags & (1 << 10)
        if kind in (_R_LGL, _R_INT):
            n = self.length()
            values: list = [None if v == _NA_INTEGER else v for v in self.ints(n)]
        elif kind == _R_REAL:
            n = self.length()
            values = list(struct.unpack(f">{n}d", self.bytes(8 * n)))
        elif kind in (_R_STR, _R_VEC):
            values = [self.item() for _ in range(self.length())]
        else:
            raise ValueError(f"unsupported R SEXP type {kind}")
        attributes = self.item() if has_attr else None
        if isinstance(attributes, dict) and "names" in attributes:
            return dict(zip(attributes["names"], values))
        return values

    def ints(self, n: int) -> tuple[int, ...]:
        return struct.unpack(f">{n}i", self.bytes(4 * n))


def r_unserialize(data: bytes) -> object:
    """Python value of R XDR serialization ``data`` (what ``serialize()`` / ``saveRDS()`` write,
    uncompressed; chapter "The problem").

    NULL -> None; character, logical, integer, double and list vectors -> lists (NA -> None);
    a vector with a ``names`` attribute -> dict; a pairlist -> dict from tag to value. Other
    attributes are dropped; other types (environments, closures, ALTREP) raise ValueError.
    """
    return _RReader(data).item()


def _r_decompress(blob: bytes, compressed: int) -> bytes:
    """One object of a lazy-load database: 4-byte big-endian length, then the compressed
    serialization (R's ``R_decompress1``/``2``/``3`` for ``compress`` = 1/2/3)."""
    (size,) = struct.unpack(">I", blob[:4])
    if compressed == 1:
        out = zlib.decompress(blob[4:])
    else:
        method, body = blob[4:5], blob[5:]
        if method == b"0":
            out = body
        elif method == b"1":
            out = zlib.decompress(body)
        elif method == b"2":
            out = bz2.decompress(body)
        elif method == b"Z":
            out = lzma.decompress(body)
        else:
            raise ValueError(f"unknown lazy-load compression {method!r}")
    if len(out) != size:
        raise ValueError(f"lazy-load object is {len(out)} bytes, its header says {size}")
    return out


def r_lazyload(rdx: bytes, rdb: bytes) -> dict[str, object]:
    """The variables of an R lazy-load database (``Rdata.rdx`` + ``Rdata.rdb``, as an installed
    R package keeps its data; chapter "The problem"), by name; see :func:`r_unserialize`."""
    index = r_unserialize(gzip.decompress(rdx) if rdx[:2] == b"\x1f\x8b" else rdx)
    if not isinstance(index, dict) or "variables" not in index:
        raise ValueError("not a lazy-load index (no 'variables')")
    compressed = index.get("compressed") or [1]
    kind = compressed[0] if isinstance(compressed, list) else compressed
    out = {}
    for name, (offset, length) in index["variables"].items():
        out[name] = r_unserialize(_r_decompress(rdb[offset : offset + length], int(kind)))
    return out


def r_load_rdata(data: bytes) -> dict[str, object]:
    """The variables of an ``.rda`` / ``.RData`` file (gzip, bzip2, xz or uncompressed; format
    RDX2 or RDX3), by name (chapter "The problem"); see :func:`r_unserialize`."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    elif data[:3] == b"BZh":
        data = bz2.decompress(data)
    elif data[:6] == b"\xfd7zXZ\x00":
        data = lzma.decompress(data)
    if data[:5] not in (b"RDX2\n", b"RDX3\n"):
        raise ValueError(f"not an XDR .rda file (starts with {data[:5]!r})")
    value = r_unserialize(data[5:])
    if not isinstance(value, dict):
        raise ValueError("an .rda file holds a pairlist of variables")
    return value


# --------------------------------------------------------------------------------------------
# Jane Austen (janeaustenr 1.0.0)
# --------------------------------------------------------------------------------------------

#: The six novels, as named in janeaustenr; ``janeausten/<name>.txt`` in the data directory.
JANEAUSTEN_BOOKS = (
    "emma",
    "mansfieldpark",
    "northangerabbey",
    "persuasion",
    "prideprejudice",
    "sensesensibility",
)
_JANEAUSTENR_DATA = "usr/lib/R/site-library/janeaustenr/data/"


def lines_text(lines: Sequence[str | None]) -> bytes:
    """A character vector as a text file (chapter "The problem"): one element per line, each
    ended by ``\\n``, UTF-8. An NA element raises ValueError."""
    if any(line is None for line in lines):
        raise ValueError("the character vector has NA elements")
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def austen_novel_from_deb(path: Path, book: str) -> bytes:
    """``janeausten/<book>.txt`` from the Debian package r-cran-janeaustenr at ``path``: the
    character vector ``book`` of its ``data/Rdata.rdx`` + ``Rdata.rdb``, one element per line
    (chapter "The problem")."""
    rdx = deb_member(path, _JANEAUSTENR_DATA + "Rdata.rdx")
    rdb = deb_member(path, _JANEAUSTENR_DATA + "Rdata.rdb")
    return lines_text(r_lazyload(rdx, rdb)[book])


def austen_novel_from_rda(path: Path, book: str) -> bytes:
    """``janeausten/<book>.txt`` from janeaustenr's ``data/<book>.rda`` at ``path``, one element
    per line (chapter "The problem")."""
    return lines_text(r_load_rdata(Path(path).read_bytes())[book])


# --------------------------------------------------------------------------------------------
# enwiki sample (gensim 4.4.0's Wikipedia dump sample)
# --------------------------------------------------------------------------------------------

#: The Wikipedia dump sample in the gensim sdist and wheels (206 pages, 106 articles).
ENWIKI_MEMBER = (
    "gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
)
_ENWIKI_MIN_ARTICLE_CHARS = 200  # segment_wiki's default min_article_character
_ENWIKI_MIN_LINE_CHARS = 40
_ENWIKI_WORDS = (5, 80)
_ENWIKI_SKIP_LINE_START = "=*:#;"  # headings, lists, indents, definition lists
_ENWIKI_BOLD_ITALIC = re.compile(r"'{2,}")
_ENWIKI_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"])")
_ENWIKI_MARKUP_LEFT = re.compile(r"[|<>{}]")


def enwiki_articles(xml_bz2: bytes) -> list[tuple[str, list[tuple[str, str]]]]:
    """Articles of a bz2 MediaWiki dump as ``(title, [(section heading, plain text), ...])``,
    exactly as ``gensim.scripts.segment_wiki.segment_all_articles`` yields them with its
    defaults, in one process (chapter "The problem").

    Needs gensim (the output depends on its ``filter_wiki``; the data file was made with 4.4.0).
    """
    from gensim.corpora.wikicorpus import IGNORED_NAMESPACES
    from gensim.scripts.segment_wiki import extract_page_xmls, segment

    articles = []
    with bz2.open(io.BytesIO(xml_bz2)) as f:
        for page_xml in extract_page_xmls(f):
            title, sections = segment(page_xml)
            # the filters of segment_wiki's _WikiSectionsCorpus.get_texts_with_sections
            if any(title.startswith(ns + ":") for ns in IGNORED_NAMESPACES):
                continue
            if not sections or sections[0][1].lstrip().lower().startswith("#redirect"):
                continue
            if sum(len(body.strip()) for _, body in sections) < _ENWIKI_MIN_ARTICLE_CHARS:
                continue
            articles.append((title, list(sections)))
    return articles


def enwiki_sentences(articles: Iterable[tuple[str, Iterable[tuple[str, str]]]]) -> Iterator[str]:
    """Sentences of segmented articles (chapter "The problem"), in order.

    In each section text: bold/italic quotes (two or more ``'``) are removed; each line has its
    whitespace collapsed to single spaces and is skipped if shorter than 40 characters or if it
    starts with ``= * : # ;`` (headings, list items, indents); the rest is split after ``.``,
    ``!`` or ``?`` followed by whitespace and an upper-case ASCII letter or ``"``. A sentence is
    kept if it has no ``| < > { }`` (markup left over) and 5 to 80 words.
    """
    lo, hi = _ENWIKI_WORDS
    for _title, sections in articles:
        for _heading, text in sections:
            text = _ENWIKI_BOLD_ITALIC.sub("", text)
            for line in text.split("\n"):
                line = " ".join(line.split())
                if len(line) < _ENWIKI_MIN_LINE_CHARS or line[0] in _ENWIKI_SKIP_LINE_START:
                    continue
                for sentence in _ENWIKI_SENTENCE_BREAK.split(line):
                    if _ENWIKI_MARKUP_LEFT.search(sentence):
                        continue
                    if lo <= len(sentence.split()) <= hi:
                        yield sentence


def enwiki_sample(path: Path) -> bytes:
    """``enwiki_sample/enwiki_sample_sentences.txt`` (chapter "The problem"): one sentence a line
    (:func:`enwiki_sentences` of :func:`enwiki_articles`), UTF-8, from the gensim 4.4.0 sdist,
    a gensim wheel, or the bare ``.bz2`` dump sample at ``path``. Needs gensim."""
    data = Path(path).read_bytes()
    if not data.startswith(b"BZh"):
        data = archive_member(Path(path), ENWIKI_MEMBER)
    return "".join(f"{s}\n" for s in enwiki_sentences(enwiki_articles(data))).encode("utf-8")


# --------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------

_SYNWMD = ("amao0o0/SynWMD", "59042a92e862db58bd01e47914345d2f52d2a4a3")
_STS_TOOLKITS = (
    "zhangzhenhu/Semantic-Texual-Similarity-Toolkits",
    "c55a72f51bd15a8bd75114247c06984b432050f9",
)
_USIF = ("kawine/usif", "71ffef5b6d7295c36354136bfc6728a10bd25d32")
_STASIS = ("alvations/stasis", "1fc82d8a9bc988b7d2ddedc8fc61b71ec2e69c4d")
_PYTORCH_EXAMPLES = ("pytorch/examples", "77f55b912142e11fcfdf5b530231fb9c52f181e8")
_CHAR_RNN = ("karpathy/char-rnn", "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e")
_EVAL_WORD_VECTORS = ("mfaruqui/eval-word-vectors", "94b3dd9fdbac7ed08dbee7179cd5ee464acf0594")
_SIMCROSS = ("mrmechko/simcross", "ffc5c7598185be00260d81fd71274db32e6bceda")
_WIKI1M_PREFIX = (
    "SadiaAfrinPurba/bert-vae-cnn-for-sentence-similarity",
    "baa1dbc2c090b303527fe71efabbb351e7e3510b",
)
_JANEAUSTENR = ("juliasilge/janeaustenr", "944e9a5ff62e40175dcf5bcacd7bda0a3ec673b6")  # v1.0.0
_STS = "data/downstream/STS/"

#: Files that are themselves an artifact on GitHub: (data folder, [(repo, folder in repo), ...]
#: with the original first, note, "sha256 file-name" lines).
_GITHUB_FILES = (
    (
        "stsb",
        [(_SYNWMD, _STS + "STSBenchmark/stsbenchmark"), (_STS_TOOLKITS, "data/stsbenchmark")],
        "STS Benchmark (Cer et al. 2017), original release files",
        """
3dfc3217395f8c5dd05c5f8995f25fe2f8fd258e6dd770b3de480749caee8c70 LICENSE.txt
64cba57b061b8d6b92756c88c7cba114300d63ccdfa14d8d6456f77fc3080a60 correlation.pl
e9488363d211c32ca5e912954f16eb9233cfed1b5b4b0475d0d812d35d7c8ef1 readme.txt
5d7e944d8b02734b07bfdb5df67db3420c64bed153fcaa1ba47ad03480cf4234 sts-dev.csv
affe45928a66ee5a708531233c95b7dacbbdc57f974f002a3d32ea0180cf816a sts-test.csv
0f71910b59aa1ad973c5897f0791f3b0965a92b8f82b1a95f3eea9f4162fda82 sts-train.csv
""",
    ),
    (
        "sts12_16/STS12",
        [(_SYNWMD, _STS + "STS12-en-test/test-gold"), (_USIF, "STS/STS-data/STS2012-gold")],
        "SemEval STS 2012 English test set with gold scores",
        """
d47be1641ac98ac312de6f0746b65683df392f70d843eaac9fb10ebd4cb4cb63 00-readme.txt
5bcbfda125ad56a1b924763482420b585bea9bf74dc2c18d88d62cd6d2e3422f STS.gs.ALL.txt
5526be59228bc34ccb3cb6f1f56c0d7278d3419b8886713ae016fd92b151f19c STS.gs.MSRpar.txt
9c6096c6bcfb0144c8bbddb00900ca9198c88498630cd0c8f08d18365f1d7150 STS.gs.MSRvid.txt
708530c4d006d06881f3289fce35d624d7efe562dcf0fe5f8aa0eec3a135f6d4 STS.gs.SMTeuroparl.txt
088d8ca22c0aa406e4a5d2e6e308a4f38b482b8e736c2445a38ffb6e4c4fb4fd STS.gs.surprise.OnWN.txt
aa6dfc868db333c43dc59be14d46fa6587c7ebddc0d497e717f647bf35121cf1 STS.gs.surprise.SMTnews.txt
76bf7089f9e7c05732163a227b3ce679512554513eb783f2548b07d659bd733d STS.input.MSRpar.txt
476d14034a241f71b832e4ae557dd6cdbe265b57c915570a2583f93b4456948d STS.input.MSRvid.txt
dd31dbb6e7eef8a0d00347fe012f7cf372943167e30f60f6fb3b10219a41941f STS.input.SMTeuroparl.txt
07ec7b91348aece0873b41f7fc4e76e9fddf05bdb82c048c98d92f5db0bec07d STS.input.surprise.OnWN.txt
2788a98ef33c3b7b704ef4891fe863cfcf061338e8aa41cb737d0f137f3ba03c STS.input.surprise.SMTnews.txt
""",
    ),
    (
        "sts12_16/STS13",
        [(_SYNWMD, _STS + "STS13-en-test/test-gs"), (_USIF, "STS/STS-data/STS2013-gold")],
        "SemEval STS 2013 English test set with gold scores (SMT subset omitted)",
        """
531ee28a3787b11dd14dda8d809e724479d87f9705120494aad584c9cb14a6ce 00-readme.txt
8ca95b7228119578e2007839cf7969f22c4f1fd41fd610c4b7f9683072d98066 STS.gs.FNWN.txt
0cd497aaddb00a2fb6db25f77bccfc09e8aa012e11549b81b434bab1a27ad954 STS.gs.OnWN.txt
f49f64089011436dd296ef384c07160219406feef7dc4b9fa2af52a519f32bc6 STS.gs.headlines.txt
b48fc64cd85703ac6431f8ea6722f325fe9620fd4f33b3d5c24dd89c553e74bc STS.input.FNWN.txt
127c66889627f26dc11864dc9be4ba1e4895ed60125985c755429ad588e4b9c8 STS.input.OnWN.txt
885e6149fff28a79591ba464c13626d03593b822c88c7c04b6564354d31c7561 STS.input.headlines.txt
""",
    ),
    (
        "sts12_16/STS14",
        [
            (_SYNWMD, _STS + "STS14-en-test/sts-en-test-gs-2014"),
            (_USIF, "STS/STS-data/STS2014-gold"),
        ],
        "SemEval STS 2014 English test set with gold scores",
        """
9fe9d64362ac42ed24010d5b00f227235a660dc2466fba743f31051fd121ef73 00-readme.txt
1c80147df270ea4cfce14a47ed29f8a2f10d5dc016d02836077fd786ff7f535b STS.gs.OnWN.txt
ba6dc76696b5c93985590a325b4d142449932cdf0d715b2bab1b1743fe3c488c STS.gs.deft-forum.txt
105c5b333abd50c274efb4dae9e3e0dab36ed63eee780cfb49955b1586bd62f2 STS.gs.deft-news.txt
f243c34647255cd0b994565ed4f58dd31506e7d9c9d6250d1a6dd14095625832 STS.gs.headlines.txt
fc994ebacc7074c332626fa9e29542d7340a48a3cdb999b47cdb59c378523a62 STS.gs.images.txt
0098c644bfeaa2d511a8297b1940771865900c372c9dd49a62726dc5ec02c9a3 STS.gs.tweet-news.txt
a227d5fe1c1f729a52a0b39b5b36d3225e1bca3c278e7ed392cac2ecd3990f1c STS.input.OnWN.txt
8b48aa15bb850e2827446f6e98cc3c5123ff283924b4571a409aa2fab73e35c6 STS.input.deft-forum.txt
92df5b8c48873cbfba36b73a77955fb965c9244776df9e9c2c4d2f6155bdeefe STS.input.deft-news.txt
a19f84294325c62a2a403b59957196fd7737f86654ded0e04e0b54bc4a8bcf9e STS.input.headlines.txt
cec1b3c08b0e4c88aeaf8dca047f5b28f4a8588eeef58475e0f16491d2bb7193 STS.input.images.txt
250d29ec9394e35443b2a73016ccc55e11b20939a3b8ee3bea9a858ba2f9adc0 STS.input.tweet-news.txt
""",
    ),
    (
        "sts12_16/STS15",
        [
            (_SYNWMD, _STS + "STS15-en-test/test_evaluation_task2a"),
            (_USIF, "STS/STS-data/test_evaluation_task2a"),
        ],
        "SemEval STS 2015 English test set with gold scores",
        """
38fe35ef21a0f224b6cc51e00d138810063521cd90458a7d77e4e0aa3a79542d 00-readme.txt
1644301a7540e5484da285002e9269062852efb2272be614cad99c9530f6a102 STS.gs.answers-forums.txt
028db213140f8c7aef7497c4ae38b6380938f20359852231669c83dce11c3701 STS.gs.answers-students.txt
5736192faaccbdbecd0ef6b73ec04b24115cd2e48d55dc3b1b170da3d2a81c75 STS.gs.belief.txt
e8e432f769c8a94ddb62ae3343890ac24a9dd78a116d56c707313bc59413dd56 STS.gs.headlines.txt
ed8878209098c77ca7f02ac413d3fd698f92ad3425999555e50fda89fc46012a STS.gs.images.txt
65718ec23624d97933308adc08cb270db798cdd5593d35501be9bfda5ba1a28a STS.input.answers-forums.LICENSE
fe8e460a74e8e38704ac4e6ddcedec89fd6e51cd0467d6f4301b444b259688e1 STS.input.answers-forums.txt
16eedf46fb3b29822b275a0ddcff8e873a6eb4bafba244a17c4049ffc318d62a STS.input.answers-students.txt
6e924a19fb1abbce01a8666f07766250b46a96c89272de8e5b01d0905bc61b79 STS.input.belief.txt
779c195c54b72282bd3c8ca1dbb09a4155a39b2acd13d5cf819d8555d717cf6a STS.input.headlines.txt
6f332542a75bcd18ea1442fc129306f746cd7ade7010ea274e763bfca576cc47 STS.input.images.txt
""",
    ),
    (
        "sts12_16/STS16",
        [
            (_SYNWMD, _STS + "STS16-en-test/sts2016-english-with-gs-v1.0"),
            (_USIF, "STS/sts2016-english-v1.1"),
        ],
        "SemEval STS 2016 English test set, inputs and license",
        """
94b7380d16f832ae97bcb48536f22fe9a22e8e20f8cf88a9298f65c556e3a6f2 LICENSE.txt
7daf2cd87751a0f8b754fe705bdb280c31591d9febf5b6fce9dcb10d3b8a72a7 STS2016.input.answer-answer.txt
ec8ee1124e71f4cc18c861f542fa8f32c86fef0703de31b0f7a02e22e935d992 STS2016.input.headlines.txt
6760cb210f4423262fd8962674e6668409690ce888bb1617659c6886cf004019 STS2016.input.plagiarism.txt
a8a66185877785307803c99a0899d65aefb062c4bf7689560b95d37bb0c05474 STS2016.input.postediting.txt
b7f95dead3d8c59fbaacbb135643c6ebd322682db6502fdb24d4ce83c9bf016d STS2016.input.question-question.txt
""",
    ),
    (
        "sts12_16/STS16",
        [(_SYNWMD, _STS + "STS16-en-test/sts2016-english-with-gs-v1.0")],
        "SemEval STS 2016 English gold scores and readme (no byte-identical mirror known)",
        """
1b74b4c84a59f139153f0348e212bfdb33dffd3b008dfb2c4f7728c4fa27141f README.txt
332efd741b0cb247d20dd2a6cec854360c921c7e6b395f328f562d8d26057214 STS2016.gs.answer-answer.txt
01e33a95996201a6e81e3cce9eda0f15048b77613ea64dce2929bb35479f7d85 STS2016.gs.headlines.txt
29984944a91aaff484f2b2e5d4d434fc8a6f5ef6f578a880cccd2786f5142fdc STS2016.gs.plagiarism.txt
81947ed9dbe7f85b7bd249df68ed5c7b2f16f06390ad568eb5554b1e26bc5577 STS2016.gs.postediting.txt
cf9ebf9d140191f73620cda0560947ad9283c910735d0d541b8a401a5e64afb0 STS2016.gs.question-question.txt
""",
    ),
    (
        "sick",
        [(_USIF, "STS/SICK-data"), (_STASIS, "SICK-data")],
        "SICK (Marelli et al. 2014), original CRLF files with header",
        """
2b8aa806658d6fc23c6824c83776c2d4fee7556000817b5ec0f982861413b7d0 SICK_test_annotated.txt
266cf8047149bd1d68138dd30439f3122bff30069740ac6705bb6197d9f1b48e SICK_train.txt
5a88cfb62f8c6bd2a3cce0f2421ba2cb8c2be5ab4a800f6f01e2c64aafb7db56 SICK_trial.txt
ba8ce41d6de1a7c694dedb6e536d7a05212f104372687fbe7d8d448f8c308232 readme.txt
""",
    ),
    (
        "wikitext2",
        [(_PYTORCH_EXAMPLES, "word_language_model/data/wikitext-2")],
        "WikiText-2 (Merity et al. 2016), tokenized valid/test splits",
        """
ed96062abea03d4f4e8ca80f0caad8b07ec59687b8064319c7ee6f6d900b6286 README
d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0 test.txt
f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8 valid.txt
""",
    ),
    (
        "tinyshakespeare",
        [(_CHAR_RNN, "data/tinyshakespeare")],
        "Tiny Shakespeare (Karpathy char-rnn)",
        """
86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed input.txt
""",
    ),
    (
        "wordsim/eval-word-vectors",
        [(_EVAL_WORD_VECTORS, "data/word-sim")],
        "word-similarity sets collected in Faruqui's eval-word-vectors",
        """
33ee05911496ff83d95cac351d0746c6f63b9181b605cb7d307f4daa8864511b EN-MC-30.txt
888b13580faa362c7b11da0a670258cf1b1eb4bf0ecbcd418918729a3bd3f43a EN-MEN-TR-3k.txt
a9ae3a9decb75a9700fe0cf18b048c1344774d9f40e0196baf8e34d4cd9d1ce5 EN-MTurk-287.txt
04dc297c9e86b6fa7cf8ef0e4ba2e2c8d3399ec68d92fb7a53c0b4aae27198b5 EN-MTurk-771.txt
c243f3a91c3f5d8cf67f21a67f6fb80bde8b6bb060851a6a48e6f2d68ec98c9f EN-RG-65.txt
5108d54dfc746f44f9c3d7e31d2857c37cf71430bc1594175a61a3b89bb0ae1f EN-RW-STANFORD.txt
405394ffb7d25f6d0e3c041f87c9f27d29dc6b047506769953e85c4523b11685 EN-SIMLEX-999.txt
9d84274e7ad029fd3cf69dd0516e9ade624bbef9bd4e2050f6cc1fa01471e0f5 EN-SimVerb-3500.txt
7259e19961c81912aa4c72de0102e480b2ad2bb9f4ce97d036fbde8e1a403001 EN-VERB-143.txt
ce12919b240af45bdf46d243601eaca2b6212b159b5e7e9b435ee7ee40c5619c EN-WS-353-ALL.txt
66a7c88100624d0a391605ff61ce84e11d11ee620d51ec0298da49592838f8fa EN-WS-353-REL.txt
f1da938998863c94e53f72f984a5c6e215f0b46c323aae8f0f4930703a339107 EN-WS-353-SIM.txt
7643fdbc6158c3424061e2cba450c71285767266ff9f3db947bfc1f1f5ce67ab EN-YP-130.txt
""",
    ),
    (
        "wordsim/MEN",
        [(_SIMCROSS, "MEN")],
        "MEN (Bruni et al. 2014), natural and lemma forms",
        """
ea3441417fea4be40916422957cddce912dd7a8bb8f81d8ded532a667e80d6eb MEN_dataset_lemma_form_full
87a5b7229e6cf32426063da921e83031b9efeab3101d4413eaa3f44fcbce3a45 MEN_dataset_natural_form_full
477383b389403f92cea022a693ca6eb69daab81ce27b151be0888bf79b0f49b4 instructions.txt
d8d7416e8adbba39f5eeabf2876a98293c4ac2ce2f25f7446d6a435f8e7b67b6 licence.txt
""",
    ),
)


def _github_upstreams() -> dict[str, Upstream]:
    out = {}
    for folder, sources, note, files in _GITHUB_FILES:
        for sha256, name in (line.split() for line in files.strip().splitlines()):
            urls = tuple(github_raw_url(*repo, f"{path}/{name}") for repo, path in sources)
            out[f"{folder}/{name}"] = Upstream(urls, sha256, f"{note}: {name}")
    out["wordsim/eval-word-vectors/LICENSE.code-MIT"] = Upstream(
        (github_raw_url(*_EVAL_WORD_VECTORS, "LICENSE"),),
        "d966f71dc26b1a28af0c2176721a503ad4abf6267638c64d3bed2be6034840d1",
        "eval-word-vectors' code license (MIT)",
    )
    return out


_GITHUB_UPSTREAMS = _github_upstreams()
_GENSIM_SDIST = "gensim-4.4.0.tar.gz"
_JANEAUSTENR_DEB = "r-cran-janeaustenr_1.0.0-1_all.deb"

#: Every public artifact, by key: the GitHub files under their data path (an artifact is the
#: file itself there), the others under a name of their own.
UPSTREAMS: dict[str, Upstream] = {
    **_GITHUB_UPSTREAMS,
    "wiki1m-prefix": Upstream(
        (github_raw_url(*_WIKI1M_PREFIX, "data/wiki1m_for_simcse.txt"),),
        "e8b96b77ffcd3226cbddb6e9eb1185bcefee7118d6281792970a5e7a31432c42",
        "the first 1,280,000 bytes of SimCSE's wiki1m_for_simcse.txt, committed on GitHub",
    ),
    "wiki1m-simcse": Upstream(
        (
            "https://huggingface.co/datasets/princeton-nlp/datasets-for-simcse/resolve/main/"
            "wiki1m_for_simcse.txt",
        ),
        None,
        "SimCSE's wiki1m_for_simcse.txt (1M Wikipedia sentences, ~120 MB; URL of "
        "princeton-nlp/SimCSE data/download_wiki.sh, a branch, not a commit)",
    ),
    "gensim-4.4.0-sdist": Upstream(
        (
            "https://files.pythonhosted.org/packages/1a/80/"
            "fe9d2e1ace968041814dbcfce4e8499a643a36c41267fa4b6c4f54cce420/" + _GENSIM_SDIST,
        ),
        "a3f5b626da5518e79a479140361c663089fe7998df8ba52d56e1ded71ac5bdf5",
        "PyPI gensim 4.4.0 sdist (holds gensim/test/test_data: Wikipedia dump sample, "
        "wordsim353.tsv, simlex999.txt)",
    ),
    "r-cran-janeaustenr-deb": Upstream(
        (
            "https://deb.debian.org/debian/pool/main/r/r-cran-janeaustenr/" + _JANEAUSTENR_DEB,
            "https://snapshot.debian.org/archive/debian/20230610T000000Z/pool/main/r/"
            "r-cran-janeaustenr/" + _JANEAUSTENR_DEB,
            "https://snapshot.debian.org/file/0526a5841219e475fbbf6e2d3bcd96e6fb0f479d",
        ),
        "df6bddf211906d1ff404f8ff662c21b34e6660e7f54a311084e749050c019c95",
        "Debian bookworm package r-cran-janeaustenr 1.0.0-1 (Jane Austen's six novels for R)",
    ),
    **{
        f"janeaustenr-{book}.rda": Upstream(
            (github_raw_url(*_JANEAUSTENR, f"data/{book}.rda"),),
            sha256,
            f"janeaustenr 1.0.0 (GitHub tag v1.0.0) data/{book}.rda",
        )
        for book, sha256 in {
            "emma": "65594dab7e37779e5b36c8551886d35cef2149fb442793e49b9879a4287f33f2",
            "mansfieldpark": "c5903def1e79b8494097f9bc5c52d0fb173084450432c10dfd9647c0d3bd3e2d",
            "northangerabbey": "d4b8163fba67575e3125f532752baf7d86bf25dbf975aa596b92d3868cab9519",
            "persuasion": "758a227662b5f94785199b5c80a3d23533b397d476ddc43289181fb556d945a0",
            "prideprejudice": "9704d3d55b0e59f3e9f6d6032d192200f925ec7b2ba4f1dba402f179578ae3c9",
            "sensesensibility": (
                "0fef9c0d7598e30a0c09e866e3db4117b4a47d31cbc28cc8783eb4abdad03593"
            ),
        }.items()
    },
}

#: Every data file (path relative to the data directory, as in ``data_sha256.txt``) -> recipe.
RECIPES: dict[str, Recipe] = {
    **{key: Recipe(key) for key in _GITHUB_UPSTREAMS},
    "wiki1m_sample/wiki1m_head.txt": Recipe(
        "wiki1m-prefix", wiki1m_head, fallbacks=(Recipe("wiki1m-simcse", wiki1m_head),)
    ),
    "enwiki_sample/enwiki_sample_sentences.txt": Recipe("gensim-4.4.0-sdist", enwiki_sample),
    "wordsim/gensim/simlex999.txt": Recipe(
        "gensim-4.4.0-sdist",
        partial(archive_member, member="gensim/test/test_data/simlex999.txt"),
    ),
    "wordsim/gensim/wordsim353.tsv": Recipe(
        "gensim-4.4.0-sdist",
        partial(archive_member, member="gensim/test/test_data/wordsim353.tsv"),
    ),
    "janeausten/debian-copyright": Recipe(
        "r-cran-janeaustenr-deb",
        partial(deb_member, member="usr/share/doc/r-cran-janeaustenr/copyright"),
    ),
    **{
        f"janeausten/{book}.txt": Recipe(
            "r-cran-janeaustenr-deb",
            partial(austen_novel_from_deb, book=book),
            fallbacks=(
                Recipe(f"janeaustenr-{book}.rda", partial(austen_novel_from_rda, book=book)),
            ),
        )
        for book in JANEAUSTEN_BOOKS
    },
}
