"""Tests of aniso.data: counts and parsing on the real data, errors, and the
download path with a fake fetcher (the network is never used)."""
import collections
import hashlib
import io
import os
import shutil
import tarfile
import time
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest

from aniso import data as D

STSB_COUNTS = {"train": 5749, "dev": 1500, "test": 1379}
SICK_COUNTS = {"train": 4500, "trial": 500, "test": 4927}
STS_SUBSET_COUNTS = {
    12: {"MSRpar": 750, "MSRvid": 750, "SMTeuroparl": 459, "surprise.OnWN": 750,
         "surprise.SMTnews": 399},
    13: {"FNWN": 189, "headlines": 750, "OnWN": 561},
    14: {"deft-forum": 450, "deft-news": 300, "headlines": 750, "images": 750,
         "OnWN": 750, "tweet-news": 750},
    15: {"answers-forums": 375, "answers-students": 750, "belief": 375,
         "headlines": 750, "images": 750},
    16: {"answer-answer": 254, "headlines": 249, "plagiarism": 230, "postediting": 244,
         "question-question": 209},
}
REAL_FETCH = D._fetch  # saved before the autouse fixture replaces it
STS_COUNTS = {12: 3108, 13: 1500, 14: 3750, 15: 3000, 16: 1186}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any download attempt that a test did not fake fails loudly."""
    def fetch(url, dest_path, timeout):
        raise AssertionError(f"unexpected download of {url}")
    monkeypatch.setattr(D, "_fetch", fetch)


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _leftovers(folder: Path):
    """Temp files (names starting with '.') anywhere under folder."""
    return [p for p in folder.rglob(".*")]


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
    assert d.sentences1[0] == ("A group of kids is playing in a yard and an old man "
                               "is standing in the background")
    assert d.scores[0] == 4.5 and d.labels[0] == "NEUTRAL"
    assert len(D.load_sickr("dev", data_dir)) == 500  # alias of trial


def test_load_sick_pairs(data_dir):
    df = D.load_sick_pairs("train", data_dir)
    assert list(df.columns) == ["pair_id", "sentence_A", "sentence_B", "relatedness",
                                "entailment"]
    assert len(df) == 4500
    assert df.entailment.value_counts().to_dict() == {
        "NEUTRAL": 2536, "ENTAILMENT": 1299, "CONTRADICTION": 665}


def test_load_task(data_dir):
    assert D.TASKS == ("sts12", "sts13", "sts14", "sts15", "sts16", "stsb", "sickr")
    expected = {"stsb": 1379, "stsb-dev": 1500, "stsb-train": 5749, "sickr": 4927,
                **{f"sts{y}": n for y, n in STS_COUNTS.items()}}
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
    assert D.resolve_data_dir() == data_dir
    assert D.resolve_data_dir(tmp_path) == tmp_path  # the argument wins
    monkeypatch.delenv("ANISO_DATA_DIR")
    monkeypatch.setattr(D, "_default_dir", lambda: tmp_path / "cache" / "data")
    assert D.resolve_data_dir() == tmp_path / "cache" / "data"
    assert (tmp_path / "cache" / "data").is_dir()


def test_env_var_is_used_by_loaders(data_dir, monkeypatch):
    monkeypatch.setenv("ANISO_DATA_DIR", str(data_dir))
    assert len(D.load_stsb()) == 1379


def test_shipped_sums_match_shared_folder(data_dir):
    sums_file = data_dir / "SHA256SUMS"
    if not sums_file.exists():
        pytest.skip("no SHA256SUMS in the data directory")
    shared = {ln.split()[1].removeprefix("./"): ln.split()[0]
              for ln in sums_file.read_text().splitlines() if ln.strip()}
    assert D._sums() == shared


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("loader,split,valid", [
    (D.load_stsb, "validation", "train, dev, test"),
    (D.load_sickr, "dev2", "train, trial, test"),
    (D.load_sick_pairs, "testing", "train, trial, test"),
])
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
    with pytest.raises(D.DataError) as e:
        D.load_stsb("test", missing)
    msg = str(e.value)
    assert str(missing) in msg and "does not exist" in msg
    assert "data_dir argument" in msg and "ANISO_DATA_DIR" in msg


def test_missing_data_dir_env_var(tmp_path, monkeypatch):
    missing = tmp_path / "nope"
    monkeypatch.setenv("ANISO_DATA_DIR", str(missing))
    with pytest.raises(D.DataError) as e:
        D.load_sts(12)
    msg = str(e.value)
    assert str(missing) in msg and "environment variable ANISO_DATA_DIR" in msg


def test_data_dir_is_a_file(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(D.DataError, match="is not a directory"):
        D.resolve_data_dir(f)


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
    with pytest.raises(D.DataError) as e:
        D.load_stsb("test", tmp_path)
    msg = str(e.value)
    assert str(target) in msg
    assert D._sums()["stsb/sts-test.csv"] in msg and _sha(target) in msg
    assert "Delete it" in msg and "ANISO_DATA_DIR" in msg


def test_corrupt_sts_file(data_dir, tmp_path):
    shutil.copytree(data_dir / "sts12_16" / "STS13", tmp_path / "sts12_16" / "STS13")
    gs = tmp_path / "sts12_16" / "STS13" / "STS.gs.OnWN.txt"
    gs.write_bytes(gs.read_bytes()[:-2])
    with pytest.raises(D.DataError, match="STS.gs.OnWN.txt"):
        D.load_sts(13, tmp_path)


@pytest.mark.parametrize("load,fname,url_key", [
    (lambda d: D.load_stsb("test", d), "sts-test.csv", "stsb"),
    (lambda d: D.load_sts(2016, d), "STS2016.input.answer-answer.txt", "sts16"),
    (lambda d: D.load_sickr("train", d), "SICK_train.txt", "sick-train"),
])
def test_missing_file_without_network(tmp_path, monkeypatch, load, fname, url_key):
    calls = []

    def offline(url, dest_path, timeout):
        calls.append((url, timeout))
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(D, "_fetch", offline)
    t0 = time.monotonic()
    with pytest.raises(D.DataError) as e:
        load(tmp_path)
    assert time.monotonic() - t0 < 2
    msg = str(e.value)
    assert "ANISO_DATA_DIR" in msg and fname in msg and str(tmp_path) in msg
    assert D.URLS[url_key] in msg and "name resolution" in msg
    assert "connect to the internet" in msg
    assert calls == [(D.URLS[url_key], D.DOWNLOAD_TIMEOUT)] and D.DOWNLOAD_TIMEOUT <= 10
    assert list(tmp_path.iterdir()) == []  # no temp files, no empty folders


def test_missing_sentence_file_is_not_downloaded(tmp_path):
    with pytest.raises(D.DataError) as e:
        D.load_sentences("wiki1m", data_dir=tmp_path)
    msg = str(e.value)
    assert "wiki1m_head.txt" in msg and "ANISO_DATA_DIR" in msg
    assert "no download source" in msg


# ------------------------------------------------------- fake downloads

def _serve(monkeypatch, payloads):
    """Make _fetch write payloads[url] (bytes) to the destination."""
    calls = []

    def fetch(url, dest_path, timeout):
        calls.append(url)
        Path(dest_path).write_bytes(payloads[url])
    monkeypatch.setattr(D, "_fetch", fetch)
    return calls


def _stsb_tarball(data_dir) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in ["sts-train.csv", "sts-dev.csv", "sts-test.csv", "readme.txt",
                     "LICENSE.txt", "correlation.pl"]:
            tar.add(data_dir / "stsb" / name, arcname=f"stsbenchmark/{name}")
    return buf.getvalue()


def _sts16_zip(data_dir, extra=None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("sts2016-english-with-gs-v1.0/", "")
        for p in sorted((data_dir / "sts12_16" / "STS16").iterdir()):
            zf.write(p, f"sts2016-english-with-gs-v1.0/{p.name}")
        zf.writestr("sts2016-english-with-gs-v1.0/correlation-noconfidence.pl", "#!perl\n")
        for name, content in (extra or {}).items():
            zf.writestr(name, content)
    return buf.getvalue()


def test_truncated_download_of_file(data_dir, tmp_path, monkeypatch):
    full = (data_dir / "sick" / "SICK_trial.txt").read_bytes()
    _serve(monkeypatch, {D.URLS["sick-trial"]: full[: len(full) // 2]})
    with pytest.raises(D.DataError) as e:
        D.load_sickr("trial", tmp_path)
    msg = str(e.value)
    assert "SICK_trial.txt" in msg and "sha256" in msg and "ANISO_DATA_DIR" in msg
    assert D._sums()["sick/SICK_trial.txt"] in msg
    assert not (tmp_path / "sick" / "SICK_trial.txt").exists()
    assert _leftovers(tmp_path) == [] and list(tmp_path.iterdir()) == []


def test_truncated_download_of_archive(data_dir, tmp_path, monkeypatch):
    blob = _stsb_tarball(data_dir)
    _serve(monkeypatch, {D.URLS["stsb"]: blob[: len(blob) // 2]})
    with pytest.raises(D.DataError) as e:
        D.load_stsb("test", tmp_path)
    msg = str(e.value)
    assert "sts-test.csv" in msg and "truncated or corrupt" in msg and D.URLS["stsb"] in msg
    assert not (tmp_path / "stsb" / "sts-test.csv").exists()
    assert _leftovers(tmp_path) == []


def test_archive_member_with_wrong_sum_is_not_kept(data_dir, tmp_path, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted((data_dir / "sts12_16" / "STS13").iterdir()):
            content = p.read_bytes()
            if p.name == "STS.gs.FNWN.txt":
                content = content.replace(b"4", b"3", 1)
            zf.writestr(f"test-gs/{p.name}", content)
    _serve(monkeypatch, {D.URLS["sts13"]: buf.getvalue()})
    with pytest.raises(D.DataError) as e:
        D.load_sts(13, tmp_path)
    msg = str(e.value)
    assert "STS.gs.FNWN.txt" in msg and D._sums()["sts12_16/STS13/STS.gs.FNWN.txt"] in msg
    folder = tmp_path / "sts12_16" / "STS13"
    assert not (folder / "STS.gs.FNWN.txt").exists()
    assert (folder / "STS.input.FNWN.txt").exists()  # the good members are kept
    assert _leftovers(tmp_path) == []


def test_successful_download(data_dir, tmp_path, monkeypatch):
    sick = data_dir / "sick" / "SICK_test_annotated.txt"
    calls = _serve(monkeypatch, {
        D.URLS["stsb"]: _stsb_tarball(data_dir),
        D.URLS["sts16"]: _sts16_zip(data_dir, {"../evil.txt": "x", "notes/README.txt": "y"}),
        D.URLS["sick-test"]: sick.read_bytes(),
    })
    assert len(D.load_stsb("test", tmp_path)) == 1379
    assert len(D.load_stsb("dev", tmp_path)) == 1500  # same archive, no 2nd download
    d16 = D.load_sts(16, tmp_path)
    assert len(d16) == 1186
    assert len(D.load_task("sickr", tmp_path)) == 4927
    assert calls == [D.URLS["stsb"], D.URLS["sts16"], D.URLS["sick-test"]]
    # every installed file is byte-identical to the shared copy
    installed = sorted(p.relative_to(tmp_path).as_posix()
                       for p in tmp_path.rglob("*") if p.is_file())
    assert installed == sorted(
        [f"stsb/{n}" for n in ["LICENSE.txt", "correlation.pl", "readme.txt",
                               "sts-dev.csv", "sts-test.csv", "sts-train.csv"]]
        + [f"sts12_16/STS16/{p.name}" for p in (data_dir / "sts12_16" / "STS16").iterdir()]
        + ["sick/SICK_test_annotated.txt"])
    for rel in installed:
        assert _sha(tmp_path / rel) == D._sums()[rel] == _sha(data_dir / rel)
    assert not (tmp_path.parent / "evil.txt").exists()
    # a fresh process would verify again: clear the cache and reload
    D._VERIFIED.clear()
    assert len(D.load_sts("STS16", tmp_path)) == 1186


def test_real_fetch_reads_a_local_url(data_dir, tmp_path):
    src = data_dir / "sick" / "SICK_trial.txt"
    dest = tmp_path / "out.part"
    REAL_FETCH(src.resolve().as_uri(), dest, 1.0)  # file:// URL, no network
    assert dest.read_bytes() == src.read_bytes()
