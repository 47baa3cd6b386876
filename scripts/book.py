#!/usr/bin/env python3
"""Set up, execute, build and check the book: the one implementation behind
`make book` and `make test` (see README.md).

    python3 scripts/book.py setup       # .venv, Jupyter kernel "aniso", MathJax (idempotent)
    python3 scripts/book.py execute [--profile quick|paper] [--only NAME]
    python3 scripts/book.py build [--student]  # jupyter-book build -W -n of the executed copies
    python3 scripts/book.py check-html  # no CDN, local MathJax, no missing image
    python3 scripts/book.py browser-check  # every page in headless Chromium (scripts/browser_check.py)
    python3 scripts/book.py book        # setup + execute + build + check-html
    python3 scripts/book.py test        # setup, then offline: pytest + execute + build + check-html
                                        #   + determinism + student edition + browser-check

Notebooks are executed by papermill into a staged copy of the book
(_build/stage), so the notebooks in the repository stay without outputs; the
book is then built from that copy with `execute_notebooks: "off"`.
`build --student` builds the student edition, without the solutions, into
_build/student/_build/html.

`test` proves the book offline: after `setup` (the only step that needs the
network: pip, npm, apt-get for Chromium) it re-runs itself inside a new network
namespace that has nothing but loopback (`unshare -n`), and fails if any step
after pytest tried to send a packet off the machine. ANISO_NETNS=require (set
by .ci/run) makes a machine without namespaces an error; ANISO_NETNS=off skips
the namespace; the default runs without it, with a warning, where `unshare` is
not permitted (a laptop without user namespaces, macOS).

Runs with any python3 >= 3.10 and only the standard library at the top level:
every step but `setup` re-executes itself inside .venv.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))  # browser_check.py, imported by name, lives beside this file
VENV = ROOT / ".venv"
VENV_PY = VENV / "bin" / "python"
STAMP = VENV / ".aniso-requirements.sha256"
BUILD = ROOT / "_build"
STAGE = BUILD / "stage"
HTML = STAGE / "_build" / "html"
TIMINGS = BUILD / "timings.json"
STUDENT = BUILD / "student"  # the student edition: STUDENT / "_build" / "html"
STUDENT_HTML = STUDENT / "_build" / "html"
# Generated into the stage at build time from the notebooks and _build/timings.json, and included
# by book/how_to_run.md and book/teaching.md: the numbers and goals there are never typed by hand.
TIMINGS_PAGE = "book/_timings.md"
CHAPTERS_PAGE = "book/_chapters.md"
KERNEL = "aniso"
MATHJAX_SRC = ROOT / "node_modules" / "mathjax"
MATHJAX_EXTRA = ROOT / "_mathjax_build"  # html_extra_path in _config.yml
MATHJAX_SCRIPT = "mathjax/tex-chtml.js"  # where the built HTML must find MathJax
# The parts of MathJax's es5 folder that tex-chtml.js loads (extensions, fonts, menu, speech).
MATHJAX_PARTS = ["tex-chtml.js", "input", "output/chtml.js", "output/chtml", "a11y", "sre", "ui", "adaptors"]
STAGED = ["_config.yml", "_toc.yml", "book", "notebooks", "_mathjax_build", "src"]  # src: literalinclude


def say(msg: str) -> None:
    print(f"[book] {msg}", flush=True)


def run(cmd: list, **kw) -> None:
    say("$ " + " ".join(str(c) for c in cmd))
    rc = subprocess.run([str(c) for c in cmd], cwd=kw.pop("cwd", ROOT), **kw).returncode
    if rc != 0:
        sys.exit(f"[book] FAILED (exit code {rc}): {Path(str(cmd[0])).name} {' '.join(str(c) for c in cmd[1:3])} ...")


def sha256(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()


# ----------------------------------------------------------------------------- setup
def setup() -> None:
    """Create .venv, install requirements.txt and the package, register the kernel, install MathJax."""
    if not VENV_PY.exists():
        if sys.version_info < (3, 10):
            sys.exit(f"[book] Python >= 3.10 is needed (3.11 recommended), this is {sys.version.split()[0]}")
        run([sys.executable, "-m", "venv", VENV])
    digest = sha256(ROOT / "requirements.txt", ROOT / "pyproject.toml")
    if not STAMP.exists() or STAMP.read_text().strip() != digest:
        run([VENV_PY, "-m", "pip", "install", "-r", "requirements.txt"])
        run([VENV_PY, "-m", "pip", "install", "--no-deps", "-e", "."])
        STAMP.write_text(digest + "\n")
    else:
        say("Python environment up to date (.venv)")
    spec = VENV / "share" / "jupyter" / "kernels" / KERNEL / "kernel.json"
    if not spec.exists() or json.loads(spec.read_text())["argv"][0] != str(VENV_PY):
        run([VENV_PY, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL,
             "--display-name", "Python (aniso)"])
    wanted = json.loads((ROOT / "package.json").read_text())["dependencies"]["mathjax"]
    installed = MATHJAX_SRC / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != wanted:
        if not shutil.which("npm"):
            sys.exit("[book] npm is needed once, to install MathJax from package-lock.json (apt install npm)")
        run(["npm", "ci", "--no-audit", "--no-fund"])
    dest = MATHJAX_EXTRA / "mathjax"
    if not (dest / "package.json").exists() or \
            (dest / "package.json").read_bytes() != (MATHJAX_SRC / "package.json").read_bytes():
        shutil.rmtree(dest, ignore_errors=True)
        for part in MATHJAX_PARTS:
            src, dst = MATHJAX_SRC / "es5" / part, dest / part
            dst.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)
        shutil.copy2(MATHJAX_SRC / "package.json", dest / "package.json")
        say(f"MathJax copied to {dest.relative_to(ROOT)}")


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def reexec_in_venv() -> None:
    if in_venv():
        return
    if not VENV_PY.exists():
        sys.exit("[book] no .venv yet: run `make book` (or `python3 scripts/book.py setup`) first")
    os.execv(str(VENV_PY), [str(VENV_PY), __file__, *sys.argv[1:]])


# ----------------------------------------------------------------------------- table of contents
def toc_files(toc_path: Path = ROOT / "_toc.yml") -> list[str]:
    """The `file:` entries of _toc.yml (root first), without suffix."""
    from browser_check import toc_pages  # one reader of _toc.yml for both scripts

    root, pages = toc_pages(toc_path)
    return [root, *pages]


def toc_notebooks() -> list[str]:
    return [f + ".ipynb" for f in toc_files(ROOT / "_toc.yml") if (ROOT / (f + ".ipynb")).exists()]


# ----------------------------------------------------------------------------- execute
def stage(keep_executed: bool) -> None:
    """Copy the book sources to _build/stage; keep already executed notebooks if asked."""
    if not keep_executed:
        shutil.rmtree(STAGE, ignore_errors=True)
    for name in STAGED:
        src, dst = ROOT / name, STAGE / name
        if src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        elif src.is_dir():
            def ignore(folder, names, _src=src, _dst=dst):
                skip = {n for n in names if n in (".ipynb_checkpoints", "__pycache__")}
                if keep_executed:
                    target = _dst / Path(folder).relative_to(_src)
                    skip |= {n for n in names if n.endswith(".ipynb") and (target / n).exists()}
                return skip
            shutil.copytree(src, dst, ignore=ignore, dirs_exist_ok=True)


def execute(profile: str, only: str | None) -> None:
    notebooks = toc_notebooks()
    if only:
        notebooks = [nb for nb in notebooks if only in (nb, Path(nb).name, Path(nb).stem)]
        if not notebooks:
            sys.exit(f"[book] --only {only}: no such notebook in _toc.yml")
    stage(keep_executed=bool(only))
    os.environ.setdefault("ANISO_CACHE_DIR", str(BUILD / "cache"))
    cache = Path(os.environ["ANISO_CACHE_DIR"])
    cache.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("ANISO_DATA_DIR"):
        say("ANISO_DATA_DIR is not set: the notebooks download their data (sha256-checked) or fail")
    timings = json.loads(TIMINGS.read_text()) if only and TIMINGS.exists() else {}
    timings.setdefault("notebooks", {})
    timings.setdefault("cold_cache", [])
    timings["profile"] = profile
    for nb in notebooks:
        if nb in timings["cold_cache"]:
            timings["cold_cache"].remove(nb)
        if not any(cache.iterdir()):  # this execution computes everything, nothing read back
            timings["cold_cache"].append(nb)
        timings["notebooks"][nb] = round(execute_notebook(ROOT / nb, STAGE / nb, profile, name=nb), 1)
        say(f"{nb}: {timings['notebooks'][nb]:.1f} s")
    timings["total"] = round(sum(timings["notebooks"].values()), 1)
    TIMINGS.write_text(json.dumps(timings, indent=2) + "\n")
    print_timings()


def execute_notebook(src: Path, out: Path, profile: str, name: str | None = None) -> float:
    """Execute one notebook with papermill into `out`; the seconds it took.

    A failing cell stops everything (exit code 1) with the notebook's name, the
    cell's source and its traceback on stderr: never a page with missing output.
    """
    import papermill as pm

    name = name or src.name
    say(f"executing {name} (profile {profile}) ...")
    start = time.perf_counter()
    try:
        pm.execute_notebook(str(src), str(out), parameters={"PROFILE": profile},
                            kernel_name=KERNEL, language="python", cwd=str(out.parent), progress_bar=False)
    except pm.PapermillExecutionError as err:
        print(f"\n[book] FAILED: {name}, cell {err.cell_index} (execution count {err.exec_count}):\n"
              f"{'-' * 78}\n{err.source}\n{'-' * 78}", file=sys.stderr)
        print(re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(err.traceback)), file=sys.stderr)
        print(f"[book] {err.ename}: {err.evalue}\n[book] partial output: {out}", file=sys.stderr)
        sys.exit(1)
    except Exception as err:  # dead kernel, timeout, missing kernel...
        sys.exit(f"[book] FAILED: {name}: {type(err).__name__}: {err}")
    return time.perf_counter() - start


# ----------------------------------------------------------------------------- determinism
DETERMINISM_CHAPTER = "notebooks/00_the_problem.ipynb"


def glued_values(path: Path) -> dict[str, dict[str, str]]:
    """Every value a notebook glued (myst-nb `glue`), by name: {mime type: data}, images left out.

    A figure is compared by its text form (e.g. "<Figure size 748x352 with 2 Axes>"), not its pixels.
    """
    values = {}
    for cell in json.loads(path.read_text())["cells"]:
        for out in cell.get("outputs", []):
            record = out.get("metadata", {}).get("scrapbook")
            if record:
                values[record["name"]] = {mime.split("/", 2)[-1]: data for mime, data in out.get("data", {}).items()
                                          if not mime.split("/", 2)[-1].startswith("image/")}
    return values


def glue_differences(a: dict, b: dict) -> list[str]:
    problems = [f"{name}: glued only in the {which} run" for which, x, y in (("first", a, b), ("second", b, a))
                for name in sorted(set(x) - set(y))]
    for name in sorted(set(a) & set(b)):
        for mime in sorted(set(a[name]) | set(b[name])):
            if a[name].get(mime) != b[name].get(mime):
                problems.append(f"{name} ({mime}): {str(a[name].get(mime))[:80]!r} != {str(b[name].get(mime))[:80]!r}")
    return problems


def determinism(nb: str = DETERMINISM_CHAPTER) -> None:
    """Execute `nb` a second time, with its own empty cache, and compare every glued value with the book's."""
    import tempfile

    first = STAGE / nb
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    if timings.get("profile") != "quick" or not first.exists():
        sys.exit(f"[book] determinism: {nb} has no quick-profile execution in {STAGE} to compare with")
    cold = nb in timings.get("cold_cache", [])
    with tempfile.TemporaryDirectory(prefix="aniso-determinism-") as tmp:
        second = Path(tmp) / "notebooks" / Path(nb).name
        second.parent.mkdir()
        saved = os.environ.get("ANISO_CACHE_DIR")
        os.environ["ANISO_CACHE_DIR"] = str(Path(tmp) / "cache")  # empty: everything is computed again
        try:
            secs = execute_notebook(ROOT / nb, second, "quick", name=f"{nb} (second run, empty cache)")
        finally:
            os.environ["ANISO_CACHE_DIR"] = saved or str(BUILD / "cache")
        a, b = glued_values(first), glued_values(second)
    problems = glue_differences(a, b) or ([] if a else [f"{nb} glues nothing: nothing to compare"])
    if problems:
        print("\n".join([f"[book] determinism FAILED: {nb} glued different values in two executions:"]
                         + [f"  {p}" for p in problems]), file=sys.stderr)
        sys.exit(1)
    say(f"determinism: {nb} executed twice in the quick profile ({'both' if cold else 'the second'} "
        f"with an empty embedding cache; {secs:.0f} s): all {len(a)} glued values identical")


def print_timings() -> None:
    if not TIMINGS.exists():
        return
    timings = json.loads(TIMINGS.read_text())
    width = max([len(nb) for nb in timings["notebooks"]] + [5])
    print(f"\nNotebook execution times (profile {timings['profile']}):")
    for nb, secs in timings["notebooks"].items():
        print(f"  {nb:<{width}}  {secs:8.1f} s")
    print(f"  {'total':<{width}}  {timings['total']:8.1f} s")


# ----------------------------------------------------------------------------- build
def unexecuted(stage_dir: Path, notebooks: list[str]) -> list[str]:
    """The staged notebooks that papermill has not run to the end: they would render without output."""
    bad = []
    for nb in notebooks:
        path = stage_dir / nb
        meta = json.loads(path.read_text()).get("metadata", {}).get("papermill") if path.exists() else None
        if not meta or meta.get("exception") or not meta.get("end_time"):
            bad.append(nb)
    return bad


def markdown_of(nb: str) -> str:
    cells = json.loads((ROOT / nb).read_text())["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def title_of(nb: str) -> str:
    return next((line[2:].strip() for line in markdown_of(nb).splitlines() if line.startswith("# ")), nb)


FENCE = re.compile(r"^(`{3,}|:{3,})\{(\w+)\}[ \t]*(.*?)\n(.*?)^\1[ \t]*$", re.M | re.S)


def chapters_page() -> str:
    """Per chapter: its learning goals (the chapter's own admonition), its exercises, its measured time."""
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {"notebooks": {}}
    out = []
    for nb in toc_notebooks():
        text = markdown_of(nb)
        goals = next((body.strip() for _, kind, arg, body in FENCE.findall(text)
                      if kind == "admonition" and arg.strip().lower() == "learning goals"), None)
        exercises = [m.group(1) for _, kind, _, body in FENCE.findall(text) if kind == "exercise"
                     for m in [re.search(r"^:label:\s*(\S+)", body, re.M)] if m]
        secs = timings["notebooks"].get(nb)
        when = (f"{secs / 60:.1f} min in the `{timings.get('profile', 'quick')}` profile (measured in this build)"
                if secs is not None else "not executed in this build")
        out += [f"#### {title_of(nb)}", "",
                f"{{doc}}`Read the chapter <../{nb[:-len('.ipynb')]}>`; execution time: {when}.", ""]
        out += ["**Learning goals.** " + (goals or "(the chapter has no learning-goals admonition)"), ""]
        out += ["**Exercises.** " + (", ".join(f"{{numref}}`{label}`" for label in exercises)
                                     if exercises else "none yet") + ".", ""]
    return "\n".join(out)


def timings_page() -> str:
    """The table of measured execution times that book/how_to_run.md and book/teaching.md include."""
    titles = {nb: title_of(nb) for nb in toc_notebooks()}
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {"notebooks": {}}
    measured = timings.get("profile", "quick")
    unmeasured = {"quick": "not measured in this build",
                  "paper": "not measured in this build (needs the internet; a GPU recommended)"}
    rows = ["| chapter | `quick` profile | `paper` profile |", "|---|---|---|"]
    for nb, title in titles.items():
        secs = timings["notebooks"].get(nb)
        cols = {p: unmeasured[p] for p in unmeasured}
        cols[measured] = f"{secs / 60:.1f} min" if secs is not None else "not executed in this build"
        rows.append(f"| {title} | {cols['quick']} | {cols['paper']} |")
    total = sum(timings["notebooks"].get(nb, 0) for nb in titles)
    cols = {p: "" for p in unmeasured}
    cols[measured] = f"**{total / 60:.1f} min**"
    rows.append(f"| **the whole book** | {cols['quick']} | {cols['paper']} |")
    machine = f"{os.cpu_count()} CPU cores"
    when = time.strftime("%Y-%m-%d", time.gmtime(TIMINGS.stat().st_mtime)) if TIMINGS.exists() else "never"
    return ("\n".join(rows) + f"\n\nMeasured by `scripts/book.py execute` when this copy of the book was built "
            f"({when}, {machine}, profile `{timings.get('profile', 'quick')}`, "
            f"with a warm embedding cache where an earlier chapter filled it); "
            f"the numbers come from `_build/timings.json`.\n")


def build(student: bool = False) -> None:
    if not (STAGE / "_toc.yml").exists():
        sys.exit("[book] nothing staged: run `python3 scripts/book.py execute` first")
    stage(keep_executed=True)  # fresh config and prose; the executed notebooks stay
    missing = unexecuted(STAGE, toc_notebooks())
    if missing:
        sys.exit(f"[book] not executed (they would render without output): {', '.join(missing)}; "
                 f"run `python3 scripts/book.py execute` (or `--only NAME`) first")
    (STAGE / TIMINGS_PAGE).write_text(timings_page())
    (STAGE / CHAPTERS_PAGE).write_text(chapters_page())
    cmd = [VENV / "bin" / "jupyter-book", "build", STAGE, "--all", "-W", "-n", "--keep-going"]
    if student:
        import yaml

        config = yaml.safe_load((STAGE / "_config.yml").read_text())
        config["title"] += " (student edition)"
        config["sphinx"]["config"]["hide_solutions"] = True  # sphinx-exercise drops every {solution}
        (STAGE / "_config_student.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        shutil.rmtree(STUDENT, ignore_errors=True)
        cmd += ["--config", STAGE / "_config_student.yml", "--path-output", STUDENT]
    run(cmd)
    say(f"HTML{' (student edition)' if student else ''}: {(STUDENT_HTML if student else HTML) / 'index.html'}")


SOLUTION = re.compile(r'<div class="solution\b[^"]*"')
EXERCISE = re.compile(r'<div class="exercise\b[^"]*"[^>]*>\s*<p class="admonition-title">'
                      r'<span class="caption-number">([^<]*)<')  # the exercise and its number


def check_student(html_root: Path, student_root: Path) -> list[str]:
    """The student edition has every exercise of the full book and not one solution."""
    problems, exercises, solutions = [], 0, 0
    for page in sorted(html_root.rglob("*.html")):
        rel = page.relative_to(html_root)
        if rel.parts[0] in ("_sources", "_static", "mathjax"):
            continue
        full = page.read_text(encoding="utf-8")
        other = student_root / rel
        if not other.exists():
            problems.append(f"{rel}: missing from the student edition")
            continue
        stud = other.read_text(encoding="utf-8")
        exercises += len(EXERCISE.findall(full))
        solutions += len(SOLUTION.findall(full))
        if SOLUTION.search(stud):
            problems.append(f"{rel}: the student edition shows {len(SOLUTION.findall(stud))} solution(s)")
        if EXERCISE.findall(stud) != EXERCISE.findall(full):
            problems.append(f"{rel}: exercises {EXERCISE.findall(full)} in the book, "
                            f"{EXERCISE.findall(stud)} in the student edition")
    if solutions == 0:
        problems.append("the full book shows no solution at all: nothing for the student edition to leave out")
    if not problems:
        say(f"student edition: {exercises} exercises, 0 of the book's {solutions} solutions")
    return problems


def check_student_cmd() -> None:
    problems = check_student(HTML, STUDENT_HTML)
    if problems:
        print("\n".join(["[book] student edition check FAILED:"] + [f"  {p}" for p in problems]), file=sys.stderr)
        sys.exit(1)


# ----------------------------------------------------------------------------- check-html
EXTERNAL = re.compile(r"^\s*(https?:)?//", re.I)
LOADING_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "icon", "apple-touch-icon",
                "mask-icon", "manifest", "preconnect", "dns-prefetch"}
CSS_REMOTE = re.compile(r"""(url\(\s*['"]?\s*(https?:)?//|@import\s+['"]\s*(https?:)?//)""", re.I)
MEDIA = {"img": ("src", "srcset"), "iframe": ("src",), "source": ("src", "srcset"), "video": ("src", "poster"),
         "audio": ("src",), "embed": ("src",), "track": ("src",), "object": ("data",)}


class PageScan(HTMLParser):
    """Collects what a page loads: (tag, url) pairs, inline CSS, and whether it shows math."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loads: list[tuple[str, str]] = []
        self.scripts: list[str] = []
        self.css: list[str] = []
        self.has_math = False
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if "math" in a.get("class", "").split():
            self.has_math = True
        if a.get("style"):
            self.css.append(a["style"])
        if tag == "script" and a.get("src"):
            self.loads.append(("script", a["src"]))
            self.scripts.append(a["src"])
        elif tag == "link" and a.get("href") and LOADING_RELS & set(a.get("rel", "").lower().split()):
            self.loads.append((f"link rel={a['rel']}", a["href"]))
        elif tag in MEDIA:
            for attr in MEDIA[tag]:
                for url in ([u.split()[0] for u in a.get(attr, "").split(",") if u.strip()]
                            if attr == "srcset" else [a.get(attr, "")]):
                    if url:
                        self.loads.append((tag, url))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.css.append(data)


def local_target(page: Path, url: str) -> Path | None:
    """The file a relative URL of `page` points to, or None for data:/javascript: URLs."""
    parts = urlsplit(url)
    if parts.scheme or not parts.path:
        return None
    return (page.parent / unquote(parts.path)).resolve()


def check_page(page: Path, html_root: Path, text: str | None = None) -> list[str]:
    """Problems of one rendered page: remote resources, missing local ones, math without local MathJax."""
    scan = PageScan()
    scan.feed(page.read_text(encoding="utf-8") if text is None else text)
    name, problems = page.relative_to(html_root).as_posix(), []
    for tag, url in scan.loads:
        if EXTERNAL.match(url):
            kind = "CDN MathJax" if "mathjax" in url.lower() else "external resource"
            problems.append(f"{name}: {kind}: <{tag}> {url}")
        elif (target := local_target(page, url)) is not None and not target.exists():
            problems.append(f"{name}: missing file: <{tag}> {url}")
    problems += [f"{name}: remote URL in inline CSS: {css.strip()[:80]}" for css in scan.css if CSS_REMOTE.search(css)]
    if scan.has_math:
        mathjax = (html_root / MATHJAX_SCRIPT).resolve()
        if not mathjax.exists() or not any(local_target(page, s) == mathjax for s in scan.scripts
                                           if not EXTERNAL.match(s)):
            problems.append(f"{name}: shows math but does not load the local {MATHJAX_SCRIPT}")
    return problems


def check_css(css_file: Path, html_root: Path) -> list[str]:
    text = css_file.read_text(encoding="utf-8", errors="replace")
    return [f"{css_file.relative_to(html_root).as_posix()}: remote URL in CSS: {m.group(0)}"
            for m in CSS_REMOTE.finditer(text)]


def check_html(html_root: Path, pages: list[str]) -> list[str]:
    """All problems of a built book; `pages` are the _toc.yml entries (without suffix)."""
    html_root = html_root.resolve()
    problems = [f"{p}: no {p}.html in the build" for p in pages if not (html_root / f"{p}.html").exists()]
    for page in sorted(html_root.rglob("*.html")):
        if not page.relative_to(html_root).parts[0] in ("_sources", "_static", "mathjax"):
            problems += check_page(page, html_root)
    for css in sorted(html_root.rglob("*.css")):
        problems += check_css(css, html_root)
    return problems


def check_html_cmd() -> None:
    if not (HTML / "index.html").exists():
        sys.exit(f"[book] no build in {HTML}: run `python3 scripts/book.py build` first")
    problems = check_html(HTML, toc_files())
    if problems:
        print("\n".join(["[book] HTML check FAILED:"] + [f"  {p}" for p in problems]), file=sys.stderr)
        sys.exit(1)
    say(f"HTML check passed: {len(list(HTML.rglob('*.html')))} pages, nothing loaded from outside the build")


# ----------------------------------------------------------------------------- browser check
def ensure_chromium() -> None:
    """Install Debian's chromium with apt-get when no Chromium is found (needs root and the network)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from browser_check import find_chromium

    if find_chromium():
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "update", "-q"], env=env)
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium", "fonts-liberation"], env=env)
    else:
        sys.exit("[book] the browser check needs Chromium: `sudo apt-get install chromium` (Debian/Ubuntu), "
                 "or set ANISO_CHROMIUM to a Chromium or Chrome executable")


IPV6_SWITCHES = [Path(f"/proc/sys/net/ipv6/conf/{i}/disable_ipv6") for i in ("all", "default", "lo")]


def browser_check() -> None:
    # In the namespace of the offline proof, IPv6 is switched off while Chromium runs: at every start
    # Chromium routes a UDP socket towards 2001:4860:4860::8888 to learn whether IPv6 reaches the
    # internet (no packet is sent, but the kernel counts the routing failure). The book's own
    # requests are checked by the browser check itself, which fails on any request off the server.
    saved = {p: p.read_text() for p in IPV6_SWITCHES if p.exists()} if os.environ.get(IN_NETNS) else {}
    try:
        for path in saved:
            path.write_text("1\n")
    except OSError as err:  # then the probe shows up in the ledger of the offline proof
        say(f"could not switch IPv6 off in the namespace ({err})")
    try:
        rc = subprocess.run([sys.executable, ROOT / "scripts" / "browser_check.py", HTML], cwd=ROOT).returncode
    finally:
        for path, value in saved.items():
            try:
                path.write_text(value)
            except OSError:
                pass
    if rc != 0:
        sys.exit(f"[book] browser check failed (exit code {rc})")


# ----------------------------------------------------------------------------- offline proof
IN_NETNS = "ANISO_IN_NETNS"  # set inside the network namespace


def netns_prefix() -> tuple[list[str] | None, str]:
    """The command prefix that runs a command in a new network namespace with loopback only, or (None, why not)."""
    unshare = shutil.which("unshare")
    ip = shutil.which("ip", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    if not unshare or not ip:
        return None, "needs `unshare` (util-linux) and `ip` (iproute2)"
    flags = ["-n"] if os.geteuid() == 0 else ["-r", "-n"]  # unprivileged: a user namespace first
    # The kernels talk to papermill over loopback TCP, and the browser check serves the book on it.
    prefix = [unshare, *flags, "--", "sh", "-c", f'"{ip}" link set lo up && exec "$@"', "netns"]
    try:
        probe = subprocess.run(prefix + ["true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return None, f"`unshare {' '.join(flags)}` failed: {err}"
    if probe.returncode != 0:
        return None, f"`unshare {' '.join(flags)}` is not permitted here: {probe.stderr.strip()}"
    return prefix, ""


def enter_netns() -> None:
    """Re-run this command inside a network namespace with loopback only (see the module docstring)."""
    mode = os.environ.get("ANISO_NETNS", "auto")
    if mode == "off":
        say("ANISO_NETNS=off: running with the network (no offline proof)")
        return
    prefix, why = netns_prefix()
    if prefix is None:
        if mode == "require":
            sys.exit(f"[book] ANISO_NETNS=require, but no network namespace: {why}")
        say(f"WARNING: running with the network, so this run does not prove the book offline: {why}")
        return
    say("entering a network namespace with loopback only: from here on nothing can reach the network")
    os.environ[IN_NETNS] = "1"
    os.execv(prefix[0], prefix + [sys.executable, __file__, *sys.argv[1:]])


def packets_off_the_machine() -> int:
    """Attempts of this network namespace to reach the network, from the kernel's counters: packets
    with no route (anything but loopback; IPv4 and IPv6), and datagrams to a closed local port (a
    DNS query to a resolver on loopback, such as systemd-resolved's 127.0.0.53, which is not
    there in the namespace)."""
    count = 0
    rows = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()]
    for proto, field in (("Ip:", "OutNoRoutes"), ("Udp:", "NoPorts")):
        head, values = [r for r in rows if r and r[0] == proto][:2]
        count += int(values[head.index(field)])
    snmp6 = Path("/proc/net/snmp6")
    if snmp6.exists():
        count += sum(int(v) for k, v in (line.split() for line in snmp6.read_text().splitlines() if line.strip())
                     if k in ("Ip6OutNoRoutes", "Udp6NoPorts"))
    return count


class Ledger:
    """Attempts to reach the network, step by step, in the namespace of the offline proof."""

    def __init__(self) -> None:
        self.on = bool(os.environ.get(IN_NETNS))
        self.last = packets_off_the_machine() if self.on else 0
        self.steps: list[tuple[str, int]] = []
        self.started = time.perf_counter()

    def mark(self, step: str) -> None:
        if self.on:
            now = packets_off_the_machine()
            self.steps.append((step, now - self.last))
            self.last = now

    def report(self, exempt: str = "pytest") -> None:
        """Fail if any step but `exempt` tried to reach the network; else say what was proven."""
        if not self.on:
            return
        interfaces = sorted(name for _, name in socket.if_nameindex())
        counted = [(step, n) for step, n in self.steps if step != exempt]
        steps = ", ".join(step for step, _ in counted)
        if interfaces != ["lo"] or any(n for _, n in counted):
            sys.exit(f"[book] OFFLINE PROOF FAILED: attempts to reach the network, by step: "
                     f"{', '.join(f'{step} {n}' for step, n in self.steps)} (network interfaces: "
                     f"{', '.join(interfaces)}); find the culprit with `strace -f -e trace=connect,sendto` "
                     f"inside `unshare -n`")
        exempted = sum(n for step, n in self.steps if step == exempt)
        say(f"offline proof: {steps} ran in {time.perf_counter() - self.started:.0f} s in a network namespace "
            f"with only loopback, and not one of them tried to reach the network "
            f"({exempt}: {exempted} attempt(s), allowed: tests may check how code fails offline)")


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["setup", "execute", "build", "check-html", "browser-check", "book", "test"])
    parser.add_argument("--profile", default=os.environ.get("ANISO_PROFILE", "quick"), choices=["quick", "paper"])
    parser.add_argument("--only", metavar="NAME", help="execute one notebook (path, file name or stem)")
    parser.add_argument("--student", action="store_true",
                        help="build: the student edition, without solutions, into _build/student/_build/html")
    args = parser.parse_args(argv)
    cmd = args.command
    if cmd == "setup" or (cmd in ("book", "test") and not os.environ.get("ANISO_BOOK_SETUP_DONE")):
        setup()
        if cmd == "setup":
            return
        os.environ["ANISO_BOOK_SETUP_DONE"] = "1"
    reexec_in_venv()
    if cmd in ("test", "browser-check") and not os.environ.get(IN_NETNS):
        ensure_chromium()  # before the namespace: apt-get needs the network
    if cmd == "test" and not os.environ.get(IN_NETNS):
        enter_netns()  # does not return when the namespace is available
    started = time.perf_counter()
    ledger = Ledger()
    if cmd == "test":
        rc = subprocess.run([sys.executable, "-m", "pytest", "tests", "-q"], cwd=ROOT).returncode
        if rc != 0:
            sys.exit(f"[book] pytest failed (exit code {rc}{', no tests collected' if rc == 5 else ''})")
        ledger.mark("pytest")
    if cmd in ("execute", "book", "test"):
        execute(args.profile, args.only if cmd == "execute" else None)
        ledger.mark("notebook execution")
    if cmd in ("build", "book", "test"):
        build(student=args.student and cmd == "build")
        ledger.mark("book build")
    if cmd in ("check-html", "book", "test"):
        check_html_cmd()
    if cmd == "test":
        determinism()
        ledger.mark("determinism")
        build(student=True)
        check_student_cmd()
        ledger.mark("student edition")
    if cmd in ("browser-check", "test"):
        browser_check()
        ledger.mark("browser check")
    if cmd == "test":
        ledger.report()
    if cmd in ("book", "test"):
        if cmd == "test":
            print_timings()
        say(f"done in {time.perf_counter() - started:.0f} s; open file://{HTML / 'index.html'}")


if __name__ == "__main__":
    main()
