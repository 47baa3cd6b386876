"""Paths, logging, running commands and reading _toc.yml: what every job of the build shares.

Other modules read these paths as ``common.NAME`` at call time, so that a test can point them
at a folder of its own with ``monkeypatch.setattr(common, "ROOT", tmp_path)``.
"""

from __future__ import annotations

import functools
import hashlib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRY = ROOT / "scripts" / "book.py"  # what re-executes itself in .venv and in the namespace
VENV = ROOT / ".venv"
VENV_PY = VENV / "bin" / "python"
BUILD = ROOT / "_build"
STAGE = BUILD / "stage"
HTML = STAGE / "_build" / "html"
TIMINGS = BUILD / "timings.json"
STUDENT = BUILD / "student"  # the student edition: STUDENT / "_build" / "html"
STUDENT_HTML = STUDENT / "_build" / "html"
SCREENSHOTS = BUILD / "screenshots"
KERNEL = "aniso"
MATHJAX_EXTRA = ROOT / "_mathjax_build"  # html_extra_path in _config.yml
MATHJAX_SCRIPT = "mathjax/tex-chtml.js"  # where the built HTML must find MathJax


def say(msg: str) -> None:
    print(f"[book] {msg}", flush=True)


def fail(header: str, problems: list[str]) -> None:
    """Print a header and one line per problem on stderr, and exit 1."""
    print("\n".join([f"[book] {header}"] + [f"  {p}" for p in problems]), file=sys.stderr)
    sys.exit(1)


def run(cmd: list, **kw) -> None:
    say("$ " + " ".join(str(c) for c in cmd))
    rc = subprocess.run([str(c) for c in cmd], cwd=kw.pop("cwd", ROOT), **kw).returncode
    if rc != 0:
        args = " ".join(str(c) for c in cmd[1:3])
        sys.exit(f"[book] FAILED (exit code {rc}): {Path(str(cmd[0])).name} {args} ...")


def sha256(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()


def toc_pages(toc: Path) -> tuple[str, list[str]]:
    """(root, other pages) of a _toc.yml, without suffix."""
    import yaml

    data = yaml.safe_load(toc.read_text())
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("file"), str):
                found.append(node["file"])
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    strip = functools.partial(re.sub, r"\.(ipynb|md)$", "")
    return strip(data["root"]), [strip(f) for f in found]


def toc_files(toc_path: Path | None = None) -> list[str]:
    """The `file:` entries of _toc.yml (root first), without suffix."""
    root, pages = toc_pages(toc_path or ROOT / "_toc.yml")
    return [root, *pages]


def toc_notebooks() -> list[str]:
    """The notebooks of _toc.yml, in its order, as paths relative to the root."""
    return [f + ".ipynb" for f in toc_files(ROOT / "_toc.yml") if (ROOT / (f + ".ipynb")).exists()]
