"""The runnable copies (`runnable`): each executed chapter as a notebook that JupyterLab, Binder and
Colab show the way the book does, for readers who run it themselves.

    python3 scripts/book.py runnable    # after `execute`: _build/runnable/notebooks/*.ipynb
                                        # and _build/runnable-student/notebooks/*.ipynb

A copy (:func:`runnable_copy`) has every glued value of the executed chapter written into its
text, every MyST directive and role turned into plain Markdown (:mod:`bookbuild.markup`), the
solutions folded in ``<details>`` (or left out: the student copy), every output cleared, the
book's bookkeeping cells kept but folded (``metadata.jupyter.source_hidden``), papermill's
injected-parameters cell dropped, the standard ``python3`` kernel, and a note on top that says
when the numbers of the text were computed. The publishing workflow pushes the copies to the
branches ``run`` and ``run-student`` (.github/workflows/book.yml), where the launch buttons find
them.
"""

from __future__ import annotations

import functools
import json
import posixpath
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from . import common, markup
from .common import say

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
HIDDEN = {"remove-cell", "remove-input", "hide-input", "hide-cell"}  # source folded in the copy
# papermill's copy of the parameters cell: the reader edits the real one
DROPPED = {"injected-parameters"}
# a code cell that computes an exercise's answer (the numbers its {solution} quotes, and the
# checks of them): in the full copy like any cell, left out of the student copy
SOLUTION_TAG = "solution"
RUNNABLE = "runnable"  # _build/runnable (full) and _build/runnable-student
BRANCHES = {"run": RUNNABLE, "run-student": RUNNABLE + "-student"}  # branch -> folder of _build


# ----------------------------------------------------------------------------- citations
class Bibliography:
    """book/references.bib through pybtex: "(Author Year)" citations and a plain list."""

    def __init__(self, files: list[Path]) -> None:
        self.files = files

    @functools.cached_property
    def entries(self):
        from pybtex.database import BibliographyData, parse_file

        data = BibliographyData()
        for path in self.files:
            for key, entry in parse_file(str(path)).entries.items():
                data.add_entry(key, entry)
        return data.entries

    def entry(self, key: str):
        if key not in self.entries:
            raise markup.MarkupError(
                f"citation {key!r} is not in {', '.join(map(str, self.files))}"
            )
        return self.entries[key]

    @functools.lru_cache(maxsize=None)  # noqa: B019 (one Bibliography per book)
    def authors(self, key: str) -> str:
        from pybtex.backends.plaintext import Backend
        from pybtex.richtext import Text

        entry, plain = self.entry(key), Backend()
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [
            Text.from_latex(" ".join(p.prelast_names + p.last_names)).render(plain) for p in people
        ]
        if not names:
            return Text.from_latex(entry.fields.get("organization", key)).render(plain)
        if len(names) > 2:
            return f"{names[0]} et al."
        return " and ".join(names)

    def year(self, key: str) -> str:
        return self.entry(key).fields.get("year", "n.d.")

    def label(self, key: str) -> str:
        return f"{self.authors(key)} {self.year(key)}"

    def cite(self, keys: list[str], role: str) -> str:
        """`{cite}` and `{cite:p}`: "(Gao et al. 2021; Su et al. 2021)"; `{cite:t}`:
        "Gao et al. (2021)"; `{cite:author}`, `{cite:year}`: the one or the other."""
        if role in ("cite:t", "cite:ts"):
            return "; ".join(f"{self.authors(k)} ({self.year(k)})" for k in keys)
        if role in ("cite:author", "cite:authors"):
            return "; ".join(self.authors(k) for k in keys)
        if role in ("cite:year", "cite:yearpar"):
            years = "; ".join(self.year(k) for k in keys)
            return f"({years})" if role == "cite:yearpar" else years
        return "(" + "; ".join(self.label(k) for k in keys) + ")"

    def listing(self, keys: list[str]) -> str:
        """The cited entries as a Markdown list, sorted by their citation label."""
        from pybtex.backends.markdown import Backend
        from pybtex.style.formatting.plain import Style

        style, markdown, lines = Style(), Backend(), []
        for key in sorted(keys, key=lambda k: (self.label(k).lower(), k)):
            text = style.format_entry(key, self.entry(key)).text.render(markdown)
            lines.append(f"- **{self.label(key)}.** " + " ".join(text.split()))
        return "\n".join(lines) or "(no citation in this chapter)"


# ----------------------------------------------------------------------------- the book
@dataclass
class Book:
    """What every chapter's copy shares: the rendered book's URL, the labels and titles of all
    its pages, its bibliography."""

    root: Path
    title: str
    base_url: str
    labels: dict
    titles: dict
    bibliography: Bibliography


def find_root(path: Path) -> Path | None:
    """The book folder (with _toc.yml) above `path`: the stage, or the repository."""
    for folder in path.resolve().parents:
        if (folder / "_toc.yml").exists() and (folder / "_config.yml").exists():
            return folder
    return None


def base_url(config: dict) -> str:
    """The rendered book: html.baseurl if set, else GitHub Pages of repository.url."""
    url = (config.get("html") or {}).get("baseurl") or ""
    if not url:
        repo = (config.get("repository") or {}).get("url", "")
        m = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", repo)
        url = f"https://{m.group(1).lower()}.github.io/{m.group(2)}/" if m else ""
    return url.rstrip("/") + "/" if url else ""


def markdown_cells(path: Path) -> list[str]:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return [text(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    return [path.read_text(encoding="utf-8")]


@functools.lru_cache(maxsize=4)
def load_book(root: Path) -> Book:
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text()) or {}
    labels, titles = {}, {}
    for doc in common.toc_files(root / "_toc.yml"):
        path = next(
            (root / (doc + s) for s in (".ipynb", ".md") if (root / (doc + s)).exists()), None
        )
        if path is None:
            continue
        chapter = markup.scan(doc, markdown_cells(path))
        titles[doc] = chapter.title or posixpath.basename(doc)
        labels.update(chapter.targets)
    bibfiles = [root / f for f in config.get("bibtex_bibfiles", [])]
    return Book(
        root,
        config.get("title", ""),
        base_url(config),
        labels,
        titles,
        Bibliography(bibfiles or [common.ROOT / "book" / "references.bib"]),
    )


# ----------------------------------------------------------------------------- one chapter
def text(source) -> str:
    return "".join(source) if isinstance(source, list) else source


def glued(nb: dict) -> dict[str, dict]:
    """Every value the notebook glued: name -> mime bundle (myst-nb's extract_glue_data: the
    mime prefix stripped, multi-line strings joined)."""
    values = {}
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            record = out.get("metadata", {}).get("scrapbook")
            if record:
                cut = len(record.get("mime_prefix", ""))
                values[record["name"]] = {k[cut:]: text(v) for k, v in out["data"].items()}
    return values


def build_date(nb: dict) -> tuple[str, str]:
    """(date of the execution, profile) from the papermill metadata."""
    meta = nb.get("metadata", {}).get("papermill", {})
    when = (meta.get("end_time") or meta.get("start_time") or "")[:10] or "an unknown date"
    return when, str(meta.get("parameters", {}).get("PROFILE", "quick"))


def note_cell(chapter_title: str, url: str, when: str, profile: str, student: bool) -> dict:
    which = "student copy" if student else "runnable copy"
    lines = [
        f"> **This is the {which} of the chapter \u201c{chapter_title}\u201d**"
        + (f" ([the chapter in the book]({url}))" if url else "")
        + ", to run in JupyterLab, Binder or Colab"
        + (", without the solutions of the exercises." if student else "."),
        ">",
        f"> The numbers written into the text were computed when the book was built, on {when} "
        f"(profile `{profile}`). Running the notebook computes its own, which may differ a little "
        "on another machine. Run the cells in order from the top; each figure appears below the "
        "cell that draws it. The folded cells do the book's bookkeeping: later cells need them.",
    ]
    return {
        "cell_type": "markdown",
        "id": "runnable-note",
        "metadata": {},
        "source": lines_of(lines),
    }


def lines_of(lines: list[str] | str) -> list[str]:
    joined = "\n".join(lines) if isinstance(lines, list) else lines
    parts = joined.split("\n")
    return [p + "\n" for p in parts[:-1]] + [parts[-1]]


def clean_metadata(meta: dict) -> dict:
    return {k: v for k, v in meta.items() if k not in ("papermill", "execution")}


def runnable_copy(
    executed: Path, out: Path, student: bool = False, book: Book | None = None
) -> dict:
    """Write the runnable copy of an executed chapter to `out`; a summary (figures, exercises,
    cells). Raises :class:`markup.MarkupError` on markup it cannot render."""
    executed = Path(executed)
    nb = json.loads(executed.read_text(encoding="utf-8"))
    root = find_root(executed)
    book = book or load_book(root or common.ROOT)
    if root and executed.resolve().is_relative_to(root):
        doc = executed.resolve().relative_to(root).with_suffix("").as_posix()
    else:
        doc = f"notebooks/{executed.stem}"
    sources = [text(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    chapter = markup.scan(doc, sources)
    values = {doc: glued(nb)}

    def glue(of: str, key: str) -> dict:
        if of not in values:
            rel = posixpath.relpath(of, posixpath.dirname(doc)) + ".ipynb"
            other = executed.parent / rel
            values[of] = glued(json.loads(other.read_text())) if other.exists() else {}
        if key not in values[of]:
            raise markup.MarkupError(f"{doc}: nothing glued as {key!r} in {of}")
        return values[of][key]

    ctx = markup.Context(
        doc=doc,
        folder=executed.parent,
        glue=glue,
        labels={**book.labels, **chapter.targets},
        titles=book.titles,
        base_url=book.base_url,
        cite=book.bibliography.cite,
        bibliography=book.bibliography.listing,
        cited=chapter.cited,
        student=student,
    )
    when, profile = build_date(nb)
    url = f"{book.base_url}{doc}.html" if book.base_url else ""
    cells = [note_cell(chapter.title or executed.stem, url, when, profile, student)]
    for cell in nb["cells"]:
        meta = clean_metadata(cell.get("metadata", {}))
        tags = set(meta.get("tags", []))
        if tags & DROPPED or (student and SOLUTION_TAG in tags):
            continue
        new = {"cell_type": cell["cell_type"], "id": cell.get("id") or f"cell-{len(cells)}"}
        if cell["cell_type"] == "markdown":
            converted = markup.convert(text(cell["source"]), ctx)
            problems = markup.leftover(converted)
            if problems:
                raise markup.MarkupError(f"{doc}: markup left after conversion: {problems}")
            if not converted.strip():
                continue  # a cell that held only a solution, in the student copy
            new.update(metadata=meta, source=lines_of(converted))
        elif cell["cell_type"] == "code":
            if tags & HIDDEN:
                meta.setdefault("jupyter", {})["source_hidden"] = True
            new.update(metadata=meta, execution_count=None, outputs=[], source=cell["source"])
        else:
            new.update(metadata=meta, source=cell["source"])
        cells.append(new)
    summary = {
        "copy": "student" if student else "full",
        "source": doc + ".ipynb",
        "built": when,
        "profile": profile,
        "figures": chapter.figures,
        "exercises": chapter.exercises,
    }
    copy = {
        "cells": cells,
        "metadata": {
            "kernelspec": dict(KERNELSPEC),
            "language_info": {"name": "python"},
            "aniso": summary,
        },
        "nbformat": 4,
        "nbformat_minor": max(5, nb.get("nbformat_minor", 5)),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(copy, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


# ----------------------------------------------------------------------------- every chapter
def chapters(stage: Path) -> list[str]:
    """The notebooks of the stage's _toc.yml (relative paths, in its order)."""
    toc = common.toc_files(stage / "_toc.yml")
    return [
        f + ".ipynb"
        for f in toc
        if any((r / (f + ".ipynb")).exists() for r in (stage, common.ROOT))
    ]


def write_copies(stage: Path, dest: Path, student: bool) -> list[dict]:
    """The copies of every chapter of the stage's _toc.yml, into dest/notebooks/..."""
    book = load_book(stage.resolve())
    shutil.rmtree(dest, ignore_errors=True)
    return [runnable_copy(stage / nb, dest / nb, student, book) for nb in chapters(stage)]


def write_runnable(stage: Path | None = None) -> None:
    """`runnable`: the full and the student copies of every executed chapter of the stage."""
    from .execute import unexecuted

    stage = stage or common.STAGE
    if not (stage / "_toc.yml").exists():
        sys.exit(f"[book] nothing staged in {stage}: run `python3 scripts/book.py execute` first")
    missing = unexecuted(stage, chapters(stage))
    if missing:
        sys.exit(
            f"[book] not executed: {', '.join(missing)}; run `python3 scripts/book.py execute`"
        )
    for folder, student in ((RUNNABLE, False), (RUNNABLE + "-student", True)):
        dest = common.BUILD / folder
        try:
            done = write_copies(stage, dest, student)
        except markup.MarkupError as err:
            sys.exit(f"[book] runnable copies: {err}")
        say(
            f"{'student' if student else 'full'} runnable copies of {len(done)} chapters in "
            f"{dest / 'notebooks'} ({sum(d['figures'] for d in done)} figures, "
            f"{sum(d['exercises'] for d in done)} exercises"
            + (", no solutions)" if student else ", solutions folded)")
        )
