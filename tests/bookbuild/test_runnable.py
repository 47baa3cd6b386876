"""The runnable copies of the chapters (scripts/bookbuild/runnable.py and markup.py): what a reader
opens on Binder or Colab. Every glued value is written in as myst-nb renders it, every directive
and role becomes plain Markdown, the student copy has no solution, the outputs are cleared, the
kernel is the standard python3; and the workflow publishes the copies to the branches `run` and
`run-student`. The JupyterLab check (bookbuild.jupyterlab) is a command of scripts/book.py
(`lab-check`); its judgements of what it reads from the page are tested here.
"""

import json
import re
import textwrap
from pathlib import Path

import pytest
import yaml
from bookbuild import cli, common, include, jupyterlab, markup, runnable

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "application/papermill.record/"
MYST = ["{glue", "```{", ":::{", "{cite}", "{numref}", "{ref}", "{doc}", "{term}", "{eq}"]


def glued(name: str, value: str, prefix: str = PREFIX) -> dict:
    """One value glued as myst-nb records it (display=False: under the papermill mime prefix)."""
    return {
        "output_type": "display_data",
        "data": {prefix + "text/plain": value},
        "metadata": {"scrapbook": {"name": name, "mime_prefix": prefix}},
    }


VALUES = [
    glued("avg_cos", "0.8254644950719517"),
    glued("n_pairs", "19993"),
    glued("stsb", "38.19028655419584"),
    glued("tiny", "0.000123456"),
    glued("model", "'all-MiniLM-L6-v2'"),
    glued("shown", "42", prefix=""),  # display=True: no prefix
    {
        "output_type": "display_data",
        "data": {PREFIX + "image/png": "iVBORw0KGgo=", PREFIX + "text/plain": "<Figure>"},
        "metadata": {"scrapbook": {"name": "fig_hist", "mime_prefix": PREFIX}},
    },
]

CHAPTER = textwrap.dedent(
    """\
    # A tiny chapter

    ```{admonition} Learning goals
    After this chapter you can
    * count to {glue:text}`n_pairs:,`;
    * read $$x^2$$ inline.
    ```

    The average cosine is {glue:text}`avg_cos:.2f`, STS-B {glue:text}`stsb:.1f` and
    {glue:text}`stsb:.0f` rounded; tiny {glue:text}`tiny:.1e`, model {glue:text}`model`,
    shown {glue:text}`shown`, see {cite}`gao2021simcse` and {cite}`ethayarajh2019,team2025`;
    {term}`anisotropic <anisotropy>` and {term}`whitening`, `{glue:text}` in code stays.
    """
)
SECTION = textwrap.dedent(
    """\
    (my-section)=
    ## Where the cone comes from

    % a MyST comment
    As {numref}`fig-hist` shows, and {numref}`Fig. %s <fig-hist>` again, and Eq. {eq}`eq-cos`:

    $$
    \\cos(u, v) = \\frac{u^\\top v}{\\lVert u\\rVert \\lVert v\\rVert}
    $$ (eq-cos)

    See {ref}`ex-two`, {ref}`the section <my-section>`, {ref}`far-section` and
    {doc}`other`.

    :::{note}
    A colon-fenced note.
    :::

    ```{literalinclude} ../src/helpers.py
    :pyobject: scaled
    :language: python
    ```

    ```{literalinclude} ../src/helpers.py
    :pyobject: Box.size
    ```
    """
)
FIGURE = textwrap.dedent(
    """\
    ```{glue:figure} fig_hist
    :name: fig-hist

    Cosine of {glue:text}`n_pairs:,` random pairs.
    ```
    """
)
EXERCISES = textwrap.dedent(
    """\
    ## Exercises

    ```{exercise}
    :label: ex-one
    Compute {glue:text}`avg_cos:.3f` again.
    ```

    ````{solution} ex-one
    :class: dropdown
    SECRET-ANSWER-ONE: run

    ```python
    print(1)
    ```
    ````

    ```{exercise} A title
    :label: ex-two
    Explain.
    ```
    """
)
SOLUTION_ONLY = "```{solution} ex-two\n:class: dropdown\nSECRET-ANSWER-TWO {cite}`wang2020`\n```"
BIBLIOGRAPHY = "## References\n\n```{bibliography}\n:filter: docname in docnames\n```"
HELPERS = textwrap.dedent(
    '''\
    import functools


    @functools.lru_cache
    def scaled(x):
        """Twice x."""
        return 2 * x


    class Box:
        def size(self):
            return 3
    '''
)
BIB = textwrap.dedent(
    """\
    @inproceedings{gao2021simcse,
      title = {{SimCSE}: Simple Contrastive Learning of Sentence Embeddings},
      author = {Gao, Tianyu and Yao, Xingcheng and Chen, Danqi},
      booktitle = {Proceedings of EMNLP}, year = {2021}}
    @inproceedings{ethayarajh2019,
      title = {How Contextual are Contextualized Word Representations?},
      author = {Ethayarajh, Kawin}, booktitle = {Proceedings of EMNLP}, year = {2019}}
    @misc{team2025, title = {Gemma 3}, author = {{Gemma Team}}, year = {2025}}
    @inproceedings{wang2020,
      title = {Alignment and Uniformity}, author = {Wang, Tongzhou and Isola, Phillip},
      booktitle = {Proceedings of ICML}, year = {2020}}
    """
)


def cell(kind: str, source: str, tags=(), outputs=None, i=0) -> dict:
    c = {"cell_type": kind, "id": f"{kind}-{i}", "metadata": {"tags": list(tags)}, "source": source}
    if kind == "code":
        c.update(execution_count=i + 1, outputs=outputs or [])
        c["metadata"]["papermill"] = {"duration": 1.0}
    return c


@pytest.fixture
def book(tmp_path) -> Path:
    """A two-page book, its first chapter executed: glue outputs as papermill records them."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "helpers.py").write_text(HELPERS)
    (tmp_path / "refs.bib").write_text(BIB)
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: notebooks/ch\nchapters:\n  - file: notebooks/other\n"
    )
    (tmp_path / "_config.yml").write_text(
        "title: Tiny\nbibtex_bibfiles:\n  - refs.bib\n"
        "repository:\n  url: https://github.com/Some-Org/some-book\n"
    )
    cells = [
        cell("markdown", CHAPTER),
        cell("code", 'PROFILE = "quick"', ["parameters"], i=1),
        cell("code", 'PROFILE = "quick"\n', ["injected-parameters"], i=2),
        cell("code", "glue(...)", ["remove-cell"], VALUES, i=3),
        cell("code", "show_ledger()", ["remove-input"], [glued("x", "1")], i=4),
        cell("code", "plot()", ["remove-output"], [glued("y", "2")], i=5),
        cell("markdown", SECTION, i=6),
        cell("markdown", FIGURE, i=7),
        cell("markdown", EXERCISES, i=8),
        cell("markdown", SOLUTION_ONLY, i=9),
        cell("markdown", BIBLIOGRAPHY, i=10),
    ]
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "aniso", "display_name": "Python (aniso)", "language": "python"},
            "papermill": {
                "end_time": "2026-01-02T03:04:05.000000+00:00",
                "parameters": {"PROFILE": "quick"},
                "exception": None,
            },
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "notebooks" / "ch.ipynb").write_text(json.dumps(nb))
    other = {
        "cells": [cell("markdown", "# The other page\n\n(far-section)=\n### A far section\n")],
        "metadata": {"papermill": {"end_time": "2026-01-02T03:04:06", "exception": None}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "notebooks" / "other.ipynb").write_text(json.dumps(other))
    return tmp_path


def copy_of(book: Path, student: bool = False) -> dict:
    out = book / ("student" if student else "full") / "ch.ipynb"
    runnable.runnable_copy(book / "notebooks" / "ch.ipynb", out, student=student)
    return json.loads(out.read_text())


def markdown_of(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


# ----------------------------------------------------------------------------- glued values
@pytest.mark.parametrize(
    "text, spec, expected",
    [
        ("0.8254644950719517", ".2f", "0.83"),
        ("19993", ",", "19,993"),
        ("1234567.891", ",.1f", "1,234,567.9"),
        ("38.19028655419584", ".0f", "38"),
        ("0.000123456", ".1e", "1.2e-04"),
        ("0.8254644950719517", ".1%", "82.5%"),
        ("'all-MiniLM-L6-v2'", "s", "all-MiniLM-L6-v2"),
        ("1379", "s", "1379"),
        ("1379", "d", "1379"),
        ("12.0", "d", "12"),
        ("np.float64(0.5)", "s", "np.float64(0.5)"),
        ("[1, 2]", "", "[1, 2]"),
    ],
)
def test_glued_values_are_formatted_as_myst_nb_formats_them(text, spec, expected):
    assert markup.format_plain_text(text, spec) == expected
    assert markup.replicated_format(text, spec) == expected
    myst = pytest.importorskip("myst_nb.core.variables")
    assert myst.format_plain_text(text, spec) == expected  # the book's own rendering


def test_glue_values_are_read_as_myst_nb_reads_them(book):
    nb = json.loads((book / "notebooks" / "ch.ipynb").read_text())
    values = runnable.glued(nb)
    assert values["avg_cos"] == {"text/plain": "0.8254644950719517"}
    assert values["shown"] == {"text/plain": "42"}
    assert set(values["fig_hist"]) == {"image/png", "text/plain"}


def test_every_glue_role_is_written_in(book):
    text = "\n".join(markdown_of(copy_of(book)))
    for shown in (
        "count to 19,993;",
        "The average cosine is 0.83, STS-B 38.2 and\n38 rounded; tiny 1.2e-04, model "
        "all-MiniLM-L6-v2,\nshown 42,",
        "Compute 0.825 again.",
        "Cosine of 19,993 random pairs.",
    ):
        assert shown in text
    assert "`{glue:text}` in code stays" in text  # a code span is not a role


# ----------------------------------------------------------------------------- directives, roles
def test_directives_and_roles_become_plain_markdown(book):
    cells = markdown_of(copy_of(book))
    first, section, figure, exercises, solution, references = cells[1:]
    assert first.startswith("# A tiny chapter\n\n> **Learning goals**\n>\n> After this chapter")
    assert "> * read $$x^2$$ inline." in first
    assert "see (Gao et al. 2021) and (Ethayarajh 2019; Gemma Team 2025);" in first
    assert "anisotropic and whitening" in first
    assert "(my-section)=" not in section and "MyST comment" not in section
    assert section.startswith("## Where the cone comes from")
    assert "As Figure 1 shows, and Fig. 1 again, and Eq. (1):" in section
    assert "\\lVert v\\rVert} \\tag{1} $$" in section
    assert "See Exercise 2, the section, " in section
    assert (
        "[A far section](https://some-org.github.io/some-book/notebooks/other.html#far-section)"
        in section
    )
    assert "[The other page](https://some-org.github.io/some-book/notebooks/other.html)" in section
    assert "> **Note**\n>\n> A colon-fenced note." in section
    assert '```python\n@functools.lru_cache\ndef scaled(x):\n    """Twice x."""\n' in section
    assert "    def size(self):\n        return 3\n```" in section
    assert figure == "*Figure 1.* Cosine of 19,993 random pairs."
    assert "**Exercise 1**\n\nCompute 0.825 again." in exercises
    assert "**Exercise 2** (A title)\n\nExplain." in exercises
    assert "<details>\n<summary>Solution</summary>\n\nSECRET-ANSWER-ONE: run\n\n```python" in (
        exercises
    )
    assert exercises.endswith("Explain.")
    assert "SECRET-ANSWER-TWO (Wang and Isola 2020)\n\n</details>" in solution
    assert references.startswith("## References\n\n- **Ethayarajh 2019.** Kawin Ethayarajh\\.")
    assert [line.split(".**")[0] for line in references.splitlines()[2:]] == [
        "- **Ethayarajh 2019",
        "- **Gao et al. 2021",
        "- **Gemma Team 2025",
        "- **Wang and Isola 2020",
    ]


def test_no_myst_markup_is_left(book):
    for student in (False, True):
        for text in markdown_of(copy_of(book, student)):
            assert markup.leftover(text) == []
            assert not [m for m in MYST if m in text.replace("`{glue:text}` in code", "")]


def test_student_copy_has_no_solution_and_full_copy_folds_them(book):
    full, student = copy_of(book), copy_of(book, student=True)
    full_text, student_text = json.dumps(full), json.dumps(student)
    assert full_text.count("<summary>Solution</summary>") == 2
    assert "SECRET-ANSWER-ONE" in full_text and "SECRET-ANSWER-TWO" in full_text
    assert "SECRET-ANSWER" not in student_text and "<details>" not in student_text
    assert "**Exercise 1**" in student_text and "**Exercise 2** (A title)" in student_text
    assert len(markdown_of(student)) == len(markdown_of(full)) - 1  # the solution-only cell
    assert "without the solutions" in markdown_of(student)[0]
    assert full["metadata"]["aniso"]["copy"] == "full"
    assert student["metadata"]["aniso"]["copy"] == "student"


def test_code_tagged_solution_is_in_the_full_copy_only(book):
    """A code cell that computes an exercise's answer (tag ``solution``) is left out of the
    student copy and of the student edition's sources, like the {solution} it backs."""
    path = book / "notebooks" / "ch.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"].insert(9, cell("code", "answer = 42  # SECRET-CODE", ["solution"], i=11))
    path.write_text(json.dumps(nb))
    assert "SECRET-CODE" in json.dumps(copy_of(book))
    assert "SECRET-CODE" not in json.dumps(copy_of(book, student=True))


def test_unknown_markup_fails_loudly(book):
    ctx = markup.Context(
        doc="notebooks/ch",
        folder=book / "notebooks",
        glue=lambda doc, key: {"text/plain": "1"},
        labels={},
        titles={},
        base_url="",
        cite=lambda keys, role: "",
        bibliography=lambda keys: "",
    )
    with pytest.raises(markup.MarkupError, match=r"role \{sorcery\}"):
        markup.convert("An {sorcery}`spell`.", ctx)
    with pytest.raises(markup.MarkupError, match=r"directive \{tab-set\}"):
        markup.convert("```{tab-set}\nbody\n```", ctx)


def test_pyobject_is_what_sphinx_literalinclude_takes():
    from sphinx.pycode import ModuleAnalyzer

    seen = 0
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        text = "\n".join(runnable.markdown_cells(nb))
        for path, name in re.findall(r"\{literalinclude\} (\S+)\n:pyobject: (\S+)", text):
            source = (nb.parent / path).resolve()
            start, end = include.pyobject_lines(source.read_text(), name, source)
            tags = ModuleAnalyzer.for_file(str(source), "").find_tags()
            assert (start + 1, end) == tags[name][1:], f"{nb.name}: {name}"
            seen += 1
    assert seen > 0


# ----------------------------------------------------------------------------- the notebook
def test_outputs_cleared_code_kept_kernel_python3_and_a_dated_note(book):
    nb = copy_of(book)
    assert nb["metadata"]["kernelspec"] == {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    assert "papermill" not in nb["metadata"]
    assert nb["metadata"]["aniso"]["figures"] == 1 and nb["metadata"]["aniso"]["exercises"] == 2
    note = "".join(nb["cells"][0]["source"])
    assert "runnable copy" in note and "2026-01-02" in note and "profile `quick`" in note
    assert "https://some-org.github.io/some-book/notebooks/ch.html" in note
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert ["".join(c["source"]) for c in code] == [
        'PROFILE = "quick"',
        "glue(...)",
        "show_ledger()",
        "plot()",
    ]  # papermill's injected parameters dropped, the bookkeeping kept
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert all("papermill" not in c["metadata"] for c in code)
    hidden = [c["metadata"].get("jupyter", {}).get("source_hidden", False) for c in code]
    assert hidden == [False, True, True, False]  # remove-output: its figure is for the reader
    assert len({c["id"] for c in nb["cells"]}) == len(nb["cells"])


def test_base_url_follows_the_config():
    assert runnable.base_url(
        {"repository": {"url": "https://github.com/aniso-book/aniso-book"}}
    ) == ("https://aniso-book.github.io/aniso-book/")
    assert runnable.base_url({"html": {"baseurl": "https://example.org/book"}}) == (
        "https://example.org/book/"
    )
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    slug = config["repository"]["url"].split("github.com/")[1]
    owner, name = slug.split("/")
    assert runnable.base_url(config) == f"https://{owner.lower()}.github.io/{name}/"


def test_every_role_and_directive_of_the_chapters_is_covered():
    """The markup the chapters use (markdown cells only) is the markup the conversion knows."""
    roles, directives = set(), set()
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for text in runnable.markdown_cells(nb):
            roles |= set(re.findall(r"\{([A-Za-z][\w:+.-]*)\}`", text))
            directives |= set(re.findall(r"^[ \t]*(?:`{3,}|:{3,})\{([^}\s]+)\}", text, re.M))
    known_roles = {"glue:text", "cite", "term", "ref", "numref", "doc", "eq"}
    assert roles <= known_roles, roles - known_roles
    known = {"admonition", "exercise", "solution", "glue:figure", "literalinclude", "bibliography"}
    assert directives <= known, directives - known


@pytest.mark.slow
def test_every_executed_chapter_converts_without_markup_left(tmp_path):
    """Every chapter executed in _build/stage: full and student copies, no MyST left."""
    done = [
        nb
        for nb in common.toc_notebooks()
        if not __import__("bookbuild.execute").execute.unexecuted(common.STAGE, [nb])
    ]
    if not done:
        pytest.skip(f"no chapter executed in {common.STAGE} (python3 scripts/book.py execute)")
    for nb in done:
        source = "\n".join(runnable.markdown_cells(common.ROOT / nb))
        solutions = len(re.findall(r"^`{3,}\{solution\}", source, re.M))
        for student in (False, True):
            out = tmp_path / ("student" if student else "full") / nb
            summary = runnable.runnable_copy(common.STAGE / nb, out, student=student)
            copy = json.loads(out.read_text())
            texts = markdown_of(copy)
            problems = [p for t in texts for p in markup.leftover(t)]
            problems += [f"{m} in a markdown cell" for t in texts for m in MYST if m in t]
            assert problems == [], f"{nb} ({'student' if student else 'full'}): {problems}"
            folded = sum(t.count("<summary>Solution</summary>") for t in texts)
            assert folded == (0 if student else solutions), nb
            assert summary["exercises"] == len(re.findall(r"^`{3,}\{exercise\}", source, re.M))
            assert copy["metadata"]["kernelspec"]["name"] == "python3"
            assert all(c.get("outputs", []) == [] for c in copy["cells"])


# ----------------------------------------------------------------------------- the commands
def test_runnable_command_writes_both_copies_of_every_chapter(book, monkeypatch, capsys):
    monkeypatch.setattr(common, "BUILD", book / "_build")
    runnable.write_runnable(book)
    for folder in runnable.BRANCHES.values():
        written = sorted(p.name for p in (book / "_build" / folder / "notebooks").iterdir())
        assert written == ["ch.ipynb", "other.ipynb"]
    student = (book / "_build" / "runnable-student" / "notebooks" / "ch.ipynb").read_text()
    assert "SECRET-ANSWER" not in student
    out = capsys.readouterr().out
    assert "full runnable copies of 2 chapters" in out and "student runnable copies" in out
    (book / "notebooks" / "other.ipynb").write_text(json.dumps({"cells": [], "metadata": {}}))
    with pytest.raises(SystemExit, match="not executed: notebooks/other.ipynb"):
        runnable.write_runnable(book)


def test_commands_are_on_the_entry_point():
    assert "runnable" in cli.COMMANDS and "lab-check" in cli.COMMANDS


def test_lab_check_judges_rendered_text_and_figures():
    clean = [{"text": "Averaged GloVe reaches 38.2 (Devlin et al. 2019).", "leftover": []}]
    assert jupyterlab.markup_problems(clean) == []
    raw = [
        {"text": "reaches {glue:text}n_stsb on STS-B", "leftover": []},
        {"text": "As {numref}fig-x shows\n(my-label)=\n", "leftover": ["language-{exercise}"]},
        {"text": "untypeset $$x$$", "leftover": []},
    ]
    problems = "\n".join(jupyterlab.markup_problems(raw))
    assert "markdown cell 1: raw MyST markup '{glue:text}'" in problems
    assert "markdown cell 2: raw MyST markup '{numref}'" in problems and "(my-label)=" in problems
    assert "a directive shown as code (language-{exercise})" in problems
    assert "markdown cell 3: display math left untypeset" in problems
    image = [True, 640, "data:image/png;base64,iVBO", 12, False]
    assert jupyterlab.figure_problems([image], 1) == []
    assert "no image in any output" in jupyterlab.figure_problems([], 2)[0]
    assert jupyterlab.figure_problems([image], 3) == [
        "1 images in the outputs, but the chapter has 3 figures (each figure must be displayed "
        "by the cell that makes it)"
    ]
    broken = jupyterlab.figure_problems([[True, 0, "data:", 7, False]], 1)
    assert broken == ["cell 7: image not loaded: data:..."]
    twice = jupyterlab.figure_problems([image, image[:4] + [True]], 2)
    assert twice and twice[0].startswith("cell 12: shows the same image twice")


def test_lab_check_keeps_jupyterlab_offline_and_on_loopback():
    options = " ".join(jupyterlab.LAB_OPTIONS)
    for needed in (
        "--ServerApp.ip=127.0.0.1",
        "--LabApp.news_url=None",
        "NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        "--LabApp.expose_app_in_browser=True",
        "--no-browser",
    ):
        assert needed in options
    notification = jupyterlab.SETTINGS["@jupyterlab/apputils-extension/notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}
    schemas = common.VENV / "share" / "jupyter" / "lab" / "schemas"
    if schemas.exists():  # the settings name real plugins and properties of this JupyterLab
        for plugin, values in jupyterlab.SETTINGS.items():
            schema = json.loads((schemas / f"{plugin}.json").read_text())
            assert set(values) <= set(schema["properties"]), plugin


def test_workflow_publishes_the_runnable_copies_to_their_branches():
    spec = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    assert spec["permissions"] == {"contents": "read"}  # write only where it is needed
    build = [s.get("run", s.get("uses", "")) for s in spec["jobs"]["build"]["steps"]]
    assert any("scripts/book.py runnable" in s for s in build)
    job = spec["jobs"]["publish-runnable"]
    assert job["permissions"] == {"contents": "write"}
    assert "refs/heads/main" in job["if"] and "pull_request" in job["if"]
    script = "\n".join(s.get("run", "") for s in job["steps"])
    for branch, folder in runnable.BRANCHES.items():
        assert f"{branch}:{folder}" in script
    assert "git push --force" in script
