"""The chapters' bookkeeping (aniso.book): claims, glue_many and the ledger."""

import json

import numpy as np
import pytest

from aniso import book


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
    with pytest.raises(ValueError, match="expected 'quick' or 'paper'"):
        book.start_chapter("fast", "x")
    with pytest.raises(ValueError, match="thread policy"):
        book.start_chapter("quick", "x", threads="many")


def test_glue_many_prefixes_every_key(chapter):
    book.glue_many("t_", {"a": 1.5, "b": np.float32(2.0)})
    assert chapter == {"t_a": 1.5, "t_b": np.float32(2.0)}
    with pytest.raises(TypeError):
        book.glue_many("t_", [1, 2])


def test_ledger_rows_are_checked_glued_and_read_back(chapter, tmp_path):
    book.ledger_row("a claim", "Table 1", "76.3", "47.6", "partly", 47.6 < 76.3)
    with pytest.raises(book.ClaimError, match="another claim: reproduced"):
        book.ledger_row("another claim", "Eq. 3", "1", "2", "reproduced", False)
    with pytest.raises(ValueError, match="verdict"):
        book.ledger_row("x", "y", "1", "2", "almost", True)
    table = book.show_ledger().data
    assert list(table.columns) == ["claim", "in the paper", "paper's number", "ours", "verdict"]
    assert table.iloc[0].tolist() == ["a claim", "Table 1", "76.3", "47.6", "partly"]
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
    assert rows == [
        {
            "chapter": "0. Test",
            "claim": "a claim",
            "where": "Table 1",
            "paper": "76.3",
            "ours": "47.6",
            "verdict": "partly",
            "note": "",
            "experiment": "",
        }
    ]


def test_a_contradicted_row_names_its_experiment(chapter):
    with pytest.raises(ValueError, match="name the experiment"):
        book.ledger_row("rare words are far apart", "Obs. 2", "far", "near", "contradicted", True)
    row = book.ledger_row(
        "rare words are far apart", "Obs. 2", "far", "near", "contradicted", True, experiment="x"
    )
    assert row.experiment == "x"


def test_a_smoke_run_prints_unsupported_claims(monkeypatch, capsys):
    monkeypatch.setenv("ANISO_SMOKE", "1")
    book.claim("three is less than one", 3 < 1)  # the smoke run's numbers are not the prose's
    assert "three is less than one" in capsys.readouterr().out
    with pytest.raises(TypeError):
        book.claim("a number is not a check", 0.5)
