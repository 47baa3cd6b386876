"""The licensing and citation files: LICENSE (MIT, the code), LICENSE-CC-BY-4.0 (the prose,
figures and notebooks' text), CITATION.cff, and THIRD_PARTY_NOTICES.md, which must have a section
for every data folder the package checks and every model it loads."""

import hashlib
import re
from pathlib import Path

import pytest
import yaml

from aniso.encoders import gguf as real_lm
from aniso.encoders import models as encoders

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
NOTICES = ROOT / "THIRD_PARTY_NOTICES.md"
TEXT_LICENCE = ROOT / "LICENSE-CC-BY-4.0"
# sha256 of licensedcode/data/cc-by-4.0.LICENSE in the PyPI wheel licensedcode-data 32.1.0
# (ScanCode's copy of the CC BY 4.0 legal code; LICENSE-CC-BY-4.0 is that file, unchanged)
CC_BY_4_SHA256 = "9e5f1b3c610b9c2da5c313bf81d577a7d1acec686bdb0384edefa6df0f90cd94"
# keys of book/references.bib for the papers the chapters are about, cited in CITATION.cff
CHAPTER_PAPERS = (
    "gao2019representation",
    "wang2020spectrum",
    "li2020bertflow",
    "gao2021simcse",
    "wang2020alignment",
)
SECTION_FIELDS = ("**Source:**", "**Terms", "**In the book:**")


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def project_licence() -> str:
    """pyproject's licence: ``license = {text = "MIT"}`` or an SPDX expression string."""
    licence = pyproject()["project"]["license"]
    return licence["text"] if isinstance(licence, dict) else licence


def citation() -> dict:
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert isinstance(cff, dict), "CITATION.cff is not a YAML mapping"
    return cff


def bib_entries() -> dict[str, dict[str, str]]:
    """{key: {field: value}} of book/references.bib (one field per line, as the file is kept)."""
    text = (ROOT / "book" / "references.bib").read_text()
    entries = {}
    for key, body in re.findall(r"^@\w+\{([^,\s]+),\n(.*?)^\}", text, flags=re.M | re.S):
        fields = re.findall(r"^\s*(\w+)\s*=\s*\{(.*)\},?\s*$", body, flags=re.M)
        entries[key] = {name.lower(): value for name, value in fields}
    return entries


def plain(tex: str) -> str:
    """A BibTeX value without braces and with single spaces."""
    return " ".join(tex.replace("{", "").replace("}", "").split())


def sections() -> dict[str, str]:
    """{heading: body} of the ``###`` sections of THIRD_PARTY_NOTICES.md."""
    parts = re.split(r"^### (.+)$", NOTICES.read_text(), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def names_in(heading: str) -> set[str]:
    """The code-formatted names of a heading, lower case, without a trailing slash."""
    return {name.lower().rstrip("/") for name in re.findall(r"`([^`]+)`", heading)}


def section_for(names: set[str]) -> str:
    """The body of the one section whose heading names any of ``names``."""
    found = [body for head, body in sections().items() if names_in(head) & names]
    assert len(found) == 1, (
        f"THIRD_PARTY_NOTICES.md has {len(found)} sections titled with any of {sorted(names)}; "
        "expected exactly one (a `### Name — `name`` heading)"
    )
    return found[0]


def data_folders() -> list[str]:
    """The top-level folders of the data directory named in src/aniso/data_sha256.txt."""
    lines = (ROOT / "src" / "aniso" / "data_sha256.txt").read_text().splitlines()
    paths = [line.split(maxsplit=1)[1].strip() for line in lines if line.strip()]
    return sorted({p.removeprefix("./").split("/")[0] for p in paths})


def models() -> dict[str, set[str]]:
    """Every model the package loads -> the names its notices section may be titled with:
    the short names of the encoders (grouped by kind), the hub names, and the real LMs."""
    out: dict[str, set[str]] = {}
    for name, kind in encoders.SHORT_NAMES.items():
        out.setdefault(kind, {kind}).add(name.lower())
    for name in list(encoders.HUB_NAMES) + list(real_lm.REAL_MODELS):
        out.setdefault(name, set()).add(name.lower())
    return out


def test_code_licence_is_mit_for_the_book_authors():
    text = (ROOT / "LICENSE").read_text()
    assert text.splitlines()[0] == "MIT License"
    assert "Copyright (c) 2026 The aniso-book authors" in text
    assert "Permission is hereby granted, free of charge, to any person obtaining a copy" in text
    assert "The above copyright notice and this permission notice shall be included" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text
    assert project_licence() == "MIT"


def test_text_licence_is_the_cc_by_4_legal_code_unchanged():
    data = TEXT_LICENCE.read_bytes()
    text = data.decode("utf-8")
    assert text.startswith("Attribution 4.0 International\n")
    assert "Creative Commons Attribution 4.0 International Public License" in text
    assert text.rstrip().endswith("Creative Commons may be contacted at creativecommons.org.")
    assert hashlib.sha256(data).hexdigest() == CC_BY_4_SHA256, (
        "LICENSE-CC-BY-4.0 differs from the legal code it was copied from"
    )


def test_citation_cff_has_the_required_keys_and_agrees_with_the_project():
    cff, project = citation(), pyproject()["project"]
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    missing = {"cff-version", "message", "title", "authors"} - cff.keys()
    assert not missing, f"CITATION.cff lacks the required keys {sorted(missing)}"
    assert cff["cff-version"] == "1.2.0"
    assert cff["authors"] == [{"name": config["author"]}]
    assert cff["title"] == config["title"]
    assert cff["version"] == project["version"]
    assert cff["repository-code"] == config["repository"]["url"]
    assert cff["license"] == project_licence()
    assert TEXT_LICENCE.name in cff["message"] and NOTICES.name in cff["message"]
    assert cff["keywords"] and all(isinstance(k, str) for k in cff["keywords"])


def test_citation_cff_cites_the_chapters_papers_as_references_bib_does():
    bib = bib_entries()
    refs = {plain(ref["title"]).lower(): ref for ref in citation()["references"]}
    for key in CHAPTER_PAPERS:
        entry = bib[key]
        ref = refs.get(plain(entry["title"]).lower())
        assert ref is not None, f"CITATION.cff has no reference titled like {key} in references.bib"
        assert ref["type"] == "conference-paper"
        assert ref["year"] == int(entry["year"]), key
        authors = [tuple(a.split(", ", 1)) for a in plain(entry["author"]).split(" and ")]
        cited = [(a["family-names"], a["given-names"]) for a in ref["authors"]]
        assert cited == authors, f"{key}: authors in CITATION.cff differ from references.bib"


def test_notices_have_a_section_for_every_data_folder():
    folders = data_folders()
    assert {"stsb", "sts12_16", "sick"} <= set(folders)
    for folder in folders:
        body = section_for({folder})
        for field in SECTION_FIELDS:
            assert field in body, f"notices for {folder}/ lack {field}"
        assert f"`{folder}/SOURCE.txt`" in body, (
            f"notices for {folder}/ do not name {folder}/SOURCE.txt, where their terms come from"
        )


def test_notices_have_a_section_for_every_model_the_package_loads():
    found = models()
    assert {"mini-bert", "bert-base-uncased", "gemma-3-270m"} <= set(found)
    for model, names in found.items():
        body = section_for(names)
        for field in SECTION_FIELDS:
            assert field in body, f"notices for {model} lack {field}"
    for name, description in real_lm.REAL_MODELS.items():
        package = re.search(r"package ([\w.-]+)", description).group(1)
        assert f"`{package}`" in section_for({name}), f"notices for {name} do not name {package}"


def test_notices_state_the_terms_that_limit_reuse():
    sick = section_for({"sick"})
    assert "NonCommercial" in sick and "CC BY-NC-SA 3.0" in sick
    gemma = section_for({"gemma-3-270m"})
    assert "Gemma Terms of Use" in gemma and "Gemma Prohibited Use Policy" in gemma
    assert "Apache" in section_for({"mathjax"})
