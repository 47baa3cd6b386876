"""Checks of the book's configuration: environment files, _config.yml, _toc.yml,
notebooks committed clean with a `parameters` cell, citations, MathJax, and the
HTML checker of scripts/bookbuild; and the bars of issue 13 (glue out of sight, small
modules, the "What reproduces" page). Fast: nothing is executed or built here."""

import json
import posixpath
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


from bookbuild import checks, common  # noqa: E402

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
SPHINX = CONFIG["sphinx"]["config"]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def requirements() -> dict:
    """Package name (lower case) -> version specifier, from requirements.txt."""
    reqs = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, spec = re.match(r"([A-Za-z0-9_.\-\[\]]+)\s*(.*)", line).groups()
            reqs[name.lower().replace("_", "-")] = spec
    return reqs


# ----------------------------------------------------------------------------- environment
def test_environment_yml_installs_exactly_requirements_txt():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda and "pip" in conda
    pip = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert pip == [["-r requirements.txt", "-e ."]], (
        "environment.yml must defer to requirements.txt"
    )


def test_torch_pinned_beside_transformers():
    reqs = requirements()
    assert reqs["torch"] == "==2.13.0"
    for name in ("transformers", "sentence-transformers"):
        assert reqs.get(name, "").startswith("=="), f"{name} must be pinned in requirements.txt"
    assert reqs["jupyter-book"] == "==1.0.4.post1"
    for name in ("papermill", "ipykernel", "sphinxcontrib-bibtex", "sphinx-exercise", "pytest"):
        assert name in reqs, f"{name} missing from requirements.txt"


def test_package_json_pins_mathjax3_and_lock_agrees():
    package = json.loads((ROOT / "package.json").read_text())
    pin = package["dependencies"]["mathjax"]
    assert re.fullmatch(r"3\.\d+\.\d+", pin), (
        f"MathJax must be pinned to an exact 3.x version, got {pin}"
    )
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
    assert lock["packages"]["node_modules/mathjax"]["version"] == pin


def test_make_targets_and_ci_script():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("book", "test", "clean"):
        assert re.search(rf"^{target}:", makefile, re.M)
    ci = ROOT / ".ci" / "run"
    assert ci.stat().st_mode & 0o111, ".ci/run must be executable"
    assert "set -euo pipefail" in ci.read_text() and "make test" in ci.read_text()


# ----------------------------------------------------------------------------- book config
def test_config_executes_nothing_and_cites_from_references_bib():
    assert CONFIG["execute"]["execute_notebooks"] == "off"
    assert CONFIG["bibtex_bibfiles"] == ["book/references.bib"]
    assert (ROOT / "book" / "references.bib").is_file()
    assert "{bibliography}" in (ROOT / "book" / "references.md").read_text()


def test_config_loads_nothing_from_a_cdn():
    path = SPHINX["mathjax_path"]
    assert "//" not in path, "mathjax_path must be local"
    # Sphinx prefixes a relative mathjax_path with _static/ and links it relative to each page.
    assert posixpath.normpath(posixpath.join("_static", path)) == common.MATHJAX_SCRIPT
    assert SPHINX["html_extra_path"] == [common.MATHJAX_EXTRA.name]
    assert CONFIG["launch_buttons"]["thebe"] is False
    assert "sphinx_thebe" not in SPHINX["extensions"], (
        "sphinx_thebe writes an unpkg URL into every page"
    )
    assert "sphinx_exercise" in SPHINX["extensions"]
    assert SPHINX.get("nb_ipywidgets_js") == {}, "myst-nb would load the widget manager from a CDN"


# ----------------------------------------------------------------------------- toc and notebooks
def toc_files() -> list:
    return common.toc_files(ROOT / "_toc.yml")


def test_every_toc_entry_exists():
    for entry in toc_files():
        assert (ROOT / f"{entry}.md").is_file() or (ROOT / f"{entry}.ipynb").is_file(), entry


def test_every_notebook_is_in_the_toc():
    listed = set(toc_files())
    missing = [nb.name for nb in NOTEBOOKS if f"notebooks/{nb.stem}" not in listed]
    assert not missing, f"notebooks not in _toc.yml (never executed nor rendered): {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_parameters_cell_and_no_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code, "a chapter without code"
    first = code[0]
    assert "parameters" in first.get("metadata", {}).get("tags", []), (
        "first code cell must be tagged `parameters`"
    )
    assert re.search(r"^PROFILE\s*=", "".join(first["source"]), re.M), (
        "the parameters cell must define PROFILE"
    )
    dirty = [
        i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count") is not None
    ]
    assert not dirty, (
        f"committed outputs in code cells {dirty}: clear them (the book executes the notebooks)"
    )


def test_every_cited_key_is_in_references_bib():
    bib = (ROOT / "book" / "references.bib").read_text()
    keys = re.findall(r"^@\w+\s*\{\s*([^,\s]+)\s*,", bib, re.M)
    assert len(keys) == len(set(keys)), "duplicate keys in references.bib"
    sources = NOTEBOOKS + sorted((ROOT / "book").glob("*.md"))
    cited = {}
    for src in sources:
        text = src.read_text()
        if src.suffix == ".ipynb":
            text = "\n".join(
                "".join(c["source"])
                for c in json.loads(text)["cells"]
                if c["cell_type"] == "markdown"
            )
        for group in re.findall(r"\{cite(?::[a-z]+)?\}`([^`]+)`", text):
            for key in group.split(","):
                cited.setdefault(key.strip(), src.name)
    unknown = {k: v for k, v in cited.items() if k not in keys}
    assert not unknown, f"cited but not in book/references.bib: {unknown}"


# ----------------------------------------------------------------------------- the HTML checker
GOOD = """<html><head>
<link rel="stylesheet" href="../_static/theme.css">
<script defer src="../_static/../mathjax/tex-chtml.js?v=1a2b"></script>
</head><body><span class="math notranslate">\\(x^2\\)</span>
<img src="../_images/fig.png" alt=""><a href="https://arxiv.org/abs/2104.08821">a paper</a>
</body></html>"""

BAD = """<html><head>
<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>
<script src="https://example.com/tracker.js"></script>
<link rel="stylesheet" href="//fonts.googleapis.com/css?family=Lato">
<style>@import "https://example.com/more.css";</style>
</head><body><div class="math">\\[x\\]</div><img src="../_images/missing.png">
<iframe src="https://www.youtube.com/embed/xyz"></iframe></body></html>"""


@pytest.fixture
def html_root(tmp_path):
    for rel, text in {
        "mathjax/tex-chtml.js": "",
        "_static/theme.css": "body {color: black}",
        "_images/fig.png": "",
        "book/intro.html": GOOD,
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_html_checker_passes_a_good_build(html_root):
    assert checks.check_html(html_root, ["book/intro"]) == []


def test_html_checker_flags_a_bad_page(html_root):
    (html_root / "notebooks").mkdir()
    (html_root / "notebooks" / "bad.html").write_text(BAD)
    (html_root / "_static" / "fonts.css").write_text(
        "@font-face {src: url('https://fonts.gstatic.com/x.woff2')}"
    )
    problems = "\n".join(
        checks.check_html(html_root, ["book/intro", "notebooks/bad", "notebooks/absent"])
    )
    assert "CDN MathJax" in problems
    assert "example.com/tracker.js" in problems
    assert "fonts.googleapis.com" in problems
    assert "inline CSS" in problems
    assert "youtube.com" in problems
    assert "missing file: <img> ../_images/missing.png" in problems
    assert (
        "notebooks/bad.html: shows math but does not load the local mathjax/tex-chtml.js"
        in problems
    )
    assert "_static/fonts.css: remote URL in CSS" in problems
    assert "notebooks/absent: no notebooks/absent.html" in problems
    assert "arxiv.org" not in problems and "book/intro.html" not in problems


def test_html_checker_flags_math_without_mathjax(html_root):
    page = html_root / "book" / "intro.html"
    page.write_text(
        GOOD.replace("../_static/../mathjax/tex-chtml.js", "../_static/mathjax/tex-chtml.js")
    )
    problems = checks.check_html(html_root, ["book/intro"])
    assert any("missing file: <script>" in p for p in problems)
    assert any("does not load the local mathjax" in p for p in problems)


# ----------------------------------------------------------------------------- issue 13's bars
HIDDEN_INPUT = {"remove-cell", "remove-input", "hide-input"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_visible_code_cell_does_bookkeeping(path):
    """Bookkeeping out of sight (issue 25): glue, glue_many, claim and ledger_row live in a
    section's hidden check cell, never in a cell whose code the page shows."""
    found = checks.visible_bookkeeping(json.loads(path.read_text()))
    assert not found, "move these calls into the section's remove-cell cell: " + "; ".join(found)


def test_visible_bookkeeping_finds_every_call_and_ignores_hidden_cells():
    def cell(src, *tags):
        return {"cell_type": "code", "source": src, "metadata": {"tags": list(tags)}}

    nb = {
        "cells": [
            cell('glue_many("x_", {"a": 1})\nclaim("a", True)'),
            cell('ledger_row("c", "w", "p", "o", +1)', "remove-cell"),
            cell("fig = plot(x)  # glue('fig', fig) later", "hide-input"),
            cell("ex_claim(1); reclaim(2)"),
            {"cell_type": "markdown", "source": "glue(", "metadata": {}},
        ]
    }
    assert checks.visible_bookkeeping(nb) == ["cell 0: claim, glue_many"]


def test_code_lines_counts_non_blank_lines_and_only_removed_cells_as_hidden():
    def cell(src, *tags):
        return {"cell_type": "code", "source": src, "metadata": {"tags": list(tags)}}

    nb = {
        "cells": [
            cell("a = 1\n\nb = 2\n"),  # 2 lines
            cell("glue('a', a)", "remove-cell"),  # 1 hidden
            cell("show()", "remove-input"),  # 1 hidden
            cell("plt.plot(a)\nplt.show()", "remove-output", "hide-input"),  # 2, folded: shown
            {"cell_type": "markdown", "source": "text\nmore", "metadata": {}},
        ]
    }
    assert checks.code_lines(nb) == (2, 6)


# Chapters still over the bar, with the share measured when this list was last written: the
# test fails (strict xfail) as soon as one of them meets the bar, so that it leaves the list.
OVER_THE_BAR = {
    "00_the_problem.ipynb": "56 of 156 lines hidden (36%)",
    "01_representation_degeneration.ipynb": "206 of 552 (37%)",
    "02_spectrum_control.ipynb": "205 of 441 (46%)",
    "04_simcse.ipynb": "176 of 433 (41%)",
    "05_alignment_uniformity.ipynb": "146 of 307 (48%)",
    "06_reproducing_the_numbers.ipynb": "380 of 818 (46%)",
    "07_conclusion.ipynb": "148 of 428 (35%)",
    "A_stand_in_bert.ipynb": "90 of 273 (33%)",
}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            p,
            marks=pytest.mark.xfail(strict=True, reason=f"issue 25: {OVER_THE_BAR[p.name]}"),
        )
        if p.name in OVER_THE_BAR
        else p
        for p in NOTEBOOKS
    ],
    ids=lambda p: p.name,
)
def test_at_most_30_percent_of_a_chapters_code_is_hidden(path):
    """The teaching code stands in front (issue 25): at most 30% of a chapter's non-blank code
    lines are in cells the page removes; analyses the prose relies on are visible, figure code
    is folded, and each section's checks are one hidden cell."""
    hidden, total = checks.code_lines(json.loads(path.read_text()))
    assert hidden <= checks.HIDDEN_SHARE_MAX * total, f"{hidden}/{total} = {hidden / total:.0%}"


GLUE_CALL = re.compile(r"\bglue\(\s*(?:f?\"[^\"]*\"|'[^']*')\s*,\s*(.*)")


def verdict_glues(source: str) -> list[str]:
    """The glue calls of a cell whose value is a string the code chooses or composes (a verdict):
    a string literal or f-string as the value, or a conditional expression with a string in it."""
    found = []
    for line in source.splitlines():
        match = GLUE_CALL.search(line)
        if not match:
            continue
        value = match.group(1)
        # a string literal or f-string as the value; a separator joining names (", ".join) is data
        literal = re.match(r"\s*(f|rf|fr)?(\"[^\"]*\"|'[^']*')(?!\.join)", value)
        conditional = " if " in value and re.search(r"[\"']", value)
        if literal or conditional:
            found.append(line.strip()[:80])
    return found


def test_verdict_glue_detector():
    assert verdict_glues('glue("verb", "rises" if a > b else "falls")')
    assert verdict_glues('glue("story", f"{x:.1f} points better")')
    assert not verdict_glues('glue("stsb", res["stsb"]["all"])')
    assert not verdict_glues('glue("n", len(xs))')
    assert not verdict_glues('glue("tasks", ", ".join(names) or "none")')


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_glue_computes_a_verdict(path):
    """Verdicts are written by an author and guarded by claim(); only numbers (and figures,
    tables) are glued."""
    bad = [
        f"cell {i}: {call}"
        for i, cell in enumerate(json.loads(path.read_text())["cells"])
        if cell["cell_type"] == "code"
        for call in verdict_glues("".join(cell["source"]))
    ]
    assert not bad, "glued verdict strings (write the sentence, guard it with claim): " + (
        "; ".join(bad)
    )


def test_what_reproduces_page_is_in_the_toc():
    assert "book/what_reproduces" in toc_files()
    assert (ROOT / "book" / "what_reproduces.md").is_file()


def test_the_readme_lists_every_chapter_of_the_toc_in_order():
    """The README's chapter table is as long as the toc: one row per notebook, in its order,
    each row's chapter name the start of that notebook's title."""
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## The chapters") :].split("\n## ", 1)[0]
    rows = [
        line.split("|")[2].strip()
        for line in table.splitlines()
        if re.match(r"^\| *[0-9A-Z] *\|", line)
    ]
    notebooks = [f for f in toc_files() if (ROOT / f"{f}.ipynb").exists()]
    assert len(rows) == len(notebooks), f"README rows {rows} for {notebooks}"
    for row, nb in zip(rows, notebooks):
        cells = json.loads((ROOT / f"{nb}.ipynb").read_text())["cells"]
        title = next(
            line[2:]
            for c in cells
            if c["cell_type"] == "markdown"
            for line in "".join(c["source"]).splitlines()
            if line.startswith("# ")
        )
        assert title.lower().startswith(row.lower()), f"README row {row!r} is not {nb}: {title!r}"


def test_every_figure_has_alt_text():
    """Issue 26: a reader who cannot see a figure gets a description (glue:figure's :alt:)."""
    missing = []
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            text = "".join(cell["source"])
            for m in re.finditer(r"```\{glue:figure\} (\S+)\n((?::[^\n]*\n)*)", text):
                if ":alt: " not in m.group(2):
                    missing.append(f"{path.name}: {m.group(1)}")
    assert not missing, missing
