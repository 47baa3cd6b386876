"""aniso.data.sources: the table of pinned public sources and the derivations of the data files.

The derivations are checked on tiny archives built here (a .deb, a tar.gz sdist, a zip wheel, R
serializations, a bz2 MediaWiki dump). The real upstream artifacts are checked only when
ANISO_UPSTREAM_DIR names a folder that holds them, each at ``artifact_relpath(key)``.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import re
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from aniso.data import datadir
from aniso.data import sources as datasources
from aniso.data.sources import (
    RECIPES,
    UPSTREAMS,
    Recipe,
    archive_member,
    artifact_relpath,
    austen_novel_from_deb,
    austen_novel_from_rda,
    deb_member,
    enwiki_articles,
    enwiki_sample,
    enwiki_sentences,
    first_lines,
    lines_text,
    r_lazyload,
    r_load_rdata,
    r_unserialize,
    wiki1m_head,
)

#: The data folders the chapters read (wordsim/ is in the table too, though no chapter reads it).
BOOK_FOLDERS = (
    "stsb/",
    "sts12_16/",
    "sick/",
    "wiki1m_sample/",
    "enwiki_sample/",
    "wikitext2/",
    "tinyshakespeare/",
    "janeausten/",
)


def _chain(recipe: Recipe) -> list[Recipe]:
    return [recipe, *recipe.fallbacks]


# ------------------------------------------------------------------------------------------
# the table
# ------------------------------------------------------------------------------------------


def test_every_data_file_has_a_recipe_and_every_recipe_a_sum():
    sums = datadir.sums()
    book_files = {rel for rel in sums if rel.startswith(BOOK_FOLDERS)}
    assert len(book_files) == 79
    assert book_files <= set(RECIPES)
    assert set(RECIPES) == set(sums)
    for rel, recipe in RECIPES.items():
        for r in _chain(recipe):
            assert r.upstream in UPSTREAMS, rel


def test_files_taken_as_is_have_the_sum_of_their_artifact():
    sums = datadir.sums()
    as_is = [rel for rel, r in RECIPES.items() if r.extract is None]
    assert len(as_is) == 88
    for rel in as_is:
        assert UPSTREAMS[RECIPES[rel].upstream].sha256 == sums[rel], rel
        assert not RECIPES[rel].fallbacks  # mirrors of the same bytes are URLs of one upstream


def test_urls_are_pinned():
    github = re.compile(r"https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/\S+")
    for key, up in UPSTREAMS.items():
        assert up.urls and up.note and "\n" not in up.note, key
        for url in up.urls:
            assert url.startswith("https://"), url
            if "githubusercontent" in url:
                assert github.fullmatch(url), url
        if up.sha256 is not None:
            assert re.fullmatch(r"[0-9a-f]{64}", up.sha256), key
    # only SimCSE's own copy of wiki1m has no known sum (its URL names a branch)
    assert [k for k, up in UPSTREAMS.items() if up.sha256 is None] == ["wiki1m-simcse"]
    assert UPSTREAMS["stsb/sts-train.csv"].urls == (
        "https://raw.githubusercontent.com/amao0o0/SynWMD/59042a92e862db58bd01e47914345d2f52d2a4a3"
        "/data/downstream/STS/STSBenchmark/stsbenchmark/sts-train.csv",
        "https://raw.githubusercontent.com/zhangzhenhu/Semantic-Texual-Similarity-Toolkits"
        "/c55a72f51bd15a8bd75114247c06984b432050f9/data/stsbenchmark/sts-train.csv",
    )
    assert UPSTREAMS["r-cran-janeaustenr-deb"].urls[0] == (
        "https://deb.debian.org/debian/pool/main/r/r-cran-janeaustenr/"
        "r-cran-janeaustenr_1.0.0-1_all.deb"
    )


def test_artifact_relpaths_are_distinct():
    paths = [artifact_relpath(k) for k in UPSTREAMS]
    assert len(set(paths)) == len(paths)
    assert artifact_relpath("sts12_16/STS12/00-readme.txt") == (
        "sts12_16/STS12/00-readme.txt/00-readme.txt"
    )
    assert artifact_relpath("gensim-4.4.0-sdist") == "gensim-4.4.0-sdist/gensim-4.4.0.tar.gz"


# ------------------------------------------------------------------------------------------
# wiki1m: the first complete lines
# ------------------------------------------------------------------------------------------


def test_first_lines_keeps_complete_lines_across_chunks(tmp_path):
    f = tmp_path / "w.txt"
    f.write_bytes(b"one\ntwo two\nthree\nfour is cut")
    for chunk in (1, 3, 5, 1 << 20):
        assert first_lines(f, 2, chunk) == b"one\ntwo two\n"
        assert first_lines(f, 3, chunk) == b"one\ntwo two\nthree\n"
    assert first_lines(f, 0) == b""
    with pytest.raises(ValueError, match="3 complete lines, fewer than 4"):
        first_lines(f, 4)


def test_wiki1m_head_is_the_same_from_the_prefix_and_the_full_file(tmp_path, monkeypatch):
    monkeypatch.setattr(datasources, "WIKI1M_LINES", 2)
    lines = [f"Sentence {i} é.\n".encode() for i in range(5)]
    prefix, full = tmp_path / "prefix.txt", tmp_path / "full.txt"
    prefix.write_bytes(b"".join(lines[:2]) + lines[2][:4])  # a byte cut, the last line broken
    full.write_bytes(b"".join(lines))
    assert wiki1m_head(prefix) == wiki1m_head(full) == "Sentence 0 é.\nSentence 1 é.\n".encode()


# ------------------------------------------------------------------------------------------
# archives
# ------------------------------------------------------------------------------------------


def _tar(members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _ar(members: dict[str, bytes]) -> bytes:
    out = b"!<arch>\n"
    for name, data in members.items():
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n"
        out += header.encode("ascii") + data + (b"\n" if len(data) % 2 else b"")
    return out


def _deb(files: dict[str, bytes], data_name: str = "data.tar.xz") -> bytes:
    mode = {"data.tar.xz": "w:xz", "data.tar.gz": "w:gz", "data.tar.zst": "w"}[data_name]
    return _ar(
        {
            "debian-binary": b"2.0\n",
            "control.tar.xz": _tar({"./control": b"Package: x\n"}, "w:xz") + b"!",  # odd size
            data_name: _tar({f"./{k}": v for k, v in files.items()}, mode),
        }
    )


def test_archive_member_in_an_sdist_and_a_wheel(tmp_path):
    member = "pkg/test/test_data/a.txt"
    sdist, wheel = tmp_path / "pkg-1.0.tar.gz", tmp_path / "pkg-1.0-py3-none-any.whl"
    sdist.write_bytes(_tar({"pkg-1.0/pkg/test/test_data/a.txt": b"A\n", "pkg-1.0/b.txt": b"B"}))
    wheel.write_bytes(_zip({member: b"A\n", "pkg/b.txt": b"B"}))
    assert archive_member(sdist, member) == archive_member(wheel, member) == b"A\n"
    assert archive_member(sdist, "b.txt") == b"B"
    with pytest.raises(KeyError, match="no"):
        archive_member(wheel, "pkg/test/test_data/c.txt")
    twice = tmp_path / "twice.zip"
    twice.write_bytes(_zip({"x/a.txt": b"1", "y/a.txt": b"2"}))
    with pytest.raises(KeyError, match="2 members"):
        archive_member(twice, "a.txt")


def test_deb_member(tmp_path):
    deb = tmp_path / "x_1.0-1_all.deb"
    deb.write_bytes(_deb({"usr/share/doc/x/copyright": b"MIT\n", "usr/lib/x/y": b"y"}))
    assert deb_member(deb, "usr/share/doc/x/copyright") == b"MIT\n"
    gz = tmp_path / "gz.deb"
    gz.write_bytes(_deb({"usr/lib/x/y": b"y"}, "data.tar.gz"))
    assert deb_member(gz, "usr/lib/x/y") == b"y"
    zst = tmp_path / "zst.deb"
    zst.write_bytes(_deb({"usr/lib/x/y": b"y"}, "data.tar.zst"))
    with pytest.raises(ValueError, match="zstd"):
        deb_member(zst, "usr/lib/x/y")
    with pytest.raises(KeyError):
        deb_member(deb, "usr/lib/x/z")
    not_deb = tmp_path / "not.deb"
    not_deb.write_bytes(b"PK\x03\x04")
    with pytest.raises(ValueError, match="not an ar archive"):
        deb_member(not_deb, "usr/lib/x/y")


# ------------------------------------------------------------------------------------------
# R serialization: a tiny writer for the XDR format
# ------------------------------------------------------------------------------------------


def _i(*values: int) -> bytes:
    return struct.pack(f">{len(values)}i", *values)


def _header(version: int = 3) -> bytes:
    head = b"X\n" + _i(version, 0x040201, 0x030500)
    return head + (_i(5) + b"UTF-8" if version == 3 else b"")


def _char(s: str | None, enc: str = "ascii") -> bytes:
    if s is None:
        return _i(9, -1)
    raw = s.encode("latin-1" if enc == "latin1" else "utf-8")
    levels = {"ascii": 64, "utf8": 8, "latin1": 4, "native": 0}[enc]
    return _i(9 | levels << 12, len(raw)) + raw


def _str(items: list[bytes], attr: bytes = b"") -> bytes:
    return _i(16 | (1 << 9 if attr else 0), len(items)) + b"".join(items) + attr


def _ints(values: list[int], kind: int = 13) -> bytes:
    return _i(kind, len(values), *values)


def _vec(items: list[bytes], attr: bytes = b"") -> bytes:
    return _i(19 | (1 << 9 if attr else 0), len(items)) + b"".join(items) + attr


def _sym(name: str) -> bytes:
    return _i(1) + _char(name)


def _ref(index: int) -> bytes:
    return _i(255 | index << 8)


def _pairlist(nodes: list[tuple[bytes, bytes]]) -> bytes:
    """(tag, value) nodes; a tag is a _sym or a _ref."""
    return b"".join(_i(2 | 1 << 10) + tag + value for tag, value in nodes) + _i(254)


def _names(names: list[str], sym: bytes) -> bytes:
    return _pairlist([(sym, _str([_char(n) for n in names]))])


def test_r_unserialize_vectors():
    strings = _str([_char("a"), _char("£1", "utf8"), _char(None), _char("é", "latin1")])
    assert r_unserialize(_header(3) + strings) == ["a", "£1", None, "é"]
    assert r_unserialize(_header(2) + _str([_char("ü", "native")])) == ["ü"]
    na = -(2**31)
    assert r_unserialize(_header() + _ints([1, na, 3])) == [1, None, 3]
    assert r_unserialize(_header() + _ints([1, 0, na], kind=10)) == [1, 0, None]
    assert r_unserialize(_header() + _i(14, 2) + struct.pack(">2d", 0.5, -2.0)) == [0.5, -2.0]
    assert r_unserialize(_header() + _i(254)) is None


def test_r_unserialize_named_lists_pairlists_and_references():
    # list(x = 1:2, y = c("a")) with a names attribute, then a pairlist reusing the symbols
    named = _vec([_ints([1, 2]), _str([_char("a")])], attr=_names(["x", "y"], _sym("names")))
    assert r_unserialize(_header() + named) == {"x": [1, 2], "y": ["a"]}
    pairs = _pairlist([(_sym("x"), _ints([7])), (_sym("y"), _i(254)), (_ref(1), _ints([8]))])
    assert r_unserialize(_header() + pairs) == {"x": [8], "y": None}
    with pytest.raises(ValueError, match="not R XDR"):
        r_unserialize(b"A\n" + _i(3))
    with pytest.raises(ValueError, match="unsupported R SEXP type 4"):
        r_unserialize(_header() + _i(4))  # an environment


BOOK = ["EMMA", "", "By Jane Austen", "her £20,000"]
BOOK_TEXT = "EMMA\n\nBy Jane Austen\nher £20,000\n".encode()


def _lines(lines: list[str]) -> bytes:
    return _str([_char(x, "ascii" if x.isascii() else "utf8") for x in lines])


def _book(lines: list[str]) -> bytes:
    return _header() + _lines(lines)


def _lazyload_db(objects: dict[str, bytes], compress: int = 1) -> tuple[bytes, bytes]:
    """(rdx, rdb) as R's makeLazyLoadDB writes them, for serialized ``objects``."""
    rdb, offsets = b"", []
    for data in objects.values():
        size = struct.pack(">I", len(data))
        if compress == 1:
            blob = size + zlib.compress(data)
        elif compress == 2:
            blob = size + b"2" + bz2.compress(data)
        else:
            blob = size + b"Z" + lzma.compress(data)
        offsets.append(_ints([len(rdb), len(blob)]))
        rdb += blob
    names = _sym("names")
    variables = _vec(offsets, attr=_names(list(objects), names))
    references = _vec([], attr=_pairlist([(_ref(1), _str([]))]))
    flag = _ints([1], kind=10) if compress == 1 else _ints([compress])
    keys = _str([_char(n) for n in ("variables", "references", "compressed")])
    index = _vec([variables, references, flag], attr=_pairlist([(_ref(1), keys)]))
    return gzip.compress(_header() + index), rdb


@pytest.mark.parametrize("compress", [1, 2, 3])
def test_r_lazyload(compress):
    rdx, rdb = _lazyload_db({"emma": _book(BOOK), "other": _book(["x"])}, compress)
    assert r_lazyload(rdx, rdb) == {"emma": BOOK, "other": ["x"]}


def test_r_load_rdata():
    rda = b"RDX2\n" + _header(2) + _pairlist([(_sym("emma"), _str([_char("EMMA")]))])
    for packed in (bz2.compress(rda), gzip.compress(rda), lzma.compress(rda), rda):
        assert r_load_rdata(packed) == {"emma": ["EMMA"]}
    with pytest.raises(ValueError, match="not an XDR .rda"):
        r_load_rdata(b"RDA2\n")


def test_lines_text():
    assert lines_text(BOOK) == BOOK_TEXT
    assert lines_text([]) == b""
    with pytest.raises(ValueError, match="NA"):
        lines_text(["a", None])


def test_austen_novel_from_the_deb_and_from_the_rda(tmp_path):
    rdx, rdb = _lazyload_db({"emma": _book(BOOK), "persuasion": _book(["Persuasion"])})
    data = "usr/lib/R/site-library/janeaustenr/data/"
    deb = tmp_path / "r-cran-janeaustenr_1.0.0-1_all.deb"
    deb.write_bytes(_deb({data + "Rdata.rdx": rdx, data + "Rdata.rdb": rdb}))
    rda = tmp_path / "emma.rda"
    rda.write_bytes(
        bz2.compress(b"RDX2\n" + _header(2) + _pairlist([(_sym("emma"), _lines(BOOK))]))
    )
    assert austen_novel_from_deb(deb, "emma") == austen_novel_from_rda(rda, "emma") == BOOK_TEXT
    assert austen_novel_from_deb(deb, "persuasion") == b"Persuasion\n"
    assert RECIPES["janeausten/emma.txt"].extract(deb) == BOOK_TEXT
    assert RECIPES["janeausten/emma.txt"].fallbacks[0].extract(rda) == BOOK_TEXT


# ------------------------------------------------------------------------------------------
# enwiki sample
# ------------------------------------------------------------------------------------------


def test_enwiki_sentences_rules():
    w80 = "Word " + "word " * 78 + "end."
    w81 = "Word " + "word " * 79 + "end."
    text = (
        "'''Bold''' and ''italic'' quotes go, and  the\u00a0whitespace\tcollapses here."
        ' It ends "in a quote." So no split there? Yes: it splits after a question mark!'
        ' "A quote" can start a new one.\n'
        "Too short, under forty characters.\n"
        "=== A heading that is long enough to count ===\n"
        "* A list item that is long enough to be a sentence.\n"
        ": An indented line that is long enough to be a sentence.\n"
        "# A numbered item that is long enough to be a sentence.\n"
        "; A definition term that is long enough to be a sentence.\n"
        "It cites e.g. several things and is not split there. Four words only here.\n"
        "A caption without a final full stop is kept all right\n"
        "Leftover |markup| goes away now. So does <this one> here. And {this one} too, alas."
        " But this sentence stays in place.\n"
        f"{w80} {w81} Five words make a sentence.\n"
    )
    got = list(enwiki_sentences([("T", [("Introduction", text), ("Other", "")])]))
    assert got == [
        "Bold and italic quotes go, and the whitespace collapses here.",
        'It ends "in a quote." So no split there?',
        "Yes: it splits after a question mark!",
        '"A quote" can start a new one.',
        "It cites e.g. several things and is not split there.",
        "A caption without a final full stop is kept all right",
        "But this sentence stays in place.",
        w80,
        "Five words make a sentence.",
    ]


def _page(title: str, text: str, ns: int = 0) -> str:
    return (
        f"<page><title>{title}</title><ns>{ns}</ns><id>1</id><revision><id>2</id>"
        f'<text xml:space="preserve">{text}</text></revision></page>'
    )


TINY_ARTICLE = (
    "'''Foo''' is a small test article about nothing at all. It has a second sentence that is "
    "long enough. i.e. not split here because lower case follows.\n"
    "Too short a line.\n"
    "* A list item that is long enough to be kept if lists were kept.\n"
    "A sentence with a [[Link|linked word]] and a {{cite web|url=x}} template inside it.\n"
    "\n==History==\n"
    "The history section says that Foo was made in 2024 for testing. It ends here!\n"
    "===Sub heading===\n"
    "Short one. This last sentence in the history section is kept as well.\n"
)
TINY_DUMP = bz2.compress(
    (
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/">'
        "<siteinfo><sitename>Wikipedia</sitename></siteinfo>"
        + _page("Foo", TINY_ARTICLE)
        + _page("Talk:Foo", "A talk page is long enough but not an article, is it? " * 5, ns=1)
        + _page("Bar", "#REDIRECT [[Foo]]")
        + _page("Stub", "A stub article that is far too short to be kept by segment_wiki.")
        + "</mediawiki>"
    ).encode()
)
TINY_SENTENCES = (
    "Foo is a small test article about nothing at all.\n"
    "It has a second sentence that is long enough. i.e. not split here because lower case"
    " follows.\n"
    "A sentence with a linked word and a template inside it.\n"
    "The history section says that Foo was made in 2024 for testing.\n"
    "This last sentence in the history section is kept as well.\n"
).encode()


def test_enwiki_articles_segments_like_segment_wiki():
    pytest.importorskip("gensim")
    articles = enwiki_articles(TINY_DUMP)
    assert [(t, [h for h, _ in s]) for t, s in articles] == [("Foo", ["Introduction", "History"])]
    assert articles[0][1][1][1] == TINY_ARTICLE.split("==History==\n")[1]


def test_enwiki_sample_from_the_sdist_a_wheel_and_the_bare_dump(tmp_path):
    pytest.importorskip("gensim")
    member = datasources.ENWIKI_MEMBER
    sdist = tmp_path / "gensim-4.4.0.tar.gz"
    sdist.write_bytes(_tar({f"gensim-4.4.0/{member}": TINY_DUMP}))
    wheel = tmp_path / "gensim-4.4.0-cp311-cp311-manylinux_2_28_x86_64.whl"
    wheel.write_bytes(_zip({member: TINY_DUMP}))
    bare = tmp_path / member.rsplit("/", 1)[1]
    bare.write_bytes(TINY_DUMP)
    for path in (sdist, wheel, bare):
        assert enwiki_sample(path) == TINY_SENTENCES
    assert RECIPES["enwiki_sample/enwiki_sample_sentences.txt"].extract(sdist) == TINY_SENTENCES


# ------------------------------------------------------------------------------------------
# the real artifacts (ANISO_UPSTREAM_DIR)
# ------------------------------------------------------------------------------------------

UPSTREAM_DIR = os.environ.get("ANISO_UPSTREAM_DIR")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.skipif(not UPSTREAM_DIR, reason="ANISO_UPSTREAM_DIR is not set")
@pytest.mark.parametrize("rel", sorted(RECIPES))
def test_real_artifacts_give_the_data_files(rel):
    """Each recipe (and each fallback whose artifact is there) gives the file's exact bytes."""
    folder = Path(UPSTREAM_DIR)
    expected = datadir.sums()[rel]
    checked = 0
    for i, recipe in enumerate(_chain(RECIPES[rel])):
        path = folder / artifact_relpath(recipe.upstream)
        if not path.exists():
            assert i > 0, f"the original artifact of {rel} is missing: {path}"
            continue
        if recipe.extract is datasources.enwiki_sample:
            pytest.importorskip("gensim")
        raw = path.read_bytes()
        want = UPSTREAMS[recipe.upstream].sha256
        assert want is None or _sha256(raw) == want, f"{path} is not the pinned artifact"
        data = raw if recipe.extract is None else recipe.extract(path)
        assert _sha256(data) == expected, f"{rel} from {path}"
        checked += 1
    assert checked
