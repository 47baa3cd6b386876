"""Files on disk: atomic writes, sha256 sums and the package's cache folders.

Used by every module that writes a cache entry, a download or a checkpoint
(introduced in chapter "The problem"). A file written through
:func:`atomic_write` or a folder written through :func:`atomic_dir` appears
under its final name complete or not at all: it is written beside its final
place under a temporary name and renamed (``os.replace``) at the end, so an
interrupted process never leaves a half-written entry that a later run would
trust.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

__all__ = ["atomic_write", "atomic_dir", "sha256", "cache_dir", "data_cache_dir"]


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
