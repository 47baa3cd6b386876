"""The browser check (`browser-check`): open every page of the built book in headless Chromium
and check what a reader sees.

    python3 scripts/book.py browser-check            # the usual way (after `build`)
    python -m bookbuild.browser [HTML_DIR] [--toc _toc.yml] [--screenshots DIR]  # in .venv,
                                                      # with scripts/ on PYTHONPATH

The HTML folder (default _build/stage/_build/html) is served by `http.server` on
127.0.0.1 (a free port); Debian's Chromium (/usr/bin/chromium, or $ANISO_CHROMIUM),
driven by Playwright with the system browser, opens index.html and every page of
_toc.yml at 1280 px and checks:

* no console error, no uncaught exception, no failed request, and no request
  for anything outside the local server (the book must work offline);
* on pages whose HTML contains math: MathJax has typeset it (`mjx-container`
  elements present) and no raw `\\(`, `\\[` or `$$` is left in the text;
* every <img> has loaded (naturalWidth > 0) and is shown at its own aspect ratio;
* the sidebar links to every page of _toc.yml;
* every chapter notebook has its Binder and Colab launch buttons;
* on every chapter page (and the "What reproduces" page): no code block or table overflows
  horizontally at 1280 px, and no paragraph at 390 px (:mod:`bookbuild.fit`);
* every internal link resolves (each URL fetched once, HTTP 200) and every
  `#anchor` exists as an id on its target page.

Screenshots of the opening page and of one chapter go to _build/screenshots/;
their paths, the number of pages checked and the time taken are printed.
Exit code 1 on any problem, with one line per problem.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag

from . import common
from .fit import WIDE, check_fit

SCREENSHOT_CHAPTER = "notebooks/00_the_problem"  # the chapter shown in the second screenshot
FIT_PAGES = ["book/what_reproduces"]  # measured for overflow besides the chapters (notebooks/)
# Chromium as the machines of this project run it: no sandbox (root in a container), no GPU,
# none of the background connections (updates, sync, QUIC) that a closed network refuses, and
# no host name resolved but the local server's (Chromium otherwise sends DNS queries of its own,
# which the offline proof of `make test` counts as attempts to reach the network).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-default-browser-check",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
MATH_IN_SOURCE = re.compile(r'class="[^"]*\bmath\b')  # how Sphinx marks math, inline and display
TIMEOUT_MS = 60_000


def say(msg: str) -> None:
    print(f"[browser] {msg}", flush=True)


def find_chromium() -> str | None:
    """The system Chromium: $ANISO_CHROMIUM, else Debian's /usr/bin/chromium, else one on PATH."""
    if os.environ.get("ANISO_CHROMIUM"):
        return os.environ["ANISO_CHROMIUM"]
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def ensure_chromium() -> None:
    """Install Debian's chromium with apt-get when no Chromium is found (needs root and the
    network)."""
    if find_chromium():
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        common.run(["apt-get", "update", "-q"], env=env)
        common.run(
            [
                "apt-get",
                "install",
                "-y",
                "-q",
                "--no-install-recommends",
                "chromium",
                "fonts-liberation",
            ],
            env=env,
        )
    else:
        sys.exit(
            "[book] the browser check needs Chromium: `sudo apt-get install chromium` "
            "(Debian/Ubuntu), or set ANISO_CHROMIUM to a Chromium or Chrome executable"
        )


def launch(pw):
    """Headless system Chromium, the way the browser check runs it."""
    chromium = find_chromium()
    if not chromium:
        sys.exit(
            "[browser] Chromium not found: `apt-get install chromium` (Debian/Ubuntu), "
            "or set ANISO_CHROMIUM to a Chromium or Chrome executable"
        )
    return pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)


# ----------------------------------------------------------------------------- the local server
class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # one line per request would drown the report
        pass


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


class Ids(HTMLParser):
    """The ids (and <a name>s) of a page: the targets of its #anchors."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key == "id" or (tag == "a" and key == "name"):
                self.ids.add(value or "")


def check_links(links: dict[str, set[str]], origin: str) -> tuple[list[str], int]:
    """Fetch each internal URL once; check each anchor against the ids of its page."""
    problems, ids = [], {}
    for url in sorted(links):
        try:  # the local server: never a real wait
            with urllib.request.urlopen(url, timeout=10) as resp:
                body = resp.read()
                status = resp.status
        except urllib.error.HTTPError as err:
            status, body = err.code, b""
        except OSError as err:
            status, body = f"{type(err).__name__}: {err}", b""
        if status != 200:
            problems.append(
                f"broken internal link: {url[len(origin) :]} ({status}), linked from "
                + ", ".join(sorted(links[url])[:3])
            )
            continue
        if url.endswith(".html") or url.endswith("/"):
            parser = Ids()
            parser.feed(body.decode("utf-8", errors="replace"))
            ids[url] = parser.ids
    anchors = 0
    for key in sorted(k for k in links if "#" in k):
        url, frag = urldefrag(key)
        if url in ids and frag:
            anchors += 1
            if unquote(frag) not in ids[url]:
                problems.append(
                    f"missing anchor: {key[len(origin) :]}, linked from "
                    + ", ".join(sorted(links[key])[:3])
                )
    return problems, anchors


# ----------------------------------------------------------------------------- one page
PAGE_FACTS = r"""async () => {
  const M = window.MathJax;
  if (M && M.startup && M.startup.promise) { await M.startup.promise; }
  const body = document.body.cloneNode(true);
  body.querySelectorAll('pre, code, script, style, textarea, mjx-container, .highlight')
    .forEach(e => e.remove());
  const text = body.textContent;
  const raw = ['\\(', '\\[', '$$'].filter(s => text.includes(s));
  return {
    mathjax: !!(M && M.startup),
    typeset: document.querySelectorAll('mjx-container').length,
    raw: raw.map(s => { const i = text.indexOf(s);
      return s + ' in "' + text.slice(Math.max(0, i - 30), i + 40).replace(/\s+/g, ' ') + '"'; }),
    images: Array.from(document.images).map(i => [i.getAttribute('src'), i.complete,
                                                  i.naturalWidth, i.naturalHeight,
                                                  i.clientWidth, i.clientHeight]),
    sidebar: Array.from(document.querySelectorAll(
      '#pst-primary-sidebar a[href], nav.bd-docs-nav a[href]')).map(a => a.href.split('#')[0]),
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    launch: Array.from(document.querySelectorAll('a[href]')).map(a => a.href)
      .filter(h => /mybinder\.org|colab\.research\.google\.com/.test(h)),
  };
}"""


def squashed(width: int, height: int, shown_w: int, shown_h: int) -> bool:
    """Whether an image is shown at another aspect ratio than its own (beyond 3%, the rounding
    of a small image to whole pixels); an image not laid out (0 px) is not judged."""
    if min(width, height, shown_w, shown_h) <= 0:
        return False
    return abs((shown_w / shown_h) / (width / height) - 1) > 0.03


def image_problems(name: str, images: list) -> list[str]:
    """Images that did not load, or are shown at another aspect ratio than their own."""
    problems = []
    for src, complete, width, height, shown_w, shown_h in images:
        if not complete or width == 0:
            problems.append(f"{name}: image not loaded: {src}")
        elif squashed(width, height, shown_w, shown_h):
            problems.append(
                f"{name}: image shown at {shown_w}x{shown_h} px, not at its aspect ratio "
                f"({width}x{height}): {src}"
            )
    return problems


def fits_checked(name: str) -> bool:
    """The pages measured for overflow: the chapters, and FIT_PAGES."""
    return name.startswith("notebooks/") or name in FIT_PAGES


def check_page(
    page,
    url: str,
    name: str,
    source: str,
    origin: str,
    root: str,
    toc: list[str],
    events: list[str],
    links: dict[str, set[str]],
) -> list[str]:
    events.clear()
    page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
    if name == "index":  # index.html redirects to the root page (meta refresh)
        page.wait_for_url(origin + root + ".html", timeout=TIMEOUT_MS)
    page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
    facts = page.evaluate(PAGE_FACTS)
    problems = [f"{name}: {e}" for e in events]
    if MATH_IN_SOURCE.search(source):
        if not facts["mathjax"]:
            problems.append(f"{name}: has math but MathJax did not start")
        elif facts["typeset"] == 0:
            problems.append(f"{name}: has math but MathJax typeset nothing (no mjx-container)")
    problems += [f"{name}: raw TeX left in the text: {r}" for r in facts["raw"]]
    problems += image_problems(name, facts["images"])
    in_sidebar = set(facts["sidebar"])
    for entry in [root] + toc:
        if origin + entry + ".html" not in in_sidebar:
            problems.append(f"{name}: the sidebar has no link to {entry}")
    if name.startswith("notebooks/"):
        for service in ("mybinder.org", "colab.research.google.com"):
            if not any(service in h for h in facts["launch"]):
                problems.append(f"{name}: no launch button for {service}")
    if fits_checked(name):
        problems += check_fit(page, name)
    for href in facts["links"]:
        if href.startswith(origin):
            links.setdefault(href, set()).add(name)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "html",
        nargs="?",
        type=Path,
        default=common.HTML,
        help=f"built HTML folder (default {common.HTML})",
    )
    parser.add_argument(
        "--toc", type=Path, default=None, help="_toc.yml (default: the one beside the HTML's stage)"
    )
    parser.add_argument("--screenshots", type=Path, default=common.SCREENSHOTS)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    html = args.html.resolve()
    toc_file = args.toc or (html.parent.parent / "_toc.yml")
    if not (html / "index.html").exists():
        sys.exit(f"[browser] no built book in {html}: run `python3 scripts/book.py build` first")
    from playwright.sync_api import sync_playwright

    root, toc = common.toc_pages(toc_file)
    pages = ["index"] + [root] + toc
    problems: list[str] = []
    links: dict[str, set[str]] = {}
    server, origin = serve(html)
    shots: list[Path] = []
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            context = browser.new_context(viewport=WIDE)
            events: list[str] = []

            def gatekeeper(route):  # nothing may leave the local server
                if route.request.url.startswith(origin) or route.request.url.startswith("data:"):
                    route.continue_()
                else:
                    events.append(f"request outside the book: {route.request.url}")
                    route.abort()

            context.route("**/*", gatekeeper)
            page = context.new_page()
            page.on(
                "console", lambda m: m.type == "error" and events.append(f"console error: {m.text}")
            )
            page.on("pageerror", lambda e: events.append(f"uncaught exception: {e}"))
            page.on(
                "requestfailed",
                lambda r: (
                    r.url.startswith(origin)
                    and events.append(f"request failed: {r.url[len(origin) :]} ({r.failure})")
                ),
            )
            page.on(
                "response",
                lambda r: (
                    r.status >= 400 and events.append(f"HTTP {r.status}: {r.url[len(origin) :]}")
                ),
            )
            for name in pages:
                file = html / f"{name}.html"
                if not file.exists():
                    problems.append(f"{name}: no {name}.html in the build")
                    continue
                source = file.read_text(encoding="utf-8")
                t0 = time.perf_counter()
                problems += check_page(
                    page, origin + f"{name}.html", name, source, origin, root, toc, events, links
                )
                say(f"{name}: {time.perf_counter() - t0:.1f} s")
                if name in ("index", SCREENSHOT_CHAPTER):
                    args.screenshots.mkdir(parents=True, exist_ok=True)
                    shot = args.screenshots / (
                        "opening_page.png" if name == "index" else f"{Path(name).name}.png"
                    )
                    page.screenshot(path=str(shot), full_page=False)
                    shots.append(shot)
            browser.close()
        link_problems, anchors = check_links(links, origin)
        problems += link_problems
    finally:
        server.shutdown()
    elapsed = time.perf_counter() - started
    for shot in shots:
        say(f"screenshot: {shot}")
    if problems:
        print(
            "\n".join(["[browser] browser check FAILED:"] + [f"  {p}" for p in problems]),
            file=sys.stderr,
        )
        say(f"{len(pages)} pages checked in {elapsed:.1f} s, {len(problems)} problems")
        return 1
    say(
        f"browser check passed: {len(pages)} pages checked in headless Chromium in {elapsed:.1f} s "
        "(no console error, math typeset, images loaded at their aspect ratio, sidebar complete, "
        "code and tables fit at 1280 px and prose at 390 px, "
        f"{len({urldefrag(u)[0] for u in links})} internal URLs and {anchors} anchors resolved)"
    )
    return 0


# ----------------------------------------------------------------------------- the command
def browser_check(html: Path | None = None) -> None:
    """`browser-check`: :func:`main` in a process of its own, with IPv6 off in the namespace of
    the offline proof (:func:`bookbuild.offline.ipv6_off`)."""
    from .offline import ipv6_off

    scripts = str(common.ROOT / "scripts")
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([scripts] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
    )
    with ipv6_off():
        rc = subprocess.run(
            [sys.executable, "-m", "bookbuild.browser", html or common.HTML],
            cwd=common.ROOT,
            env=env,
        ).returncode
    if rc != 0:
        sys.exit(f"[book] browser check failed (exit code {rc})")


if __name__ == "__main__":
    sys.exit(main())
