"""Files on disk: atomic writes, sha256 sums and the package's cache folders.

Used by every module that writes a cache entry, a download or a checkpoint
(introduced in chapter "The problem"). A file written through
:func:`atomic_write` or a folder written through :func:`atomic_dir` appears
under its final name complete or not at all: it is written beside its final
place under a temporary name and renamed (``os.replace``) at the end, so an
interrupted process never leaves a half-written entry that a later run would
trust. :func:`locked` lets one process at a time compute a cache entry (two chapters
open at once): the others wait, then read the entry it wrote.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator

__all__ = [
    "atomic_write",
    "atomic_dir",
    "locked",
    "lock_path",
    "sha256",
    "cache_dir",
    "data_cache_dir",
    "read_jsonl",
    "write_jsonl",
]


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", verify: Callable[[Path], None] | None = None) -> Iterator:
    """``with atomic_write(path) as f: ...`` writes ``path`` atomically (``mode`` "wb" or "w").

    The content goes to a temporary file in the same folder (created if needed), which replaces
    ``path`` when the block ends without an exception and ``verify(temporary_path)`` (if given)
    does not raise. Otherwise the temporary file is deleted and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
        if verify is not None:
            verify(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(path) -> Iterator[Path]:
    """``with atomic_dir(path) as tmp: ...`` fills the folder ``tmp``, which then replaces ``path``.

    An existing ``path`` is removed only once the new folder is complete; on an exception the
    temporary folder is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        shutil.rmtree(path, ignore_errors=True)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def lock_path(path) -> Path:
    """The lock file of the cache entry ``path`` (a file or a folder): ``.<name>.lock`` beside it.

    A hidden name, like :func:`atomic_write`'s temporary files: it matches neither the entries'
    patterns (``*.pt``, ``simcse-*``) nor a shell's ``*``. The file stays after the lock is
    released (waiting processes must lock the same file); it is empty.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def locked(path, what: str | None = None) -> Iterator[bool]:
    """``with locked(path, what="the run folder ..."):`` holds an exclusive lock on the cache entry
    ``path`` between processes (``filelock.FileLock`` on :func:`lock_path`). Chapter "The problem".

    When another process holds it, one line on stderr says that this one waits for it (naming
    ``what``, else ``path``), and the block starts once the other has left its own. Yields whether
    it waited. The caller checks its cache again inside the block: the process it waited for may
    have written the entry. The lock is not reentrant across calls: do not nest two blocks on the
    same ``path``, and do not hold one while waiting for another process that needs it.
    """
    from filelock import FileLock, Timeout

    lock_file = lock_path(path)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_file)
    waited = False
    try:
        lock.acquire(blocking=False)
    except Timeout:
        waited = True
        print(
            f"[aniso] waiting for another process that is computing {what or Path(path)} "
            f"(lock {lock_file}) ...",
            file=sys.stderr,
            flush=True,
        )
        lock.acquire()
    try:
        yield waited
    finally:
        lock.release()


def read_jsonl(path) -> list[dict]:
    """The records of a JSON-lines file (one object a line), ``[]`` when there is no such file.

    Chapter "SimCSE" (a run's dev evaluations, ``evals.jsonl``).
    """
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def write_jsonl(path, rows) -> None:
    """Write ``rows`` (dicts) as the JSON-lines file ``path``, replacing it. Chapter "SimCSE"."""
    Path(path).write_text("".join(json.dumps(r) + "\n" for r in rows))


def sha256(path) -> str:
    """The sha256 hex digest of a file (pooch's ``file_hash``, read in blocks)."""
    import pooch

    return pooch.file_hash(str(path), alg="sha256")


def cache_dir(*parts: str) -> Path:
    """The package's cache: ``$ANISO_CACHE_DIR``, else ``$XDG_CACHE_HOME/aniso/embeddings`` (or
    ``~/.cache/aniso/embeddings``); ``parts`` name a subfolder (not created here).

    Embeddings sit at its top, trained language models under ``lm``, contrastive runs under
    ``runs`` and assembled GGUF files under ``gguf``.
    """
    env = os.environ.get("ANISO_CACHE_DIR")
    if env:
        return Path(env).joinpath(*parts)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).joinpath("aniso", "embeddings", *parts)


def data_cache_dir() -> Path:
    """Where missing data sets are downloaded when no data directory is given:
    ``<user cache>/aniso/data`` (platformdirs)."""
    try:
        import platformdirs

        base = Path(platformdirs.user_cache_dir("aniso"))
    except ImportError:  # pragma: no cover - platformdirs is nearly always there
        base = Path.home() / ".cache" / "aniso"
    return base / "data"
