"""The build (`build [--student]`): jupyter-book build -W -n of the executed copies in the stage,
after writing the generated pages; `--student` builds the student edition, without the
solutions, into _build/student/_build/html."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from . import common, pages
from .common import run, say
from .execute import stage, unexecuted

STUDENT_BRANCH = "run-student"  # the branch of the runnable copies without solutions
STUDENT_SOURCES = common.BUILD / "student-sources"


def student_sources() -> Path:
    """A copy of the stage whose notebooks and pages have no ``{solution}`` left, nor a code cell
    tagged ``solution`` (one that computes an exercise's answer): the student edition is built
    from it, so that neither its pages nor its "download source" button lead to them."""
    import json

    from .markup import without_solutions
    from .runnable import SOLUTION_TAG

    shutil.rmtree(STUDENT_SOURCES, ignore_errors=True)
    shutil.copytree(common.STAGE, STUDENT_SOURCES, ignore=shutil.ignore_patterns("_build"))
    for path in sorted(STUDENT_SOURCES.rglob("*.ipynb")):
        nb = json.loads(path.read_text())
        nb["cells"] = [
            c for c in nb["cells"] if SOLUTION_TAG not in c.get("metadata", {}).get("tags", [])
        ]
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                text = "".join(cell["source"])
                if "{solution}" in text:
                    cell["source"] = without_solutions(text)
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    for path in sorted(STUDENT_SOURCES.rglob("*.md")):
        text = path.read_text()
        if "{solution}" in text:
            path.write_text(without_solutions(text))
    return STUDENT_SOURCES


def build(student: bool = False) -> None:
    if not (common.STAGE / "_toc.yml").exists():
        sys.exit("[book] nothing staged: run `python3 scripts/book.py execute` first")
    stage(keep_executed=True)  # fresh config and prose; the executed notebooks stay
    missing = unexecuted(common.STAGE, common.toc_notebooks())
    if missing:
        sys.exit(
            f"[book] not executed (they would render without output): {', '.join(missing)}; "
            f"run `python3 scripts/book.py execute` (or `--only NAME`) first"
        )
    pages.write_generated(common.STAGE)
    cmd = [
        common.VENV / "bin" / "jupyter-book",
        "build",
        common.STAGE,
        "--all",
        "-W",
        "-n",
        "--keep-going",
    ]
    if student:
        import yaml

        source = student_sources()
        config = yaml.safe_load((source / "_config.yml").read_text())
        config["title"] += " (student edition)"
        config["sphinx"]["config"]["hide_solutions"] = True  # sphinx-exercise drops {solution}
        # the launch buttons open the runnable copies without solutions (bookbuild.runnable)
        config["repository"]["branch"] = STUDENT_BRANCH
        (source / "_config_student.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        shutil.rmtree(common.STUDENT, ignore_errors=True)
        cmd[2] = source
        cmd += ["--config", source / "_config_student.yml", "--path-output", common.STUDENT]
    run(cmd)
    html = common.STUDENT_HTML if student else common.HTML
    say(f"HTML{' (student edition)' if student else ''}: {html / 'index.html'}")
