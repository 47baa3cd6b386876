"""The committed results of the reference runs: where they live, how they are read and written.

Introduced in chapter "Representation degeneration"
(notebooks/01_representation_degeneration.ipynb), whose language models are the first reference
run; :mod:`aniso.experiments.reference` (the language models and the command line) and
:mod:`aniso.experiments.contrastive_runs` (chapters 4 to 7) write them, and every chapter reads
them with :func:`load`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

VERSION = 1  # bump when what is measured changes


def results_dir() -> Path:
    """``$ANISO_RESULTS_DIR``, else ``aniso/results/reference`` inside the package.

    The results ship as package data (like the stand-in BERT), so that a chapter finds them
    from any install, editable or not.
    """
    env = os.environ.get("ANISO_RESULTS_DIR")
    if env:
        return Path(env)
    from importlib.resources import files

    return Path(str(files("aniso"))) / "results" / "reference"


def load(name: str = "lm") -> dict:
    """The committed results of a reference run (``results/reference/<name>.json``)."""
    return json.loads((results_dir() / f"{name}.json").read_text(encoding="utf-8"))


def write_json(path: Path, blob: dict) -> None:
    """Write ``blob`` to ``path`` as indented JSON, atomically (a temporary file, then a rename)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps(blob, indent=1, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8"
    )
    os.replace(tmp, path)
