"""Tests of the book's build machinery (scripts/book.py and its package scripts/bookbuild):
a failing notebook stops the build with its name, cell and traceback; glued values are compared
exactly; the student edition leaves out every solution; the network namespace of the offline
proof really has no network; the browser check catches what it should; and the pages a
course needs are in the book.

The real runs (the whole book executed and built offline, one chapter executed twice, the
student edition built, every page opened in Chromium) are steps of `make test`
(scripts/book.py test), so that nothing is executed twice; these tests prove that the
checks of those steps are not vacuous.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


from bookbuild import browser, build, checks, common, execute, fit, offline, pages  # noqa: E402

SOURCES = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "book").glob("*.md"))


def markdown(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return path.read_text()


def notebook(*sources: str) -> dict:
    cells = [
        {
            "cell_type": "code",
            "id": "parameters",
            "metadata": {"tags": ["parameters"]},
            "source": 'PROFILE = "quick"',
            "outputs": [],
            "execution_count": None,
        }
    ]
    cells += [
        {
            "cell_type": "code",
            "id": f"cell-{i}",
            "metadata": {},
            "source": s,
            "outputs": [],
            "execution_count": None,
        }
        for i, s in enumerate(sources)
    ]
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def kernel_installed() -> bool:
    return (common.VENV / "share" / "jupyter" / "kernels" / common.KERNEL / "kernel.json").exists()


# ----------------------------------------------------------------------------- a failing notebook
FAILING_CELL = "def load():\n    raise ValueError('the data set is missing')\n\nload()"


@pytest.mark.slow
@pytest.mark.skipif(
    not kernel_installed(), reason="the Jupyter kernel 'aniso' is not registered (make book)"
)
def test_failing_notebook_stops_the_build_with_name_cell_and_traceback(
    tmp_path, monkeypatch, capsys, book_in
):
    """`execute` exits 1 and prints the notebook, the failing cell's source and its traceback;
    `build` then refuses the half-executed notebook instead of rendering an empty page."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "bad_chapter.ipynb").write_text(
        json.dumps(notebook("x = 1", FAILING_CELL, "y = 2"))
    )
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: notebooks/bad_chapter\n")
    (tmp_path / "_config.yml").write_text("title: test\n")

    with pytest.raises(SystemExit) as stop:
        execute.execute("quick", None)
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert "FAILED: notebooks/bad_chapter.ipynb, cell" in err
    assert "raise ValueError('the data set is missing')" in err  # the failing cell's source
    assert "Traceback" in err or "----> " in err  # IPython's traceback, colours stripped
    assert "in load()" in err and "ValueError: the data set is missing" in err
    assert "\x1b[" not in err
    assert not common.TIMINGS.exists(), "a failed execution must not record timings"

    with pytest.raises(SystemExit) as refused:
        build.build()
    assert "not executed" in str(refused.value) and "bad_chapter" in str(refused.value)


def test_unexecuted_notebooks_are_refused(tmp_path):
    (tmp_path / "notebooks").mkdir()
    done = notebook("x = 1")
    done["metadata"]["papermill"] = {"exception": None, "end_time": "2026-01-01T00:00:00"}
    failed = notebook("x = 1")
    failed["metadata"]["papermill"] = {"exception": True, "end_time": "2026-01-01T00:00:00"}
    for name, nb in {"done": done, "failed": failed, "never": notebook("x = 1")}.items():
        (tmp_path / "notebooks" / f"{name}.ipynb").write_text(json.dumps(nb))
    names = [f"notebooks/{n}.ipynb" for n in ("done", "failed", "never", "absent")]
    assert execute.unexecuted(tmp_path, names) == names[1:]


# ----------------------------------------------------------------------------- determinism
def glued(name, value, image=None):
    data = {"application/papermill.record/text/plain": value}
    if image:
        data["application/papermill.record/image/png"] = image
    return {
        "output_type": "display_data",
        "data": data,
        "metadata": {"scrapbook": {"name": name, "mime_prefix": "application/papermill.record/"}},
    }


def test_glued_values_are_compared_exactly_and_figures_by_their_text(tmp_path):
    def write(name, outputs):
        nb = notebook("pass")
        nb["cells"][1]["outputs"] = outputs
        (tmp_path / name).write_text(json.dumps(nb))
        return execute.glued_values(tmp_path / name)

    a = write(
        "a.ipynb",
        [glued("stsb", "82.0324728307637"), glued("fig", "<Figure size 10x10>", image="AAAA")],
    )
    same = write(
        "b.ipynb",
        [glued("stsb", "82.0324728307637"), glued("fig", "<Figure size 10x10>", image="BBBB")],
    )
    other = write("c.ipynb", [glued("stsb", "82.0324728307638"), glued("extra", "1")])
    assert a == {
        "stsb": {"text/plain": "82.0324728307637"},
        "fig": {"text/plain": "<Figure size 10x10>"},
    }
    assert execute.glue_differences(a, same) == []  # pixels may differ, the figure's text does not
    problems = "\n".join(execute.glue_differences(a, other))
    assert "stsb (text/plain)" in problems and "fig: glued only in the first run" in problems
    assert "extra: glued only in the second run" in problems


# ----------------------------------------------------------------------------- student edition
PAGE = """<html><body>
<div class="exercise admonition" id="ex-a">
<p class="admonition-title"><span class="caption-number">Exercise 1 </span></p><p>Do it.</p></div>
{solution}
</body></html>"""
SOLUTION = """<div class="solution dropdown admonition" id="sol-a">
<p class="admonition-title">Solution to Exercise 1</p><p>Done.</p></div>"""


def test_student_check_wants_every_exercise_and_no_solution(tmp_path):
    full, student = tmp_path / "full", tmp_path / "student"
    for folder, solution in ((full, SOLUTION), (student, "")):
        (folder / "notebooks").mkdir(parents=True)
        (folder / "notebooks" / "ch.html").write_text(PAGE.format(solution=solution))
    assert checks.check_student(full, student) == []
    (student / "notebooks" / "ch.html").write_text(PAGE.format(solution=SOLUTION))
    assert any("shows 1 solution" in p for p in checks.check_student(full, student))
    (student / "notebooks" / "ch.html").write_text("<html><body></body></html>")
    assert any(
        "exercises ['Exercise 1 '] in the book, [] in the student edition" in p
        for p in checks.check_student(full, student)
    )
    (full / "notebooks" / "ch.html").write_text(PAGE.format(solution=""))
    assert any("no solution at all" in p for p in checks.check_student(full, student))


def test_config_lets_the_student_edition_hide_solutions():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    assert config.get("hide_solutions") is False, "the full book shows the solutions"
    assert "sphinx_exercise" in config["extensions"]
    assert re.search(r"^student:", (ROOT / "Makefile").read_text(), re.M)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_exercises_and_solutions_use_one_mechanism(path):
    """Every exercise is a sphinx-exercise {exercise} with a label and a {solution} in a dropdown:
    the mechanism that `build --student` removes. No solution hides in another kind of block."""
    text = markdown(path)
    blocks = pages.FENCE.findall(text)
    labels = [
        m.group(1)
        for _, kind, _, body in blocks
        if kind == "exercise"
        for m in [re.search(r"^:label:\s*(\S+)", body, re.M)]
        if m
    ]
    exercises = [body for _, kind, _, body in blocks if kind == "exercise"]
    assert len(labels) == len(exercises), "every {exercise} needs a :label:"
    solutions = {arg.strip(): body for _, kind, arg, body in blocks if kind == "solution"}
    assert sorted(solutions) == sorted(labels), "one {solution} per exercise, naming its label"
    assert all(re.search(r"^:class:.*\bdropdown\b", body, re.M) for body in solutions.values()), (
        "solutions are folded in a dropdown (:class: dropdown)"
    )
    others = [
        f"{kind} {arg}"
        for _, kind, arg, _ in blocks
        if kind not in ("exercise", "solution") and re.search(r"solution|answer", arg, re.I)
    ]
    assert not others, f"a solution outside the {{solution}} directive: {others}"


# ----------------------------------------------------------------------------- offline proof
NETNS_PROBE = textwrap.dedent("""
    import json, socket, sys, threading, time
    sys.path.insert(0, sys.argv[1])
    from bookbuild import offline as b
    before = b.packets_off_the_machine()
    server = socket.create_server(("127.0.0.1", 0)); port = server.getsockname()[1]
    threading.Thread(target=lambda: server.accept()[0].sendall(b"hello"), daemon=True).start()
    loopback = socket.create_connection(("127.0.0.1", port), timeout=5).recv(5).decode()
    t0 = time.perf_counter(); failures = []
    for attempt in (lambda: socket.getaddrinfo("huggingface.co", 443),
                    lambda: socket.create_connection(("198.51.100.7", 443), timeout=30)):
        try:
            attempt(); failures.append("no error")
        except OSError as err:
            failures.append(type(err).__name__)
    print(json.dumps({"loopback": loopback, "seconds": time.perf_counter() - t0,
                      "failures": failures,
                      "interfaces": sorted(n for _, n in socket.if_nameindex()),
                      "tried": b.packets_off_the_machine() - before}))
""")


def test_network_namespace_has_loopback_only_and_counts_every_attempt():
    """The namespace of the offline proof: loopback works, the network fails at once (no timeout to
    wait on), and the kernel counter that `make test` checks sees every attempt."""
    prefix, why = offline.netns_prefix()
    if prefix is None:
        if os.environ.get("ANISO_NETNS") == "require":
            pytest.fail(f"ANISO_NETNS=require but no network namespace: {why}")
        pytest.skip(why)
    out = subprocess.run(
        prefix + [sys.executable, "-c", NETNS_PROBE, str(ROOT / "scripts")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["interfaces"] == ["lo"]
    assert result["loopback"] == "hello"
    assert "no error" not in result["failures"], result
    assert result["seconds"] < 2, (
        "reaching for the network must fail at once, not wait on a timeout"
    )
    assert result["tried"] >= 2, (
        "the packet counter must see the DNS query and the connection attempt"
    )


def test_test_command_runs_offline_after_setup():
    """`make test` enters the namespace after setup (pip, npm, apt-get need the network), and CI
    makes a machine without namespaces a failure."""
    source = (ROOT / "scripts" / "bookbuild" / "cli.py").read_text()
    main = source[source.index("def main(") :]
    steps = [
        "setup()",
        "ensure_chromium()",
        "enter_netns()",
        "lint()",
        "pytest()",
        "execute(",
        "ledger.report()",
    ]
    assert [main.index(step) for step in steps] == sorted(main.index(step) for step in steps)
    assert 'ANISO_NETNS="${ANISO_NETNS:-require}"' in (ROOT / ".ci" / "run").read_text()


# ----------------------------------------------------------------------------- browser check
BAD_PAGE = (
    """<!DOCTYPE html><html><head><meta charset="utf-8"><title>ch</title>
<script>console.error("something broke")</script></head><body>
<nav class="bd-docs-nav"><a href="../book/intro.html">intro</a></nav>
<p>Raw math: \\(x^2\\) never typeset.</p>
<img src="../_images/missing.png" alt="">
<img src="../_images/wide.png" style="width: 40px; height: 40px" alt="">
<a href="missing_page.html">a dead link</a>
<a href="../book/intro.html#no-such-anchor">a dead anchor</a>
<article class="bd-article"><pre style="overflow: auto">"""
    + "x = 1 + " * 300
    + """</pre></article>
</body></html>"""
)
GOOD_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>intro</title></head><body>
<nav class="bd-docs-nav"><a href="intro.html">intro</a><a href="../notebooks/ch.html">ch</a></nav>
<h1 id="top">Intro</h1></body></html>"""


@pytest.mark.slow
@pytest.mark.skipif(browser.find_chromium() is None, reason="no Chromium (make test installs it)")
def test_browser_check_catches_a_broken_page(tmp_path, capsys):
    html = tmp_path / "_build" / "html"
    for rel, text in {
        "index.html": '<meta http-equiv="Refresh" content="0; url=book/intro.html" />',
        "book/intro.html": GOOD_PAGE,
        "notebooks/ch.html": BAD_PAGE,
    }.items():
        (html / rel).parent.mkdir(parents=True, exist_ok=True)
        (html / rel).write_text(text)
    (html / "_images").mkdir()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.imsave(html / "_images" / "wide.png", [[0.0] * 40] * 10)  # 40 x 10 px, shown 40 x 40
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: notebooks/ch\n"
    )
    rc = browser.main(
        [str(html), "--toc", str(tmp_path / "_toc.yml"), "--screenshots", str(tmp_path / "shots")]
    )
    captured = capsys.readouterr()
    problems = captured.err
    assert rc == 1
    assert "notebooks/ch: console error: something broke" in problems
    assert "notebooks/ch: raw TeX left in the text: \\(" in problems
    assert "notebooks/ch: image not loaded: ../_images/missing.png" in problems
    assert "image shown at 40x40 px, not at its aspect ratio (40x10)" in problems
    assert "notebooks/ch: the sidebar has no link to notebooks/ch" in problems
    assert "notebooks/ch: no launch button for mybinder.org" in problems
    assert "broken internal link: notebooks/missing_page.html (404)" in problems
    assert "missing anchor: book/intro.html#no-such-anchor" in problems
    assert 'notebooks/ch: pre "x = 1 + x = 1' in problems and "overflows at 1280 px" in problems
    assert "book/intro:" not in problems  # the good page passes
    assert (tmp_path / "shots" / "opening_page.png").stat().st_size > 0
    assert "3 pages checked" in captured.out


def test_an_image_is_squashed_only_beyond_rounding():
    assert browser.squashed(2334, 512, 944, 256)  # a fixed height under a shrunk width
    assert not browser.squashed(2334, 512, 944, 207)  # the height follows the width
    assert not browser.squashed(1382, 813, 691, 406)  # half size, rounded to whole pixels
    assert not browser.squashed(100, 50, 0, 0)  # not laid out: not judged


# ----------------------------------------------------------------------------- pages a course needs
def test_pages_for_readers_and_teachers_are_in_the_toc():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    part = next(p for p in toc["parts"] if p["caption"] == "For readers and teachers")
    assert [c["file"] for c in part["chapters"]] == [
        "book/how_to_run",
        "book/teaching",
        "book/notation",
    ]


def test_how_to_run_covers_local_binder_colab_profiles_and_offline():
    text = (ROOT / "book" / "how_to_run.md").read_text()
    for needed in (
        "make book",
        "make test",
        "Binder",
        "binder/",
        "torch==2.13.0+cpu",
        "Colab",
        "{literalinclude} ../binder/colab_cell.ipy",
        "`quick`",
        "`paper`",
        "ANISO_DATA_DIR",
        "GPU",
        "{include} _timings.md",
    ):
        assert needed in text, needed
    readme = (ROOT / "README.md").read_text()
    assert "make book" in readme and "make test" in readme


GLOSSARY_TERMS = [
    "anisotropy",
    "isotropy",
    "I(W)",
    "IsoScore",
    "effective rank",
    "alignment",
    "uniformity",
    "whitening",
    "normalizing flow",
]


def test_glossary_defines_the_terms_of_the_book():
    text = (ROOT / "book" / "notation.md").read_text()
    block = text[text.index("```{glossary}") :]
    terms = re.findall(r"^(\S.*)$", block.split("\n", 1)[1].rsplit("```", 1)[0], re.M)
    assert terms == sorted(terms, key=str.lower), "glossary terms in alphabetical order"
    for term in GLOSSARY_TERMS:
        assert term in terms, term
    linked = set(re.findall(r"\{term\}`(?:[^`<]*<)?([^`>]+)>?`", text))
    assert linked <= set(terms), f"links to undefined terms: {linked - set(terms)}"


def test_teaching_page_is_generated_from_the_chapters():
    text = (ROOT / "book" / "teaching.md").read_text()
    assert "{include} _chapters.md" in text and "{include} _timings.md" in text
    page = pages.chapters_page()
    for nb in common.toc_notebooks():
        assert f"#### {pages.title_of(nb)}" in page
    section = page.split("#### ")[1:]
    assert all("**Learning goals.** After this" in s for s in section), (
        "every chapter states its learning goals"
    )
    assert all("{numref}`" in s for s in section), "every chapter has exercises"
    table = pages.timings_page()
    assert (
        table.count("\n| ") == len(common.toc_notebooks()) + 1
    )  # one row per chapter, and the total


# ----------------------------------------------------------------------------- the entry point
def test_entry_point_runs_with_the_standard_library_alone():
    """`make book` on a fresh machine runs scripts/book.py with a bare python3 before .venv
    exists: the entry point and every module of bookbuild import only the standard library at
    their top level (-S: no site-packages)."""
    out = subprocess.run(
        [sys.executable, "-I", "-S", str(ROOT / "scripts" / "book.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    for command in ("setup", "execute", "build", "check-html", "browser-check", "book", "test"):
        assert command in out.stdout
    probe = (
        "import importlib, pkgutil, sys; sys.path.insert(0, sys.argv[1]); import bookbuild\n"
        "for m in pkgutil.iter_modules(bookbuild.__path__):\n"
        "    importlib.import_module('bookbuild.' + m.name)\n"
        "print(sorted({n.split('.')[0] for n in sys.modules} & {'yaml', 'papermill', "
        "'playwright', 'aniso', 'numpy'}))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, str(ROOT / "scripts")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_build_machinery_is_small_modules():
    sizes = {p.name: len(p.read_text().splitlines()) for p in (ROOT / "scripts").rglob("*.py")}
    assert sizes["book.py"] < 60, "scripts/book.py is the entry point; the work is in bookbuild"
    assert not {n: s for n, s in sizes.items() if s > 500}, sizes


# ----------------------------------------------------------------------------- the ledger page
def ledger_output(rows, prefix="application/papermill.record/"):
    """A ledger glued the way myst-nb stores it: the repr of a JSON string, under a mime prefix."""
    return {
        "output_type": "display_data",
        "data": {prefix + "text/plain": repr(json.dumps(rows))},
        "metadata": {"scrapbook": {"name": "ledger_rows", "mime_prefix": prefix}},
    }


ROWS = [
    {
        "chapter": "1. Gao et al. 2019",
        "claim": "likelihood training makes the embeddings a cone",
        "where": "Fig. 1",
        "paper": "0.4",
        "ours": "0.35",
        "verdict": "reproduced",
        "note": "",
        "evidence": "+0.30 [+0.20, +0.40] (paired t over seeds, n = 3)",
        "section": "gao-cone",
    },
    {
        "chapter": "1. Gao et al. 2019",
        "claim": "the cosine regularizer | lowers perplexity",
        "where": "Table 2",
        "paper": "-1.2",
        "ours": "+0.3",
        "verdict": "contradicted",
        "note": "a 2-layer LM,\nfive epochs",
        "experiment": "cosreg-test",
    },
]


@pytest.mark.parametrize("prefix", ["application/papermill.record/", ""])
def test_ledger_rows_are_read_from_executed_notebooks(tmp_path, prefix):
    nb = notebook("pass", "show_ledger()")
    nb["cells"][2]["outputs"] = [glued("x", "1"), ledger_output(ROWS, prefix)]
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01.ipynb").write_text(json.dumps(nb))
    (tmp_path / "notebooks" / "02.ipynb").write_text(json.dumps(notebook("pass")))
    found = pages.ledger_rows(
        tmp_path, ["notebooks/01.ipynb", "notebooks/02.ipynb", "notebooks/absent.ipynb"]
    )
    assert found == {"notebooks/01.ipynb": ROWS}


def test_ledger_page_has_one_narrow_table_per_chapter_with_a_link():
    page = pages.ledger_page(
        {
            "notebooks/01_x.ipynb": ROWS,
            "notebooks/04_y.ipynb": [dict(ROWS[0], chapter="4. SimCSE", verdict="partly")],
        }
    )
    assert "(profile `quick`): 1 reproduced, 1 partly, 0 not at this scale, 1 contradicted." in page
    assert page.index("### 1. Gao et al. 2019") < page.index("### 4. SimCSE")
    assert "The chapter: {doc}`../notebooks/01_x`." in page
    assert page.count("| claim | in the paper | paper | ours | our effect [95% interval] |") == 2
    assert "| reproduced | 1 | █ |" in page and "| not at this scale | 0 |  |" in page
    chapters = page[page.index("### ") :]  # the chapters' tables, after the summary
    table = [line for line in chapters.splitlines() if line.startswith("| ")]
    assert all(line.count(" | ") == 5 for line in table), "six columns, no stray column break"
    assert "| +0.30 [+0.20, +0.40] (paired t over seeds, n = 3) | **reproduced** |" in page
    assert "the cosine regularizer \\| lowers perplexity (1)" in page
    assert "- (1) a 2-layer LM, five epochs" in page  # the note, below its table, on one line
    assert "| **contradicted** ({ref}`the test <cosreg-test>`) |" in page
    assert "| likelihood training makes the embeddings a cone ({ref}`§ <gao-cone>`) |" in page
    assert "lowers perplexity (1) |" in page  # a row without a section has no link


def test_ledger_chapters_without_rows_fail_the_build(tmp_path, monkeypatch, capsys):
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n"
        "  - file: notebooks/01\n  - file: notebooks/02\n"
    )
    done = notebook("show_ledger()")
    done["cells"][1]["outputs"] = [ledger_output(ROWS)]
    for root in (tmp_path, tmp_path / "stage"):
        (root / "notebooks").mkdir(parents=True, exist_ok=True)
        (root / "book").mkdir(exist_ok=True)
        (root / "notebooks" / "01.ipynb").write_text(json.dumps(done))
        (root / "notebooks" / "02.ipynb").write_text(json.dumps(notebook("pass")))
    monkeypatch.setattr(common, "ROOT", tmp_path)
    monkeypatch.setattr(common, "TIMINGS", tmp_path / "timings.json")
    stage = tmp_path / "stage"
    with pytest.raises(SystemExit):
        pages.write_generated(stage, required=["notebooks/01.ipynb", "notebooks/02.ipynb"])
    err = capsys.readouterr().err
    assert "notebooks/02.ipynb: no 'What reproduces' rows" in err and "LEDGER_CHAPTERS" in err
    assert "notebooks/01.ipynb" not in err
    pages.write_generated(stage, required=["notebooks/01.ipynb"])
    assert "### 1. Gao et al. 2019" in (stage / pages.LEDGER_PAGE).read_text()
    bad = [dict(ROWS[0], verdict="almost")]
    assert "verdict 'almost'" in pages.ledger_problems({"notebooks/01.ipynb": bad}, [])[0]
    untested = [dict(ROWS[1], experiment="")]
    problems = pages.ledger_problems({"notebooks/01.ipynb": untested}, [])
    assert problems and "names no experiment" in problems[0]


def test_ledger_chapters_are_in_the_toc_and_the_page_includes_the_generated_table():
    assert [nb for nb in pages.LEDGER_CHAPTERS if nb not in common.toc_notebooks()] == []
    chapters = [Path(nb).name[:2] for nb in pages.LEDGER_CHAPTERS]
    assert chapters == ["00", "01", "02", "03", "04", "05", "06", "07"]
    text = (ROOT / "book" / "what_reproduces.md").read_text()
    assert "```{include} _ledger.md" in text
    for verdict in pages.VERDICTS:
        assert f"\n{verdict}\n: " in text, f"the page explains the verdict {verdict!r}"
    from aniso.book.chapter import VERDICTS

    assert pages.VERDICTS == VERDICTS


# ----------------------------------------------------------------------------- pages that fit
def test_overflow_is_judged_from_scroll_and_client_widths():
    measured = [
        {"kind": "pre", "what": 'pre "x = 1"', "scroll": 900, "client": 700},
        {"kind": "table", "what": "table", "scroll": 701, "client": 700},  # rounding
        {
            "kind": "scroll container of table",
            "what": "div",
            "scroll": 1500,
            "client": 700,
            "on_purpose": True,
        },  # scrolls with its first column sticky
        {"kind": "paragraph", "what": "p", "scroll": 0, "client": 0},
    ]
    problems = fit.overflow_problems("notebooks/ch", measured, 1280)
    assert problems == [
        'notebooks/ch: pre "x = 1" overflows at 1280 px (scrollWidth 900 > clientWidth 700)'
    ]


LONG = "x = " + " + ".join(f"value_{i}" for i in range(60))
WIDE_TABLE = (
    "<table><tr>"
    + "".join(f"<th>column_number_{i}</th>" for i in range(40))
    + "</tr><tr>"
    + "".join(f"<td>{i}.000000</td>" for i in range(40))
    + "</tr></table>"
)
STICKY_TABLE = (
    '<div style="overflow-x: auto"><table><tr>'
    + '<th style="position: sticky; left: 0">model</th>'
    + "".join(f"<th>column_number_{i}</th>" for i in range(40))
    + "</tr><tr>"
    + '<td style="position: sticky; left: 0">SimCSE</td>'
    + "".join(f"<td>{i}.000000</td>" for i in range(40))
    + "</tr></table></div>"
)
PADDED = "th, td { padding: 0 0.5em }"  # as the book's theme pads its tables
NUMBERS_TABLE = (
    "<table><tr><th></th><th>STS12</th><th>STS13</th></tr>"
    "<tr><th>SimCSE</th><td>55.1</td><td>61.2</td></tr></table>"
)
FIT_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<style>pre {{ overflow: auto }} article {{ max-width: 760px }} {cells}</style></head><body>
<article class="bd-article"><section id="s"><h1>A chapter</h1>
<p>Prose that wraps, as prose should, at any width of the window. {word}</p>
<div class="highlight"><pre>{code}</pre></div>
<div class="cell_output"><div class="output text_html">{table}</div></div>
</section></article></body></html>"""


@pytest.mark.skipif(
    browser.find_chromium() is None,
    reason="no Chromium: `apt-get install chromium` (make test installs it)",
)
def test_fit_check_fails_a_page_that_overflows_and_passes_one_that_fits():
    from playwright.sync_api import sync_playwright

    bad = FIT_PAGE.format(
        word="a_very_long_identifier_" * 8, code=LONG, table=WIDE_TABLE, cells=PADDED
    )
    good = FIT_PAGE.format(word="short words", code="x = 1", table=STICKY_TABLE, cells=PADDED)
    with sync_playwright() as pw:
        chromium = browser.launch(pw)
        page = chromium.new_context(viewport=fit.WIDE).new_page()
        page.set_content(bad)
        problems = fit.check_fit(page, "notebooks/bad")
        page.set_content(good)
        fine = fit.check_fit(page, "notebooks/good")
        assert page.viewport_size == fit.WIDE
        chromium.close()
    text = "\n".join(problems)
    assert 'notebooks/bad: pre in #s "x = value_0 + value_1' in text
    assert re.search(
        r'notebooks/bad: div.output.text_html \(holds a table\) in #s "column_number_0'
        r".*overflows at 1280 px",
        text,
    )
    assert 'notebooks/bad: p in #s "Prose that wraps' in text
    assert "overflows at 390 px" in text
    assert re.search(r"scrollWidth \d+ > clientWidth \d+", text)
    assert fine == [], fine


@pytest.mark.skipif(
    browser.find_chromium() is None,
    reason="no Chromium: `apt-get install chromium` (make test installs it)",
)
def test_fit_check_fails_a_table_whose_numbers_run_together():
    from playwright.sync_api import sync_playwright

    tight = "th, td { padding: 0 } table { border-spacing: 0 }"
    with sync_playwright() as pw:
        chromium = browser.launch(pw)
        page = chromium.new_context(viewport=fit.WIDE).new_page()
        page.set_content(FIT_PAGE.format(word="w", code="x", table=NUMBERS_TABLE, cells=tight))
        problems = fit.check_fit(page, "notebooks/tight")
        page.set_content(FIT_PAGE.format(word="w", code="x", table=NUMBERS_TABLE, cells=PADDED))
        fine = fit.check_fit(page, "notebooks/padded")
        chromium.close()
    assert len(problems) == 2, problems
    assert all("table cells run together" in line for line in problems)
    assert '"STS12" | "STS13"' in problems[0] and '"SimCSE" | "55.1"' in problems[1]
    assert fine == [], fine


def test_gap_problems_reports_the_close_pairs_only():
    gaps = [{"what": f'#s "a{i}" | "b{i}"', "gap": g} for i, g in enumerate([0.5, 9, 3, 2, 1])]
    lines = fit.gap_problems("p", gaps)
    assert len(lines) == 4 and "0.5 px apart" in lines[0] and "1 more pairs" in lines[-1]
    assert fit.gap_problems("p", [{"what": "x", "gap": 8.0}]) == []


def test_the_injected_parameters_cell_is_hidden_and_kept(tmp_path):
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {"tags": ["parameters"]},
                "source": "PROFILE = 'quick'",
            },
            {
                "cell_type": "code",
                "metadata": {"tags": ["injected-parameters"]},
                "source": "# Parameters\nPROFILE = 'quick'\n",
            },
            {"cell_type": "markdown", "metadata": {}, "source": "text"},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    execute.hide_injected_parameters(path)
    cells = json.loads(path.read_text())["cells"]
    assert [c["metadata"].get("tags") for c in cells] == [
        ["parameters"],
        ["injected-parameters", "remove-cell"],
        [],
    ]
    assert cells[1]["source"].startswith("# Parameters")  # kept: the record of the run
    execute.hide_injected_parameters(path)  # idempotent
    assert json.loads(path.read_text())["cells"][1]["metadata"]["tags"].count("remove-cell") == 1
