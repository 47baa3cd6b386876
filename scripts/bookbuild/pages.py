"""The generated pages: written into the stage at build time and included by the book's pages,
so that the numbers and goals there are never typed by hand.

* book/_chapters.md (in book/teaching.md): each chapter's learning goals, exercises and time;
* book/_timings.md (in book/how_to_run.md and book/teaching.md): the measured execution times
  and peak memory (bookbuild.memory);
* book/_ledger.md (in book/what_reproduces.md): the "What reproduces" rows of every executed
  chapter, read back from the notebooks with :func:`aniso.book.read_ledger`.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from . import common, memory

TIMINGS_PAGE = "book/_timings.md"
CHAPTERS_PAGE = "book/_chapters.md"
LEDGER_PAGE = "book/_ledger.md"
# The chapters that must have "What reproduces" rows: the build fails when one of them has none.
LEDGER_CHAPTERS = [
    "notebooks/00_the_problem.ipynb",
    "notebooks/01_representation_degeneration.ipynb",
    "notebooks/02_spectrum_control.ipynb",
    "notebooks/03_bert_flow_whitening.ipynb",
    "notebooks/04_simcse.ipynb",
    "notebooks/05_alignment_uniformity.ipynb",
    "notebooks/06_reproducing_the_numbers.ipynb",
    "notebooks/07_conclusion.ipynb",
]
VERDICTS = ("reproduced", "partly", "not at this scale", "contradicted")  # as in aniso.book.chapter
FENCE = re.compile(r"^(`{3,}|:{3,})\{(\w+)\}[ \t]*(.*?)\n(.*?)^\1[ \t]*$", re.M | re.S)


def markdown_of(nb: str) -> str:
    cells = json.loads((common.ROOT / nb).read_text())["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def title_of(nb: str) -> str:
    return next(
        (line[2:].strip() for line in markdown_of(nb).splitlines() if line.startswith("# ")), nb
    )


def _timings() -> dict:
    return json.loads(common.TIMINGS.read_text()) if common.TIMINGS.exists() else {"notebooks": {}}


def chapters_page() -> str:
    """Per chapter: its learning goals (the chapter's own admonition), its exercises, its
    measured time."""
    timings = _timings()
    out = []
    for nb in common.toc_notebooks():
        text = markdown_of(nb)
        goals = next(
            (
                body.strip()
                for _, kind, arg, body in FENCE.findall(text)
                if kind == "admonition" and arg.strip().lower() == "learning goals"
            ),
            None,
        )
        exercises = [
            m.group(1)
            for _, kind, _, body in FENCE.findall(text)
            if kind == "exercise"
            for m in [re.search(r"^:label:\s*(\S+)", body, re.M)]
            if m
        ]
        secs = timings["notebooks"].get(nb)
        when = (
            f"{secs / 60:.1f} min in the `{timings.get('profile', 'quick')}` profile "
            f"(measured in this build)"
            if secs is not None
            else "not executed in this build"
        )
        out += [
            f"#### {title_of(nb)}",
            "",
            f"{{doc}}`Read the chapter <../{nb[: -len('.ipynb')]}>`; execution time: {when}.",
            "",
        ]
        out += [
            "**Learning goals.** " + (goals or "(the chapter has no learning-goals admonition)"),
            "",
        ]
        out += [
            "**Exercises.** "
            + (
                ", ".join(f"{{numref}}`{label}`" for label in exercises)
                if exercises
                else "none yet"
            )
            + ".",
            "",
        ]
    return "\n".join(out)


def memory_cell(mib: int | None, limit: int = memory.BINDER_MEMORY_MIB) -> str:
    """A chapter's peak memory for the table, flagged when it is above Binder's limit."""
    if mib is None:
        return "not measured in this build"
    return f"**{mib} MiB: above Binder's {limit} MiB**" if mib > limit else f"{mib} MiB"


def memory_note(timings: dict, titles: dict[str, str]) -> str:
    """What the memory column measured, and which chapters do not fit in Binder's memory."""
    peaks = {nb: timings.get("memory_mib", {}).get(nb) for nb in titles}
    if all(mib is None for mib in peaks.values()):
        return ""
    limit = memory.BINDER_MEMORY_MIB
    over = [titles[nb] for nb, mib in peaks.items() if mib is not None and mib > limit]
    verdict = (
        f"**{len(over)} chapter{'s' if len(over) > 1 else ''} need{'' if len(over) > 1 else 's'} "
        f"more than that**: {', '.join(over)}."
        if over
        else "every measured chapter stays below it."
    )
    measure = timings.get("memory_measure", "pss")
    return (
        f"\n**Peak memory** is the most memory that the chapter's Jupyter kernel and the "
        f"processes it starts (the training workers of chapters 1 and 2) held at once while it "
        f"executed in the `{timings.get('profile', 'quick')}` profile: their "
        f"{memory.MEASURES.get(measure, measure)}, summed, and sampled every "
        f"{timings.get('memory_interval_s', memory.INTERVAL_S)} s, so a spike shorter than that "
        f"can be missed. Binder gives a reader {limit} MiB of memory: {verdict}\n"
    )


def timings_page(timings: dict | None = None) -> str:
    """The table of measured execution times and peak memory that book/how_to_run.md and
    book/teaching.md include; `timings` as in _build/timings.json (by default, read from it)."""
    titles = {nb: title_of(nb) for nb in common.toc_notebooks()}
    timings = _timings() if timings is None else timings
    measured = timings.get("profile", "quick")
    unmeasured = {
        "quick": "not measured in this build",
        "paper": "not measured in this build (needs the internet; a GPU recommended)",
    }
    peaks = timings.get("memory_mib", {})
    rows = [
        "| chapter | `quick` profile | `paper` profile | peak memory |",
        "|---|---|---|---|",
    ]
    for nb, title in titles.items():
        secs = timings["notebooks"].get(nb)
        cols = {p: unmeasured[p] for p in unmeasured}
        cols[measured] = (
            f"{secs / 60:.1f} min" if secs is not None else "not executed in this build"
        )
        rows.append(
            f"| {title} | {cols['quick']} | {cols['paper']} | {memory_cell(peaks.get(nb))} |"
        )
    total = sum(timings["notebooks"].get(nb, 0) for nb in titles)
    cols = {p: "" for p in unmeasured}
    cols[measured] = f"**{total / 60:.1f} min**"
    largest = max((peaks[nb] for nb in titles if peaks.get(nb) is not None), default=None)
    most = f"the largest: {memory_cell(largest)}" if largest is not None else ""
    rows.append(f"| **the whole book** | {cols['quick']} | {cols['paper']} | {most} |")
    from aniso.util.threads import available_cpus  # the container's CPUs, not the host's

    machine = f"{available_cpus()} CPU cores"
    when = (
        time.strftime("%Y-%m-%d", time.gmtime(common.TIMINGS.stat().st_mtime))
        if common.TIMINGS.exists()
        else "never"
    )
    return (
        "\n".join(rows) + f"\n\nMeasured by `scripts/book.py execute` when this copy of the "
        f"book was built ({when}, {machine}, profile `{timings.get('profile', 'quick')}`, "
        f"with a warm embedding cache where an earlier chapter filled it); "
        f"the numbers come from `_build/timings.json`.\n" + memory_note(timings, titles)
    )


# ----------------------------------------------------------------------------- the ledger
def read_ledger(executed: Path) -> list[dict]:
    """The ledger rows an executed notebook glued (:func:`aniso.book.read_ledger`)."""
    try:
        from aniso.book.chapter import read_ledger as read
    except ImportError:  # the checkout's package, when .venv has no editable install of it
        sys.path.insert(0, str(common.ROOT / "src"))
        from aniso.book.chapter import read_ledger as read
    return read(executed) if executed.exists() else []


def ledger_rows(stage_dir: Path, notebooks: list[str]) -> dict[str, list[dict]]:
    """The ledger rows of each executed notebook, in the order of _toc.yml (notebooks without
    rows left out)."""
    found = {nb: read_ledger(stage_dir / nb) for nb in notebooks}
    return {nb: rows for nb, rows in found.items() if rows}


def ledger_problems(rows: dict[str, list[dict]], required: list[str]) -> list[str]:
    """What is wrong with the ledger: a required chapter without rows, an unknown verdict."""
    problems = [
        f"{nb}: no 'What reproduces' rows (aniso.book.ledger_row and show_ledger in its "
        f"last section); it is in LEDGER_CHAPTERS (scripts/bookbuild/pages.py)"
        for nb in required
        if nb not in rows
    ]
    for nb, chapter_rows in rows.items():
        problems += [
            f"{nb}: verdict {r.get('verdict')!r} of {r.get('claim')!r} is not one of "
            f"{', '.join(VERDICTS)}"
            for r in chapter_rows
            if r.get("verdict") not in VERDICTS
        ]
        problems += [
            f"{nb}: {r.get('claim')!r} is contradicted but names no experiment that tests an "
            "explanation (ledger_row(..., experiment=label))"
            for r in chapter_rows
            if r.get("verdict") == "contradicted" and not r.get("experiment")
        ]
    return problems


def _cell(text) -> str:
    """Text for a cell of a Markdown table: one line, no column break."""
    return " ".join(str(text or "").split()).replace("|", "\\|")


def ledger_summary(rows: dict[str, list[dict]]) -> list[str]:
    """The page's first table: how many rows got each verdict, with a bar of that length."""
    counts = {v: sum(r["verdict"] == v for rs in rows.values() for r in rs) for v in VERDICTS}
    out = ["| verdict | rows | |", "|---|---|---|"]
    out += [f"| {v} | {n} | {'█' * n} |" for v, n in counts.items()]
    return out + [""]


def ledger_page(rows: dict[str, list[dict]], profile: str = "quick") -> str:
    """A summary (rows per verdict), then one table per chapter (claim, where in the paper, the
    paper's number, ours, our effect with its interval, verdict), each under a heading that
    links to its chapter; a row's note goes below its table."""
    if not rows:
        return "No chapter recorded a row in this build.\n"
    counts = {v: sum(r["verdict"] == v for rs in rows.values() for r in rs) for v in VERDICTS}
    out = [
        f'All numbers under "ours" come from this build (profile `{profile}`): '
        + ", ".join(f"{n} {v}" for v, n in counts.items())
        + ".",
        "",
        *ledger_summary(rows),
    ]
    for nb, chapter_rows in rows.items():
        doc = nb[: -len(".ipynb")]
        name = chapter_rows[0].get("chapter") or title_of(nb)
        out += [
            f"### {name}",
            "",
            f"The chapter: {{doc}}`../{doc}`.",
            "",
            "| claim | in the paper | paper | ours | our effect [95% interval] | verdict |",
            "|---|---|---|---|---|---|",
        ]
        notes = []
        for r in chapter_rows:
            claim = _cell(r["claim"])
            if r.get("section"):  # the section of the chapter that tests the claim
                claim += f" ({{ref}}`§ <{r['section']}>`)"
            if r.get("note"):
                notes.append(r["note"])
                claim += f" ({len(notes)})"
            verdict = f"**{_cell(r['verdict'])}**"
            if r.get("experiment"):
                verdict += f" ({{ref}}`the test <{r['experiment']}>`)"
            out.append(
                f"| {claim} | {_cell(r['where'])} | {_cell(r['paper'])} | "
                f"{_cell(r['ours'])} | {_cell(r.get('evidence', ''))} | {verdict} |"
            )
        out.append("")
        out += [f"- ({i}) {_cell(note)}" for i, note in enumerate(notes, 1)]
        out += [""] if notes else []
    return "\n".join(out)


def write_generated(stage_dir: Path, required: list[str] | None = None) -> None:
    """Write the generated pages into the stage; exit 1 when the ledger misses a chapter."""
    notebooks = common.toc_notebooks()
    rows = ledger_rows(stage_dir, notebooks)
    required = LEDGER_CHAPTERS if required is None else required
    problems = ledger_problems(rows, [nb for nb in required if nb in notebooks])
    if problems:
        common.fail("the 'What reproduces' page cannot be built:", problems)
    (stage_dir / TIMINGS_PAGE).write_text(timings_page())
    (stage_dir / CHAPTERS_PAGE).write_text(chapters_page())
    (stage_dir / LEDGER_PAGE).write_text(ledger_page(rows, _timings().get("profile", "quick")))
    common.say(
        f"generated {TIMINGS_PAGE}, {CHAPTERS_PAGE} and {LEDGER_PAGE} "
        f"({sum(len(r) for r in rows.values())} ledger rows from {len(rows)} chapters)"
    )
