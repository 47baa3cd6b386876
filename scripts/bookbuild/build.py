"""The build (`build [--student]`): jupyter-book build -W -n of the executed copies in the stage,
after writing the generated pages; `--student` builds the student edition, without the
solutions, into _build/student/_build/html."""

from __future__ import annotations

import shutil
import sys

from . import common, pages
from .common import run, say
from .execute import stage, unexecuted


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

        config = yaml.safe_load((common.STAGE / "_config.yml").read_text())
        config["title"] += " (student edition)"
        config["sphinx"]["config"]["hide_solutions"] = (
            True  # sphinx-exercise drops every {solution}
        )
        (common.STAGE / "_config_student.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        shutil.rmtree(common.STUDENT, ignore_errors=True)
        cmd += ["--config", common.STAGE / "_config_student.yml", "--path-output", common.STUDENT]
    run(cmd)
    html = common.STUDENT_HTML if student else common.HTML
    say(f"HTML{' (student edition)' if student else ''}: {html / 'index.html'}")
