"""The checks of the built HTML (`check-html`): nothing loaded from outside the build, no
missing file, math only with the local MathJax; and the student edition check: every exercise
of the book, not one solution."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import common
from .common import say

EXTERNAL = re.compile(r"^\s*(https?:)?//", re.I)
LOADING_RELS = {
    "stylesheet",
    "preload",
    "modulepreload",
    "prefetch",
    "icon",
    "apple-touch-icon",
    "mask-icon",
    "manifest",
    "preconnect",
    "dns-prefetch",
}
CSS_REMOTE = re.compile(r"""(url\(\s*['"]?\s*(https?:)?//|@import\s+['"]\s*(https?:)?//)""", re.I)
MEDIA = {
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "track": ("src",),
    "object": ("data",),
}
NOT_PAGES = ("_sources", "_static", "mathjax")  # folders of the build that hold no page


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
        elif (
            tag == "link" and a.get("href") and LOADING_RELS & set(a.get("rel", "").lower().split())
        ):
            self.loads.append((f"link rel={a['rel']}", a["href"]))
        elif tag in MEDIA:
            for attr in MEDIA[tag]:
                for url in (
                    [u.split()[0] for u in a.get(attr, "").split(",") if u.strip()]
                    if attr == "srcset"
                    else [a.get(attr, "")]
                ):
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
    """Problems of one rendered page: remote resources, missing local ones, math without local
    MathJax."""
    scan = PageScan()
    scan.feed(page.read_text(encoding="utf-8") if text is None else text)
    name, problems = page.relative_to(html_root).as_posix(), []
    for tag, url in scan.loads:
        if EXTERNAL.match(url):
            kind = "CDN MathJax" if "mathjax" in url.lower() else "external resource"
            problems.append(f"{name}: {kind}: <{tag}> {url}")
        elif (target := local_target(page, url)) is not None and not target.exists():
            problems.append(f"{name}: missing file: <{tag}> {url}")
    problems += [
        f"{name}: remote URL in inline CSS: {css.strip()[:80]}"
        for css in scan.css
        if CSS_REMOTE.search(css)
    ]
    if scan.has_math:
        mathjax = (html_root / common.MATHJAX_SCRIPT).resolve()
        if not mathjax.exists() or not any(
            local_target(page, s) == mathjax for s in scan.scripts if not EXTERNAL.match(s)
        ):
            problems.append(
                f"{name}: shows math but does not load the local {common.MATHJAX_SCRIPT}"
            )
    return problems


def check_css(css_file: Path, html_root: Path) -> list[str]:
    text = css_file.read_text(encoding="utf-8", errors="replace")
    return [
        f"{css_file.relative_to(html_root).as_posix()}: remote URL in CSS: {m.group(0)}"
        for m in CSS_REMOTE.finditer(text)
    ]


def check_html(html_root: Path, pages: list[str]) -> list[str]:
    """All problems of a built book; `pages` are the _toc.yml entries (without suffix)."""
    html_root = html_root.resolve()
    problems = [
        f"{p}: no {p}.html in the build" for p in pages if not (html_root / f"{p}.html").exists()
    ]
    for page in sorted(html_root.rglob("*.html")):
        if page.relative_to(html_root).parts[0] not in NOT_PAGES:
            problems += check_page(page, html_root)
    for css in sorted(html_root.rglob("*.css")):
        problems += check_css(css, html_root)
    return problems


def check_html_cmd() -> None:
    html = common.HTML
    if not (html / "index.html").exists():
        raise SystemExit(f"[book] no build in {html}: run `python3 scripts/book.py build` first")
    problems = check_html(html, common.toc_files())
    if problems:
        common.fail("HTML check FAILED:", problems)
    say(
        f"HTML check passed: {len(list(html.rglob('*.html')))} pages, nothing loaded from "
        f"outside the build"
    )


# ----------------------------------------------------------------------------- student edition
SOLUTION = re.compile(r'<div class="solution\b[^"]*"')
EXERCISE = re.compile(
    r'<div class="exercise\b[^"]*"[^>]*>\s*<p class="admonition-title">'
    r'<span class="caption-number">([^<]*)<'
)  # the exercise and its number


def check_student(html_root: Path, student_root: Path) -> list[str]:
    """The student edition has every exercise of the full book and not one solution."""
    problems, exercises, solutions = [], 0, 0
    for page in sorted(html_root.rglob("*.html")):
        rel = page.relative_to(html_root)
        if rel.parts[0] in NOT_PAGES:
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
            problems.append(
                f"{rel}: the student edition shows {len(SOLUTION.findall(stud))} solution(s)"
            )
        if EXERCISE.findall(stud) != EXERCISE.findall(full):
            problems.append(
                f"{rel}: exercises {EXERCISE.findall(full)} in the book, "
                f"{EXERCISE.findall(stud)} in the student edition"
            )
    if solutions == 0:
        problems.append(
            "the full book shows no solution at all: nothing for the student edition to leave out"
        )
    if not problems:
        say(f"student edition: {exercises} exercises, 0 of the book's {solutions} solutions")
    return problems


def check_student_cmd() -> None:
    problems = check_student(common.HTML, common.STUDENT_HTML)
    if problems:
        common.fail("student edition check FAILED:", problems)


# ----------------------------------------------------------------------------- the chapters' code
HIDDEN_TAGS = {"remove-cell", "remove-input"}  # not on the page ("hide-input" is folded: readable)
FOLDED_TAGS = {"hide-input", "hide-cell"}
BOOKKEEPING = re.compile(r"\b(glue|glue_many|claim|ledger_row)\(")
HIDDEN_SHARE_MAX = 0.30  # issue 25: the teaching code stands in front


def code_lines(nb: dict) -> tuple[int, int]:
    """(hidden, total): the non-blank lines of a notebook's code cells, and those of them that
    the page does not show (cells tagged remove-cell or remove-input). A folded cell (hide-input)
    is shown on request, so it is not hidden."""
    hidden = total = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        n = sum(1 for line in "".join(cell["source"]).splitlines() if line.strip())
        total += n
        if HIDDEN_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            hidden += n
    return hidden, total


def visible_bookkeeping(nb: dict) -> list[str]:
    """The code cells a reader sees (neither removed nor folded) that call glue, glue_many, claim
    or ledger_row: bookkeeping belongs in a section's hidden check cell."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell["cell_type"] == "code" and not tags & (HIDDEN_TAGS | FOLDED_TAGS):
            calls = sorted({m.group(1) for m in BOOKKEEPING.finditer("".join(cell["source"]))})
            if calls:
                found.append(f"cell {i}: {', '.join(calls)}")
    return found
