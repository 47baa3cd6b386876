"""The Colab cell of every chapter, kept identical to binder/colab_cell.ipy.

`python3 scripts/book.py sync-colab` rewrites the Colab cell (the code cell that mentions
`google.colab`, or the old `try: import aniso` bootstrap) of every notebook from that one file,
tagged `remove-cell` so that it stays out of the rendered page. tests/bookbuild/test_publishing.py
fails when a chapter's cell differs from the file.

The cell installs the package only where a fresh Colab runtime lacks it, and keeps Colab's own
PyTorch (binder/requirements-colab.txt does not pin torch). A plain (not editable) install lands
in site-packages, which the running kernel already searches: no restart, no sys.path edits.
"""

from __future__ import annotations

import json

from . import common
from .common import say

TEMPLATE = common.ROOT / "binder" / "colab_cell.ipy"


def is_colab_cell(cell: dict) -> bool:
    source = "".join(cell["source"])
    return cell["cell_type"] == "code" and (
        "google.colab" in source or ("import aniso" in source and "git clone" in source)
    )


def sync() -> list[str]:
    """Rewrite every notebook's Colab cell from the template; the notebooks it changed."""
    lines = TEMPLATE.read_text().rstrip("\n").split("\n")
    source = [line + "\n" for line in lines[:-1]] + [lines[-1]]
    changed = []
    for nb in sorted((common.ROOT / "notebooks").glob("*.ipynb")):
        data = json.loads(nb.read_text())
        cells = [c for c in data["cells"] if is_colab_cell(c)]
        if len(cells) != 1:
            raise SystemExit(f"[book] {nb.name}: {len(cells)} Colab cells, expected exactly one")
        cell = cells[0]
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if cell["source"] != source or "remove-cell" not in tags:
            cell["source"] = source
            if "remove-cell" not in tags:
                tags.append("remove-cell")
            nb.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
            changed.append(nb.name)
    say(f"Colab cell synced from {TEMPLATE.relative_to(common.ROOT)}: {len(changed)} changed")
    return changed
