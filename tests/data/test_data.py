"""Tests of aniso.data.tasks and aniso.data.datadir: counts and parsing on the real data, errors,
and the download path (pooch) against a local HTTP server on 127.0.0.1 (the network is never
used)."""

import collections
import hashlib
import http.server
import os
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from aniso.data import datadir as F
from aniso.data import tasks as D
from aniso.data.sources import UPSTREAMS

STSB_COUNTS = {"train": 5749, "dev": 1500, "test": 1379}
SICK_COUNTS = {"train": 4500, "trial": 500, "test": 4927}
STS_SUBSET_COUNTS = {
    12: {
        "MSRpar": 750,
        "MSRvid": 750,
        "SMTeuroparl": 459,
        "surprise.OnWN": 750,
        "surprise.SMTnews": 399,
    },
    13: {"FNWN": 189, "headlines": 750, "OnWN": 561},
    14: {
        "deft-forum": 450,
        "deft-news": 300,
        "headlines": 750,
        "images": 750,
        "OnWN": 750,
        "tweet-news": 750,
    },
    15: {
        "answers-forums": 375,
        "answers-students": 750,
        "belief": 375,
        "headlines": 750,
        "images": 750,
    },
    16: {
        "answer-answer": 254,
        "headlines": 249,
        "plagiarism": 230,
        "postediting": 244,
        "question-question": 209,
    },
}
STS_COUNTS = {12: 3108, 13: 1500, 14: 3750, 15: 3000, 16: 1186}


CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every upstream host is a closed local port unless a test serves a mirror of it."""
    monkeypatch.setenv(F.MIRROR_ENV, CLOSED)
    monkeypatch.setattr(D, "WIKI1M_URL", f"{CLOSED}/wiki1m_for_simcse.txt")


def _mirror_path(key: str) -> str:
    """The path of an upstream artifact on a mirror: /<host>/<path> of its first URL."""
    url = urlsplit(UPSTREAMS[key].urls[0])
    return f"/{url.netloc}{url.path}"


class _Handler(http.server.BaseHTTPRequestHandler):
    payloads: dict = {}
    calls: list = []

    def do_GET(self):
        self.calls.append(self.path)
        body = self.payloads.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def server():
    """A local HTTP server in a thread: ``server.serve(monkeypatch, {URLS key: bytes})``."""
    handler = type("Handler", (_Handler,), {"payloads": {}, "calls": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"

    class Server:
        calls = handler.calls

        @staticmethod
        def serve_url(path: str, body: bytes) -> str:
            """Serve ``body`` at ``path``; returns its URL."""
            handler.payloads[path] = body
            return base + path

        @staticmethod
        def mirror(monkeypatch, artifacts: dict) -> None:
            """Serve ``{UPSTREAMS key: bytes}`` at each artifact's first URL, as a mirror of
            the upstream hosts (``ANISO_DATA_MIRROR``)."""
            monkeypatch.setenv(F.MIRROR_ENV, base)
            for key, body in artifacts.items():
                handler.payloads[_mirror_path(key)] = body

    yield Server
    httpd.shutdown()
    httpd.server_close()


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _leftovers(folder: Path):
    """Temporary files anywhere under folder: ours start with '.', pooch's with 'tmp'."""
    return [p for p in folder.rglob("*") if p.name.startswith((".", "tmp"))]


# ---------------------------------------------------------------- real data


@pytest.mark.parametrize("split", sorted(STSB_COUNTS))
def test_stsb_counts_and_scores(data_dir, split):
    d = D.load_stsb(split, data_dir)
    assert d.name == f"STSB-{split}"
    assert len(d) == STSB_COUNTS[split]
    assert len(d.sentences1) == len(d.sentences2) == len(d.subsets) == len(d)
    assert d.scores.dtype == np.float64
    assert d.scores.min() >= 0 and d.scores.max() <= 5
    assert {g.split("-")[0] for g in d.subsets} == {"main"}
    assert not any("\t" in s for s in d.sentences1 + d.sentences2)
    assert d.labels is None


def test_stsb_test_first_pair_and_quotes(data_dir):
    d = D.load_stsb("test", data_dir)
    assert d.sentences1[0] == "A girl is styling her hair."
    assert d.sentences2[0] == "A girl is brushing her hair."
    assert d.scores[0] == 2.5
    assert d.subsets[0] == "main-captions"
    # line 649: 9 columns and an unbalanced quote, which a CSV reader would mangle
    assert d.sentences1[648] == "The rule - When in doubt throw it out!"
    assert d.sentences2[648] == 'I always go by the rule "When in doubt, throw it out!'
    assert d.scores[648] == 4.0
    assert d.sentences2[407] == "A boy jumps into a pool while lifeguards watch."


@pytest.mark.parametrize("year", sorted(STS_COUNTS))
def test_sts_counts_per_subset(data_dir, year):
    d = D.load_sts(year, data_dir)
    assert d.name == f"STS{year}"
    assert len(d) == STS_COUNTS[year]
    assert dict(collections.Counter(d.subsets)) == STS_SUBSET_COUNTS[year]
    assert list(dict.fromkeys(d.subsets)) == list(D.STS_SUBSETS[year])
    assert d.scores.min() >= 0 and d.scores.max() <= 5
    assert all(s1 and s2 for s1, s2 in zip(d.sentences1, d.sentences2))


@pytest.mark.parametrize("year", [13, 2013, "13", "STS13", "sts2013"])
def test_sts_year_forms(data_dir, year):
    assert D.load_sts(year, data_dir).name == "STS13"


@pytest.mark.parametrize("split", sorted(SICK_COUNTS))
def test_sickr_counts_and_scores(data_dir, split):
    d = D.load_sickr(split, data_dir)
    assert d.name == f"SICKR-{split}"
    assert len(d) == SICK_COUNTS[split]
    assert d.scores.min() >= 1 and d.scores.max() <= 5
    assert set(d.subsets) == {"SICK"}
    assert set(d.labels) == {"ENTAILMENT", "NEUTRAL", "CONTRADICTION"}
    assert not any(s.endswith("\r") for s in d.labels)  # the test file is CRLF


def test_sickr_first_train_pair(data_dir):
    d = D.load_sickr("train", data_dir)
    assert d.sentences1[0] == (
        "A group of kids is playing in a yard and an old man is standing in the background"
    )
    assert d.scores[0] == 4.5 and d.labels[0] == "NEUTRAL"
    assert len(D.load_sickr("dev", data_dir)) == 500  # alias of trial


def test_load_sick_pairs(data_dir):
    df = D.load_sick_pairs("train", data_dir)
    assert list(df.columns) == ["pair_id", "sentence_A", "sentence_B", "relatedness", "entailment"]
    assert len(df) == 4500
    assert df.entailment.value_counts().to_dict() == {
        "NEUTRAL": 2536,
        "ENTAILMENT": 1299,
        "CONTRADICTION": 665,
    }


def test_load_task(data_dir):
    assert D.TASKS == ("sts12", "sts13", "sts14", "sts15", "sts16", "stsb", "sickr")
    expected = {
        "stsb": 1379,
        "stsb-dev": 1500,
        "stsb-train": 5749,
        "sickr": 4927,
        **{f"sts{y}": n for y, n in STS_COUNTS.items()},
    }
    for name, n in expected.items():
        assert len(D.load_task(name, data_dir)) == n, name
    assert D.load_task("STSB", data_dir).name == "STSB-test"


def test_load_sentences(data_dir):
    wiki = D.load_sentences("wiki1m", data_dir=data_dir)
    assert len(wiki) == 11913
    assert D.load_sentences("wiki1m", n=5, data_dir=data_dir) == wiki[:5]
    assert wiki[0] == "YMCA in South Australia"
    enwiki = D.load_sentences("enwiki", n=100, data_dir=data_dir)
    assert len(enwiki) == 100 and all(s == s.strip() and s for s in enwiki)
    assert len(D.load_sentences("enwiki", data_dir=data_dir)) == 18741


def test_word_frequencies():
    f = D.word_frequencies(["the", "cat", "xqzzvkq"])
    assert f.shape == (3,) and f.dtype == np.float64
    assert f[0] > f[1] > 0 and f[2] == 0


def test_resolve_data_dir(data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("ANISO_DATA_DIR", str(data_dir))
    assert F.resolve_data_dir() == data_dir
    assert F.resolve_data_dir(tmp_path) == tmp_path  # the argument wins
    monkeypatch.delenv("ANISO_DATA_DIR")
    monkeypatch.setattr(F.files, "data_cache_dir", lambda: tmp_path / "cache" / "data")
    assert F.resolve_data_dir() == tmp_path / "cache" / "data"
    assert (tmp_path / "cache" / "data").is_dir()


def test_env_var_is_used_by_loaders(data_dir, monkeypatch):
    monkeypatch.setenv("ANISO_DATA_DIR", str(data_dir))
    assert len(D.load_stsb()) == 1379


def test_shipped_sums_match_shared_folder(data_dir):
    sums_file = data_dir / "SHA256SUMS"
    if not sums_file.exists():
        pytest.skip("no SHA256SUMS in the data directory")
    shared = {
        ln.split()[1].removeprefix("./"): ln.split()[0]
        for ln in sums_file.read_text().splitlines()
        if ln.strip()
    }
    assert F.sums() == shared


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "loader,split,valid",
    [
        (D.load_stsb, "validation", "train, dev, test"),
        (D.load_sickr, "dev2", "train, trial, test"),
        (D.load_sick_pairs, "testing", "train, trial, test"),
    ],
)
def test_unknown_split(loader, split, valid, data_dir):
    with pytest.raises(ValueError, match="unknown .*split") as e:
        loader(split, data_dir)
    assert valid in str(e.value) and repr(split) in str(e.value)


@pytest.mark.parametrize("year", [11, 17, 2017, "STS17", "foo", 12.5, None, True])
def test_unknown_year(year, data_dir):
    with pytest.raises(ValueError, match="unknown STS year") as e:
        D.load_sts(year, data_dir)
    assert "12-16" in str(e.value)


def test_unknown_task_and_sentence_set(data_dir):
    with pytest.raises(ValueError, match="unknown task 'sts17'") as e:
        D.load_task("sts17", data_dir)
    for name in D.TASKS + ("stsb-dev", "stsb-train"):
        assert name in str(e.value)
    with pytest.raises(ValueError, match="valid names: wiki1m, enwiki"):
        D.load_sentences("wiki2m", data_dir=data_dir)


def test_missing_data_dir_argument(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(F.DataError) as e:
        D.load_stsb("test", missing)
    msg = str(e.value)
    assert str(missing) in msg and "does not exist" in msg
    assert "data_dir argument" in msg and "ANISO_DATA_DIR" in msg


def test_missing_data_dir_env_var(tmp_path, monkeypatch):
    missing = tmp_path / "nope"
    monkeypatch.setenv("ANISO_DATA_DIR", str(missing))
    with pytest.raises(F.DataError) as e:
        D.load_sts(12)
    msg = str(e.value)
    assert str(missing) in msg and "environment variable ANISO_DATA_DIR" in msg


def test_data_dir_is_a_file(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(F.DataError, match="is not a directory"):
        F.resolve_data_dir(f)


def test_corrupt_file_is_never_used(data_dir, tmp_path):
    (tmp_path / "stsb").mkdir()
    target = tmp_path / "stsb" / "sts-test.csv"
    shutil.copy(data_dir / "stsb" / "sts-test.csv", target)
    assert len(D.load_stsb("test", tmp_path)) == 1379  # verified and cached
    raw = bytearray(target.read_bytes())
    raw[100] ^= 0x01  # same size; only the content changes
    target.write_bytes(bytes(raw))
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    with pytest.raises(F.DataError) as e:
        D.load_stsb("test", tmp_path)
    msg = str(e.value)
    assert str(target) in msg
    assert F.sums()["stsb/sts-test.csv"] in msg and _sha(target) in msg
    assert "Delete it" in msg and "ANISO_DATA_DIR" in msg


def test_corrupt_sts_file(data_dir, tmp_path):
    shutil.copytree(data_dir / "sts12_16" / "STS13", tmp_path / "sts12_16" / "STS13")
    gs = tmp_path / "sts12_16" / "STS13" / "STS.gs.OnWN.txt"
    gs.write_bytes(gs.read_bytes()[:-2])
    with pytest.raises(F.DataError, match="STS.gs.OnWN.txt"):
        D.load_sts(13, tmp_path)


@pytest.mark.parametrize(
    "load,fname,key",
    [
        (lambda d: D.load_stsb("test", d), "sts-test.csv", "stsb/sts-test.csv"),
        (
            lambda d: D.load_sts(2016, d),
            "STS2016.input.answer-answer.txt",
            "sts12_16/STS16/STS2016.input.answer-answer.txt",
        ),
        (lambda d: D.load_sickr("train", d), "SICK_train.txt", "sick/SICK_train.txt"),
        (lambda d: D.load_sentences("wiki1m", data_dir=d), "wiki1m_head.txt", "wiki1m-prefix"),
    ],
)
def test_missing_file_without_network(tmp_path, load, fname, key):
    t0 = time.monotonic()
    with pytest.raises(F.DataError) as e:
        load(tmp_path)
    assert time.monotonic() - t0 < 2 and F.DOWNLOAD_TIMEOUT <= 10
    msg = str(e.value)
    assert "ANISO_DATA_DIR" in msg and fname in msg and str(tmp_path) in msg
    # one clear error naming the file and every URL tried (here through the closed mirror)
    for url in UPSTREAMS[key].urls:
        assert F.mirrored(url) in msg
    assert "could not be downloaded" in msg and "connect to the internet" in msg
    assert list(tmp_path.iterdir()) == []  # no temp files, no empty folders


def test_a_file_without_a_source_says_so(tmp_path):
    with pytest.raises(F.DataError, match="has no download source"):
        F.data_file("nowhere/file.txt", tmp_path)


def test_mirrored_urls(monkeypatch):
    url = "https://raw.githubusercontent.com/o/r/0123/a/b.txt"
    monkeypatch.delenv(F.MIRROR_ENV)
    assert F.mirrored(url) == url
    monkeypatch.setenv(F.MIRROR_ENV, "http://127.0.0.1:8000/")
    assert F.mirrored(url) == "http://127.0.0.1:8000/raw.githubusercontent.com/o/r/0123/a/b.txt"


def test_truncated_download_of_file(data_dir, tmp_path, monkeypatch, server):
    full = (data_dir / "sick" / "SICK_trial.txt").read_bytes()
    server.mirror(monkeypatch, {"sick/SICK_trial.txt": full[: len(full) // 2]})
    with pytest.raises(F.DataError) as e:
        D.load_sickr("trial", tmp_path)
    msg = str(e.value)
    assert "SICK_trial.txt" in msg and "sha256 check failed" in msg and "ANISO_DATA_DIR" in msg
    assert F.sums()["sick/SICK_trial.txt"] in msg
    assert not (tmp_path / "sick" / "SICK_trial.txt").exists()
    assert _leftovers(tmp_path) == [] and list(tmp_path.iterdir()) == []


def _prefix_artifact(data_dir) -> bytes:
    """A stand-in for the committed 1,280,000-byte prefix of wiki1m: the head, one more complete
    line and a cut one (its sha256 is not the real artifact's, so the test unpins it)."""
    return (data_dir / "wiki1m_sample/wiki1m_head.txt").read_bytes() + b"one more line .\ncut li"


def test_a_derived_file_is_made_from_its_artifact(data_dir, tmp_path, monkeypatch, server):
    monkeypatch.setitem(
        UPSTREAMS,
        "wiki1m-prefix",
        UPSTREAMS["wiki1m-prefix"].__class__(UPSTREAMS["wiki1m-prefix"].urls, None, "stand-in"),
    )
    server.mirror(monkeypatch, {"wiki1m-prefix": _prefix_artifact(data_dir)})
    assert D.load_sentences("wiki1m", 3, tmp_path) == D.load_sentences("wiki1m", 3, data_dir)
    assert (
        _sha(tmp_path / "wiki1m_sample/wiki1m_head.txt")
        == F.sums()["wiki1m_sample/wiki1m_head.txt"]
    )
    assert _leftovers(tmp_path) == []


def test_a_derivation_that_misses_its_sum_is_not_kept(data_dir, tmp_path, monkeypatch, server):
    """The prefix with one byte changed: the download passes (the test unpins its sum), the
    derived file fails its sha256 and nothing is kept; the fallback (SimCSE's full file, not
    served) is tried and named."""
    monkeypatch.setitem(
        UPSTREAMS,
        "wiki1m-prefix",
        UPSTREAMS["wiki1m-prefix"].__class__(UPSTREAMS["wiki1m-prefix"].urls, None, "stand-in"),
    )
    body = bytearray(_prefix_artifact(data_dir))
    body[10] ^= 1
    server.mirror(monkeypatch, {"wiki1m-prefix": bytes(body)})
    with pytest.raises(F.DataError) as e:
        D.load_sentences("wiki1m", 3, tmp_path)
    msg = str(e.value)
    assert "wiki1m_head.txt made from" in msg and "it was not kept" in msg
    assert F.mirrored(UPSTREAMS["wiki1m-simcse"].urls[0]) in msg
    assert list(tmp_path.iterdir()) == []


def test_an_artifact_that_cannot_be_read_is_reported(tmp_path, monkeypatch, server):
    server.mirror(monkeypatch, {"r-cran-janeaustenr-deb": b"not a Debian package"})
    with pytest.raises(F.DataError) as e:
        F.data_file("janeausten/emma.txt", tmp_path)
    msg = str(e.value)
    assert "emma.txt" in msg and "sha256 check failed" in msg  # the .deb's own sum is pinned
    assert F.mirrored(UPSTREAMS["janeaustenr-emma.rda"].urls[0]) in msg  # then its fallback


def test_successful_download(data_dir, tmp_path, monkeypatch, server):
    wanted = [r for r in F.sums() if r.startswith(("stsb/", "sts12_16/STS16/"))]
    wanted.append("sick/SICK_test_annotated.txt")
    server.mirror(monkeypatch, {rel: (data_dir / rel).read_bytes() for rel in wanted})
    assert len(D.load_stsb("test", tmp_path)) == 1379
    assert len(D.load_stsb("dev", tmp_path)) == 1500
    d16 = D.load_sts(16, tmp_path)
    assert len(d16) == 1186
    assert len(D.load_task("sickr", tmp_path)) == 4927
    calls = len(server.calls)
    # only what the loaders read was fetched, each file from its own pinned URL
    assert sorted(server.calls) == sorted(
        _mirror_path(r) for r in F.sums() if (tmp_path / r).exists()
    )
    for rel in (p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()):
        assert _sha(tmp_path / rel) == F.sums()[rel] == _sha(data_dir / rel)
    assert _leftovers(tmp_path) == []
    # a fresh process would verify again: clear the cache and reload
    F._VERIFIED.clear()
    assert len(D.load_sts("STS16", tmp_path)) == 1186
    assert len(server.calls) == calls  # the data directory is the cache: nothing fetched twice


def test_fetch_all_fetches_what_is_missing_and_checks_the_rest(
    data_dir, tmp_path, monkeypatch, server
):
    rels = ["stsb/sts-dev.csv", "sick/SICK_trial.txt", "tinyshakespeare/input.txt"]
    server.mirror(monkeypatch, {rel: (data_dir / rel).read_bytes() for rel in rels})
    shutil.copytree(data_dir / "stsb", tmp_path / "stsb")  # already there: only checked
    assert F.fetch_all(tmp_path, rels, progress=False) == rels[1:]
    assert len(server.calls) == 2
    (tmp_path / "stsb/sts-dev.csv").write_bytes(b"changed")
    F._VERIFIED.clear()
    with pytest.raises(F.DataError, match="sts-dev.csv is corrupt"):
        F.fetch_all(tmp_path, rels, progress=False)
    # a data folder that does not exist yet is made
    assert F.fetch_all(tmp_path / "new" / "data", rels[1:2], progress=False) == rels[1:2]


def test_book_files_are_the_chapters_folders():
    files = F.book_files()
    assert {r.split("/")[0] for r in files} == set(F.BOOK_FOLDERS)
    assert "stsb/sts-test.csv" in files and "janeausten/emma.txt" in files
    assert not any(r.startswith("wordsim/") for r in files)


def test_retrieve_checks_the_sum_and_caches(tmp_path, monkeypatch, server):
    """The pooch download itself: a good file is fetched, verified and cached; a corrupt one fails
    its checksum with a clear message and leaves nothing behind."""
    good = b"the published original\n"
    url = server.serve_url("/sick/file.txt", good)
    digest = hashlib.sha256(good).hexdigest()
    path = F.retrieve(url, tmp_path / "cache", "file.txt", digest)
    assert path == tmp_path / "cache" / "file.txt" and path.read_bytes() == good
    assert F.retrieve(url, tmp_path / "cache", "file.txt", digest) == path
    assert len(server.calls) == 1  # the second call found the verified file in the cache
    server.serve_url("/sick/file.txt", good[:-3])  # truncated in transit
    with pytest.raises(ValueError, match=f"SHA256 hash of downloaded file.*{digest}"):
        F.retrieve(url, tmp_path / "other", "file.txt", digest)
    assert list((tmp_path / "other").iterdir()) == []


def test_wiki1m_full_without_network(tmp_path):
    with pytest.raises(F.DataError, match="wiki1m_for_simcse.txt") as e:
        D.training_sentences("wiki1m-full", data_dir=tmp_path)
    assert "could not be downloaded" in str(e.value) and "sentences='wiki1m'" in str(e.value)
    assert list(tmp_path.iterdir()) == []


def _wiki1m(data_dir, lines=D.WIKI1M_LINES) -> bytes:
    """A stand-in for the published wiki1m: the shared head, then short lines up to ``lines``."""
    head = (data_dir / D.WIKI1M_HEAD[0]).read_bytes()
    assert len(head) == D.WIKI1M_HEAD[1]
    n_head = head.count(b"\n")
    return head + b"".join(b"filler sentence %d .\n" % i for i in range(lines - n_head))


def test_wiki1m_full_download_is_checked_and_cached(data_dir, tmp_path, monkeypatch, server):
    """The paper profile's wiki1m-full through the same code, from a local HTTP server: the file
    is checked (its head's sha256, its line count), installed under its name and then read from
    the data directory without a second download."""
    monkeypatch.setattr(
        D, "WIKI1M_URL", server.serve_url("/wiki1m_for_simcse.txt", _wiki1m(data_dir))
    )
    head = D.load_sentences("wiki1m", 20, data_dir)
    assert D.training_sentences("wiki1m-full", 20, tmp_path) == head
    installed = tmp_path / D.WIKI1M_FILE
    assert installed.is_file() and _leftovers(tmp_path) == []
    assert len(D.training_sentences("wiki1m-full", None, tmp_path)) == D.WIKI1M_LINES
    assert server.calls == ["/wiki1m_for_simcse.txt"]  # the data directory is the cache


@pytest.mark.parametrize("damage", ["truncated", "corrupt head"])
def test_wiki1m_full_bad_download_is_not_kept(data_dir, tmp_path, monkeypatch, server, damage):
    body = _wiki1m(data_dir)
    body = body[: len(body) // 2] if damage == "truncated" else b"X" + body[1:]
    monkeypatch.setattr(D, "WIKI1M_URL", server.serve_url("/wiki1m.txt", body))
    with pytest.raises(F.DataError, match="is not SimCSE's wiki1m.*it was not kept"):
        D.training_sentences("wiki1m-full", 5, tmp_path)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------- sentence sources of contrastive training


def test_delete_word_is_deterministic_for_a_seed():
    s = "the quick brown fox jumps over the lazy dog"
    out = D.delete_word(s, 7)
    assert out == D.delete_word(s, 7)
    assert len(out.split()) == len(s.split()) - 1
    assert len({D.delete_word(s, k) for k in range(40)}) > 3
    assert D.delete_word("alone", 3) == "alone"


def test_supervised_examples_from_sick(data_dir):
    pairs, triplets = D.supervised_examples("sick", data_dir)
    df = D.load_sick_pairs("train", data_dir)
    assert len(pairs) + len(triplets) == int((df.entailment == "ENTAILMENT").sum())
    contra = set(
        zip(
            df.sentence_A[df.entailment == "CONTRADICTION"],
            df.sentence_B[df.entailment == "CONTRADICTION"],
        )
    )
    assert triplets and all((a, c) in contra for a, _, c in triplets)


def _toy_task(n):
    return D.STSData(
        "toy",
        [f"a{i}" for i in range(n)],
        [f"b{i}" for i in range(n)],
        np.arange(n, dtype=float),
        ["x"] * (n // 2) + ["y"] * (n - n // 2),
        [str(i) for i in range(n)],
    )


def test_thin_keeps_every_kth_pair_of_every_subset():
    from aniso.data import thin

    big = _toy_task(1000)
    assert thin(big, None) is big
    cut = thin(big, 300)
    assert len(cut) == 250  # stride ceil(1000 / 300) = 4
    assert cut.sentences1[:3] == ["a0", "a4", "a8"] and cut.sentences2[-1] == "b996"
    assert cut.scores.tolist()[:2] == [0.0, 4.0] and cut.labels[1] == "4"
    assert cut.subsets.count("x") == cut.subsets.count("y") == 125
    assert thin(_toy_task(300), 300).sentences1 == _toy_task(300).sentences1
    with pytest.raises(ValueError, match="max_pairs"):
        thin(big, 0)


def test_load_task_caps_pairs_only_when_asked(data_dir):
    from aniso.data import load_task
    from aniso.evaluation import DevProbe
    from aniso.postprocess import target_sentences

    whole = load_task("stsb-dev", data_dir)
    cut = load_task("stsb-dev", data_dir, max_pairs=300)
    assert len(whole) == 1500 and len(cut) == 300  # stride 5
    assert cut.sentences1 == whole.sentences1[::5]
    assert len(DevProbe("stsb-dev", data_dir, max_pairs=300).task) == 300
    assert len(DevProbe(whole, max_pairs=300).task) == 300
    assert set(target_sentences("stsb", data_dir, max_pairs=100)) < set(
        target_sentences("stsb", data_dir)
    )
