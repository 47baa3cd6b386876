"""The chapters' bookkeeping (aniso.book.chapter): claims, glue_many and the ledger."""

import json

import numpy as np
import pytest

from aniso.book import chapter as book


@pytest.fixture(autouse=True)
def strict_build(monkeypatch):
    """The book's build is strict (ANISO_STRICT=1); tests of the student mode unset it."""
    monkeypatch.setenv(book.STRICT_ENV, "1")


@pytest.fixture
def chapter(monkeypatch):
    glued = {}
    monkeypatch.setattr(
        book, "glue", lambda name, value, display=False: glued.__setitem__(name, value)
    )
    book.start_chapter("quick", "0. Test", threads="one")
    return glued


def test_claim_passes_and_fails_with_the_text():
    book.claim("two is more than one", 2 > 1)
    book.claim("numpy bools count", np.float64(2.0) > 1)
    with pytest.raises(book.ClaimError, match="three is less than one"):
        book.claim("three is less than one", 3 < 1)
    with pytest.raises(TypeError, match="must be a bool"):
        book.claim("a number is not a check", 0.5)


def test_start_chapter_rejects_a_bad_profile():
    with pytest.raises(ValueError, match="expected one of quick, paper, smoke"):
        book.start_chapter("fast", "x")
    with pytest.raises(ValueError, match="thread policy"):
        book.start_chapter("quick", "x", threads="many")


def test_glue_many_prefixes_every_key(chapter):
    book.glue_many("t_", {"a": 1.5, "b": np.float32(2.0)})
    assert chapter == {"t_a": 1.5, "t_b": np.float32(2.0)}
    with pytest.raises(TypeError):
        book.glue_many("t_", [1, 2])


def test_the_rubric_gives_every_verdict():
    assert book.verdict_for(1) == "reproduced"
    assert book.verdict_for(1, "only on STS-B") == "partly"
    assert book.verdict_for(0) == book.verdict_for(0, "x") == "not at this scale"
    assert book.verdict_for(-1) == book.verdict_for(-1, "x") == "contradicted"
    assert set(book.RUBRIC) == set(book.VERDICTS)
    with pytest.raises(ValueError, match="sign"):
        book.verdict_for(2)


def test_ledger_rows_derive_their_verdict_glue_and_read_back(chapter, tmp_path):
    from aniso.util.stats import paired_seed_interval

    # the paper's direction is "a above b": differences 1.0, 1.2, 0.8 exclude 0
    effect = paired_seed_interval([2.0, 2.2, 1.8], [1.0, 1.0, 1.0])
    row = book.ledger_row("a claim", "Table 1", "76.3", "47.6", effect, partial="only one set")
    assert row.verdict == "partly" and row.note == "Partly: only one set."
    assert row.evidence == "+1.00 [+0.50, +1.50] (paired t over seeds, n = 3)"
    flat = paired_seed_interval([1.0, 2.0, 3.0], [2.5, 2.5, 2.6])
    assert book.ledger_row("flat", "Eq. 3", "1", "2", flat).verdict == "not at this scale"
    assert book.ledger_row("exact", "Eq. 4", "1", "1", +1).verdict == "reproduced"
    assert book.ledger_row("linked", "Eq. 4", "1", "1", +1, section="sec-x").section == "sec-x"
    # "as well as": the differences -0.5, -0.5, -0.4 give -0.47 [-0.61, -0.32]
    par = paired_seed_interval([1.0, 2.0, 3.1], [1.5, 2.5, 3.5])
    assert book.ledger_row("par", "Sec. 5", "on par", "x", par, margin=1).verdict == "reproduced"
    row = book.ledger_row("near", "Sec. 5", "on par", "x", par, margin=0.5)
    assert row.verdict == "not at this scale" and row.evidence.endswith("as good within 0.5")
    row = book.ledger_row("far", "Sec. 5", "on par", "x", par, margin=0.1, experiment="x")
    assert row.verdict == "contradicted"
    with pytest.raises(TypeError, match="margin"):
        book.ledger_row("x", "y", "1", "2", +1, margin=1)
    with pytest.raises(TypeError, match="Interval"):
        book.ledger_row("x", "y", "1", "2", True)  # a bool is not a sign: say which way
    with pytest.raises(TypeError, match="Interval"):
        book.ledger_row("x", "y", "1", "2", 0.5)
    table = book.show_ledger().data
    assert list(table.columns) == [
        "claim",
        "in the paper",
        "paper's number",
        "ours",
        "our effect [95% interval]",
        "verdict",
    ]
    assert table.iloc[0, [0, 1, 2, 3, 5]].tolist() == [
        "a claim",
        "Table 1",
        "76.3",
        "47.6",
        "partly",
    ]
    # read_ledger parses what myst-nb stores for a glued string: its repr as text/plain
    stored = chapter[book.LEDGER_GLUE]
    prefix = "application/papermill.record/"  # what myst-nb writes for glue(..., display=False)
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "outputs": [
                    {
                        "data": {prefix + "text/plain": repr(stored)},
                        "metadata": {
                            "scrapbook": {"name": book.LEDGER_GLUE, "mime_prefix": prefix}
                        },
                    }
                ],
            }
        ]
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    rows = book.read_ledger(path)
    assert rows[0] == {
        "chapter": "0. Test",
        "claim": "a claim",
        "where": "Table 1",
        "paper": "76.3",
        "ours": "47.6",
        "verdict": "partly",
        "note": "Partly: only one set.",
        "experiment": "",
        "evidence": "+1.00 [+0.50, +1.50] (paired t over seeds, n = 3)",
        "section": "",
    }
    assert [r["verdict"] for r in rows][:3] == ["partly", "not at this scale", "reproduced"]


def test_a_contradicted_row_names_its_experiment(chapter):
    with pytest.raises(book.ClaimError, match="name the experiment"):
        book.ledger_row("rare words are far apart", "Obs. 2", "far", "near", -1)
    row = book.ledger_row("rare words are far apart", "Obs. 2", "far", "near", -1, experiment="x")
    assert row.experiment == "x"


def test_a_smoke_run_prints_unsupported_claims(monkeypatch, capsys):
    from aniso.book import chapter

    monkeypatch.setattr(chapter, "_CURRENT", None)  # no chapter after the test
    assert book.start_chapter("smoke", "a smoke run").name == "smoke"
    assert "Profile 'smoke': the paper profile's code with these changes" in capsys.readouterr().out
    book.claim("three is less than one", 3 < 1)  # the smoke run's numbers are not the prose's
    assert "three is less than one" in capsys.readouterr().out
    with pytest.raises(TypeError):
        book.claim("a number is not a check", 0.5)


def test_outside_the_build_a_failed_claim_warns_and_the_chapter_goes_on(monkeypatch):
    monkeypatch.delenv(book.STRICT_ENV)
    assert not book.strict()
    with pytest.warns(book.ClaimWarning, match="three is less than one"):
        book.claim("three is less than one", 3 < 1)
    with pytest.raises(TypeError):  # a check that is not a bool is a bug in any mode
        book.claim("a number is not a check", 0.5)
    monkeypatch.setenv(book.STRICT_ENV, "0")
    assert not book.strict()


def test_bookkeeping_cells_run_and_their_errors_become_warnings(monkeypatch):
    ns = {"claim": book.claim, "GAMMAS": [0.5, 2.0]}
    assert book.run_bookkeeping("x = 2\nx * 21", ns) == 42 and ns["x"] == 2
    assert book.run_bookkeeping("y = 3", ns) is None and ns["y"] == 3
    # the book's γ = 0.1 is not among the student's values: a KeyError, reported, not raised
    with pytest.warns(book.BookkeepingWarning, match="KeyError: 'CosReg γ=0.1'"):
        value = book.run_bookkeeping("table = {}\ntable['CosReg γ=0.1']", ns)
    assert value is None and ns["table"] == {}


def test_only_bookkeeping_cells_are_guarded():
    teaching = ["fig, ax = plt.subplots()\n", "ax.plot([1, 2])"]
    assert book.guard_bookkeeping(teaching) == teaching
    broken = ["claim('x', True"]  # a syntax error is IPython's to report
    assert book.guard_bookkeeping(broken) == broken
    cell = ["glue('n', 3)\n", "claim('three is three', 3 == 3)\n", "n_pairs"]
    (line,) = book.guard_bookkeeping(cell)
    assert "run_bookkeeping(" in line
    ns = {"glue": lambda *a: None, "claim": book.claim, "n_pairs": 7}
    # the transformed line evaluates to what the original cell shows
    assert eval(line.strip(), ns) == 7
