"""The steps of `make test` that run the chapters as a reader's machine would (bookbuild.portable,
bookbuild.knobs) and the student edition's sources (bookbuild.build): their pure parts, on tiny
hand-made inputs. The steps themselves execute chapters and run in `make test`."""

import json
import re
import urllib.request

from bookbuild import build, knobs, portable
from bookbuild.markup import without_solutions


def test_numbers_are_read_from_glued_text():
    assert portable.numbers("418.3 ± 4.5") == [418.3, 4.5]
    assert portable.numbers("10,000 words, 2.5e-07 and -3") == [10000.0, 2.5e-07, -3.0]
    assert portable.numbers("no number") == []


def test_largest_relative_difference_between_two_executions():
    a = {
        "ppl": {"text/plain": "'418.3 ± 4.5'"},
        "n": {"text/plain": "9997"},
        "chapter_seconds": {"text/plain": "12.0"},
        "only_a": {"text/plain": "1.0"},
        "words": {"text/plain": "'a, b'"},
        "ref_agree_worst": {"text/plain": "0.0"},
        "gap": {"text/plain": "0.0"},
    }
    b = {
        "ppl": {"text/plain": "'418.4 ± 4.5'"},
        "n": {"text/plain": "9997"},
        "chapter_seconds": {"text/plain": "99.0"},
        "words": {"text/plain": "'a, 7'"},
        "ref_agree_worst": {"text/plain": "0.0003"},
        "gap": {"text/plain": "1e-9"},
    }
    worst, where, n = portable.largest_difference(a, b)
    # left out: the timer, a name glued once, a mismatched text, a glued difference, a zero
    assert where == "ppl" and n == 3
    assert abs(worst - 0.1 / 418.4) < 1e-12


def test_the_mirror_serves_each_artifact_under_its_host_and_path(tmp_path, monkeypatch):
    """A mirror tree from a tiny data folder: a GitHub file is its own data file, served at
    /<host>/<path> of its pinned URL; the wiki1m prefix is rebuilt and checked."""
    from aniso.data.sources import UPSTREAMS

    data = tmp_path / "data"
    rel = "tinyshakespeare/input.txt"
    (data / rel).parent.mkdir(parents=True)
    (data / rel).write_text("First Citizen:\n")
    monkeypatch.setattr(portable, "UPSTREAM", tmp_path / "none")
    laid = portable.mirror_tree(data, tmp_path / "site", keys=[rel])
    assert laid == [rel]
    httpd, base = portable.serve(tmp_path / "site")
    try:
        url = UPSTREAMS[rel].urls[0].replace("https://", base)
        assert urllib.request.urlopen(url).read() == b"First Citizen:\n"
    finally:
        httpd.shutdown()


def test_outputs_text_joins_streams_and_results(tmp_path):
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "outputs": [
                    {"output_type": "stream", "name": "stderr", "text": ["ClaimWarning: x\n"]},
                    {"output_type": "execute_result", "data": {"text/plain": ["CosReg γ=0.5"]}},
                ],
            },
            {"cell_type": "markdown", "source": "not an output"},
        ]
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    text = knobs.outputs_text(path)
    assert "ClaimWarning" in text and "CosReg γ=0.5" in text and "not an output" not in text


def test_the_student_sources_have_no_solution():
    text = (
        "before\n\n```{exercise}\n:label: x\nDo it.\n```\n\n"
        "````{solution} x\n:class: dropdown\n```python\nprint(1)\n```\n````\n\nafter"
    )
    out = without_solutions(text)
    assert "{solution}" not in out and "print(1)" not in out
    assert "```{exercise}" in out and "Do it." in out and out.endswith("after")
    assert build.STUDENT_BRANCH == "run-student"


def test_the_student_sources_have_no_code_tagged_solution(tmp_path, monkeypatch):
    stage = tmp_path / "stage"
    (stage / "notebooks").mkdir(parents=True)
    cells = [
        {"cell_type": "code", "metadata": {"tags": ["solution"]}, "source": "answer = 42"},
        {"cell_type": "code", "metadata": {"tags": ["remove-cell"]}, "source": "glue('a', 1)"},
    ]
    (stage / "notebooks" / "ch.ipynb").write_text(json.dumps({"cells": cells}))
    monkeypatch.setattr(build.common, "STAGE", stage)
    monkeypatch.setattr(build, "STUDENT_SOURCES", tmp_path / "student")
    out = json.loads((build.student_sources() / "notebooks" / "ch.ipynb").read_text())
    assert [c["source"] for c in out["cells"]] == ["glue('a', 1)"]


def test_the_temperature_pattern_needs_the_changed_value():
    pattern = knobs.RUNS["notebooks/04_simcse.ipynb"][1]
    row = "<tr>\n  <th>temperature</th>\n  <td>0.05</td>\n  <td>{}</td>\n</tr>"
    assert re.search(pattern, row.format("0.1"))
    assert not re.search(pattern, row.format("0.05"))
    assert not re.search(pattern, row.format("0.15"))


def test_the_report_leaves_out_wall_times():
    a = {"flow_seconds": {"text/plain": "12.0"}, "x": {"text/plain": "1.0"}}
    b = {"flow_seconds": {"text/plain": "20.0"}, "x": {"text/plain": "1.0000001"}}
    worst, where, n = portable.largest_difference(a, b)
    assert where == "x" and n == 1 and abs(worst - 1e-7) < 1e-9
