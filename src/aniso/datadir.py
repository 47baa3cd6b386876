"""The data directory: where the data sets live, how they are checked and downloaded.

Introduced in chapter "The problem"; :mod:`aniso.data` reads every data set
through :func:`data_file`. The directory is laid out like the project's
``../shared/data`` folder::

    stsb/sts-{train,dev,test}.csv
    sts12_16/STS12 .. STS16/STS.input.<subset>.txt, STS.gs.<subset>.txt
    sick/SICK_{train,trial,test_annotated}.txt
    wiki1m_sample/wiki1m_head.txt
    enwiki_sample/enwiki_sample_sentences.txt

It is the ``data_dir`` argument, else the environment variable
``ANISO_DATA_DIR``, else a user cache folder (see :func:`resolve_data_dir`).

Each file is checked once per process against the sha256 sums shipped with the
package (``data_sha256.txt``); a file whose sum does not match is never used.
A missing STS-B, STS12-16 or SICK file is downloaded from its public original
(:data:`URLS`) into the data directory with pooch, checked, and only then
moved under its final name.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Optional

from . import files

__all__ = [
    "DataError",
    "ENV_VAR",
    "URLS",
    "SICK_FILES",
    "DOWNLOAD_TIMEOUT",
    "resolve_data_dir",
    "sums",
    "verify_file",
    "retrieve",
    "data_file",
]

ENV_VAR = "ANISO_DATA_DIR"
DOWNLOAD_TIMEOUT = 5.0  # seconds, for the connection and for each read
LAYOUT_HINT = "layout as in ../shared/data"

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

#: The SICK file of each split.
SICK_FILES = {
    "train": "SICK_train.txt",
    "trial": "SICK_trial.txt",
    "test": "SICK_test_annotated.txt",
}


class DataError(RuntimeError):
    """A data set cannot be used: missing, not downloadable, or corrupt."""


# --------------------------------------------------------------------------
# data directory, sums, verification
# --------------------------------------------------------------------------


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
        path = files.data_cache_dir()
        path.mkdir(parents=True, exist_ok=True)
        return path
    if not path.is_dir():
        what = "is not a directory" if path.exists() else "does not exist"
        raise DataError(
            f"data directory {path} (from {source}) {what}. Point {ENV_VAR} "
            f"(or data_dir) at a folder with the data sets ({LAYOUT_HINT}), or "
            f"unset {ENV_VAR} to download them into {files.data_cache_dir()}."
        )
    return path


_SUMS: dict[str, str] | None = None
_VERIFIED: set[tuple[str, int, int]] = set()  # (resolved path, size, mtime_ns)


def sums() -> dict[str, str]:
    """Relative path -> sha256, from the package file ``data_sha256.txt``."""
    global _SUMS
    if _SUMS is None:
        text = resources.files("aniso").joinpath("data_sha256.txt").read_text("utf-8")
        table = {}
        for line in text.splitlines():
            if line.strip():
                digest, name = line.split(None, 1)
                table[name.strip().removeprefix("./")] = digest.lower()
        _SUMS = table
    return _SUMS


def verify_file(path: Path, rel: str) -> Path:
    """Check ``path`` against the sum of ``rel`` (chapter "The problem").

    Done once per process per file; a mismatch raises :class:`DataError`.
    """
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key in _VERIFIED:
        return path
    if rel not in sums():
        raise ValueError(f"no sha256 sum is known for {rel!r}")
    expected = sums()[rel]
    actual = files.sha256(path)
    if actual != expected:
        raise DataError(
            f"data file {path} is corrupt or not the published original: sha256 "
            f"{actual}, expected {expected}. It is not used. Delete it so it is "
            f"downloaded again, or fix {ENV_VAR} to point at a folder with the "
            f"original files ({LAYOUT_HINT})."
        )
    _VERIFIED.add(key)
    return path


# --------------------------------------------------------------------------
# download (pooch: HTTP download to a temporary file, sha256 check, rename)
# --------------------------------------------------------------------------


def retrieve(
    url: str,
    folder: Path,
    fname: str,
    known_hash: Optional[str] = None,
    timeout: float = DOWNLOAD_TIMEOUT,
) -> Path:
    """Download ``url`` to ``folder/fname`` with pooch; with ``known_hash`` (sha256 hex) the file
    is checked before it gets its name (pooch raises ValueError on a mismatch and deletes it)."""
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")  # no "Downloading data from ..." lines in the chapters
    try:
        downloader = pooch.HTTPDownloader(
            progressbar=False, timeout=timeout, headers={"User-Agent": "aniso-data/0.1"}
        )
        return Path(
            pooch.retrieve(
                url,
                known_hash and f"sha256:{known_hash}",
                fname=fname,
                path=folder,
                downloader=downloader,
                progressbar=False,
            )
        )
    finally:
        logger.setLevel(level)


def _source_of(rel: str) -> tuple[str, str, str]:
    """(URLS key, kind, target folder) of the download that provides ``rel``."""
    parts = rel.split("/")
    if parts[0] == "stsb":
        return "stsb", "tar", "stsb"
    if parts[0] == "sts12_16" and len(parts) == 3:
        return f"sts{parts[1][-2:]}", "zip", f"sts12_16/{parts[1]}"
    if parts[0] == "sick":
        for split, fname in SICK_FILES.items():
            if parts[-1] == fname:
                return f"sick-{split}", "file", "sick"
    raise KeyError(rel)


def _mark_verified(path: Path) -> None:
    st = path.stat()
    _VERIFIED.add((str(path.resolve()), st.st_size, st.st_mtime_ns))


class _SumMismatch(Exception):
    def __init__(self, actual: str):
        self.actual = actual


def _check_sum(rel: str):
    """A ``verify`` callback for :func:`files.atomic_write`: raise unless the file has the sum
    of ``rel``."""

    def verify(tmp: Path) -> None:
        actual = files.sha256(tmp)
        if actual != sums()[rel]:
            raise _SumMismatch(actual)

    return verify


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
    tmp_dir = Path(tempfile.mkdtemp(prefix=".download-", dir=folder))
    try:
        if kind == "file":
            try:
                final = retrieve(url, folder, PurePosixPath(rel).name, sums()[rel])
            except ValueError as e:  # pooch: the sha256 does not match
                raise DataError(
                    f"the file downloaded from {url} failed its sha256 check "
                    f"({' '.join(str(e).split())}); it was not kept."
                ) from e
            _mark_verified(final)
            return
        archive = retrieve(url, tmp_dir, PurePosixPath(url).name)
        bad: dict[str, str] = {}
        for base, stream in _archive_members(archive, kind):
            member_rel = f"{folder_rel}/{base}"
            final = data_dir / member_rel
            if member_rel not in sums() or final.exists():
                continue
            try:
                with files.atomic_write(final, verify=_check_sum(member_rel)) as out:
                    shutil.copyfileobj(stream, out, 1 << 20)
            except _SumMismatch as e:
                bad[member_rel] = e.actual
                continue
            _mark_verified(final)
        if not (data_dir / rel).exists():
            if rel in bad:
                raise DataError(
                    f"{PurePosixPath(rel).name} in the archive from {url} has sha256 "
                    f"{bad[rel]}, expected {sums()[rel]}; it was not kept."
                )
            raise DataError(f"the archive from {url} holds no {PurePosixPath(rel).name}.")
    except (tarfile.TarError, zipfile.BadZipFile, gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise DataError(
            f"the archive downloaded from {url} is truncated or corrupt "
            f"({type(e).__name__}: {' '.join(str(e).split())}); it was not kept."
        ) from e
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        for p in created:  # deepest first; only empty folders go
            try:
                p.rmdir()
            except OSError:
                break


_LABELS = {
    "stsb": "STS-B",
    "sts12_16": "STS12-16",
    "sick": "SICK",
    "wiki1m_sample": "wiki1m",
    "enwiki_sample": "enwiki",
}


def data_file(rel: str, data_dir: Path) -> Path:
    """Path of data file ``rel`` in ``data_dir``: downloaded if missing, and
    checked against its sha256."""
    path = data_dir / rel
    if not path.exists():
        label = _LABELS.get(rel.split("/")[0], "data")
        name = PurePosixPath(rel).name
        hint = (
            f"Set {ENV_VAR} to a folder with the data sets ({LAYOUT_HINT}) "
            f"or connect to the internet."
        )
        try:
            key = _source_of(rel)[0]
        except KeyError:
            raise DataError(
                f"{label} file {name} not found in {data_dir} (expected at {path}); "
                f"it has no download source. Set {ENV_VAR} to a folder with the "
                f"data sets ({LAYOUT_HINT})."
            ) from None
        try:
            _download(rel, data_dir)
        except DataError as e:
            raise DataError(f"{label} file {name} not found in {data_dir} and {e} {hint}") from e
        except OSError as e:  # URLError, HTTPError, timeouts, disk errors
            reason = getattr(e, "reason", None) or e
            raise DataError(
                f"{label} file {name} not found in {data_dir} and it could not be "
                f"downloaded from {URLS[key]} ({reason}). {hint}"
            ) from e
    return verify_file(path, rel)
