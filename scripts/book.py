#!/usr/bin/env python3
"""Set up, execute, build and check the book: the one implementation behind
`make book` and `make test` (see README.md).

    python3 scripts/book.py setup       # .venv, Jupyter kernel "aniso", MathJax (idempotent)
    python3 scripts/book.py execute [--profile quick|paper] [--only NAME]
    python3 scripts/book.py build       # jupyter-book build -W -n of the executed copies
    python3 scripts/book.py check-html  # no CDN, local MathJax, no missing image
    python3 scripts/book.py book        # setup + execute + build + check-html
    python3 scripts/book.py test        # setup + pytest + execute + build + check-html

Notebooks are executed by papermill into a staged copy of the book
(_build/stage), so the notebooks in the repository stay without outputs; the
book is then built from that copy with `execute_notebooks: "off"`.

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
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VENV_PY = VENV / "bin" / "python"
STAMP = VENV / ".aniso-requirements.sha256"
BUILD = ROOT / "_build"
STAGE = BUILD / "stage"
HTML = STAGE / "_build" / "html"
TIMINGS = BUILD / "timings.json"
KERNEL = "aniso"
MATHJAX_SRC = ROOT / "node_modules" / "mathjax"
MATHJAX_EXTRA = ROOT / "_mathjax_build"  # html_extra_path in _config.yml
MATHJAX_SCRIPT = "mathjax/tex-chtml.js"  # where the built HTML must find MathJax
# The parts of MathJax's es5 folder that tex-chtml.js loads (extensions, fonts, menu, speech).
MATHJAX_PARTS = ["tex-chtml.js", "input", "output/chtml.js", "output/chtml", "a11y", "sre", "ui", "adaptors"]
STAGED = ["_config.yml", "_toc.yml", "book", "notebooks", "_mathjax_build"]


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
    import yaml  # a jupyter-book dependency: only called inside .venv

    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(toc_path.read_text()))
    return [re.sub(r"\.(ipynb|md)$", "", f) for f in found]


def toc_notebooks() -> list[str]:
    return [f + ".ipynb" for f in toc_files() if (ROOT / (f + ".ipynb")).exists()]


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
    import papermill as pm

    notebooks = toc_notebooks()
    if only:
        notebooks = [nb for nb in notebooks if only in (nb, Path(nb).name, Path(nb).stem)]
        if not notebooks:
            sys.exit(f"[book] --only {only}: no such notebook in _toc.yml")
    stage(keep_executed=bool(only))
    os.environ.setdefault("ANISO_CACHE_DIR", str(BUILD / "cache"))
    Path(os.environ["ANISO_CACHE_DIR"]).mkdir(parents=True, exist_ok=True)
    if not os.environ.get("ANISO_DATA_DIR"):
        say("ANISO_DATA_DIR is not set: the notebooks download their data (sha256-checked) or fail")
    timings = json.loads(TIMINGS.read_text()) if only and TIMINGS.exists() else {}
    timings.setdefault("notebooks", {})
    timings["profile"] = profile
    for nb in notebooks:
        out = STAGE / nb
        say(f"executing {nb} (profile {profile}) ...")
        start = time.perf_counter()
        try:
            pm.execute_notebook(str(ROOT / nb), str(out), parameters={"PROFILE": profile},
                                kernel_name=KERNEL, language="python", cwd=str(out.parent), progress_bar=False)
        except pm.PapermillExecutionError as err:
            print(f"\n[book] FAILED: {nb}, cell {err.cell_index} (execution count {err.exec_count}):\n"
                  f"{'-' * 78}\n{err.source}\n{'-' * 78}", file=sys.stderr)
            print(re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(err.traceback)), file=sys.stderr)
            print(f"[book] {err.ename}: {err.evalue}\n[book] partial output: {out}", file=sys.stderr)
            sys.exit(1)
        except Exception as err:  # dead kernel, timeout, missing kernel...
            sys.exit(f"[book] FAILED: {nb}: {type(err).__name__}: {err}")
        timings["notebooks"][nb] = round(time.perf_counter() - start, 1)
        say(f"{nb}: {timings['notebooks'][nb]:.1f} s")
    timings["total"] = round(sum(timings["notebooks"].values()), 1)
    TIMINGS.write_text(json.dumps(timings, indent=2) + "\n")
    print_timings()


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
def build() -> None:
    if not (STAGE / "_toc.yml").exists():
        sys.exit("[book] nothing staged: run `python3 scripts/book.py execute` first")
    stage(keep_executed=True)  # fresh config and prose; the executed notebooks stay
    run([VENV / "bin" / "jupyter-book", "build", STAGE, "--all", "-W", "-n", "--keep-going"])
    say(f"HTML: {HTML / 'index.html'}")


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


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["setup", "execute", "build", "check-html", "book", "test"])
    parser.add_argument("--profile", default=os.environ.get("ANISO_PROFILE", "quick"), choices=["quick", "paper"])
    parser.add_argument("--only", metavar="NAME", help="execute one notebook (path, file name or stem)")
    args = parser.parse_args(argv)
    cmd = args.command
    if cmd == "setup" or (cmd in ("book", "test") and not os.environ.get("ANISO_BOOK_SETUP_DONE")):
        setup()
        if cmd == "setup":
            return
        os.environ["ANISO_BOOK_SETUP_DONE"] = "1"
    reexec_in_venv()
    started = time.perf_counter()
    if cmd == "test":
        rc = subprocess.run([sys.executable, "-m", "pytest", "tests", "-q"], cwd=ROOT).returncode
        if rc != 0:
            sys.exit(f"[book] pytest failed (exit code {rc}{', no tests collected' if rc == 5 else ''})")
    if cmd in ("execute", "book", "test"):
        execute(args.profile, args.only if cmd == "execute" else None)
    if cmd in ("build", "book", "test"):
        build()
    if cmd in ("check-html", "book", "test"):
        check_html_cmd()
    if cmd in ("book", "test"):
        if cmd == "test":
            print_timings()
        say(f"done in {time.perf_counter() - started:.0f} s; open file://{HTML / 'index.html'}")


if __name__ == "__main__":
    main()
