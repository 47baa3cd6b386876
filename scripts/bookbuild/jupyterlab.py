"""The JupyterLab check (`lab-check`): run one chapter's runnable copy in JupyterLab, the way a
reader on Binder does, in headless Chromium, and check what the reader sees.

    python3 scripts/book.py lab-check [--only A_stand_in_bert]   # after `execute`

The runnable copy of the chapter (:mod:`bookbuild.runnable`; default LAB_CHAPTER) is written
into a temporary folder, and JupyterLab (`jupyter lab` from .venv) serves that folder on
127.0.0.1 with a known token and ``window.jupyterapp`` exposed. Everything Jupyter reads or
writes (configuration, data, runtime, settings, workspaces) lives in the temporary folder:

* the kernel spec ``python3`` ("Python 3", what the copy asks for, as on Binder and Colab) is
  .venv's Python, in a JUPYTER_PATH of its own;
* nothing reaches for the internet: no news feed (``LabApp.news_url=None``, setting
  ``fetchNews: "false"``), no update check (``NeverCheckForUpdate``, ``checkForUpdates: false``),
  a read-only extension manager that never asks PyPI (``LabApp.extension_manager=readonly``,
  the panel disabled); and Chromium resolves no host but 127.0.0.1 (browser.CHROMIUM_ARGS),
  and every request off the server is aborted and reported;
* ANISO_DATA_DIR and ANISO_CACHE_DIR reach the kernel (the cache defaults to _build/cache, as
  for `execute`); all cells are attached to the page (``windowingMode: "none"``).

Chromium opens the notebook, runs all cells, waits until every code cell has run (or one
failed) and the kernel is idle, and checks: (a) no MyST markup in the text of any rendered
markdown cell; (b) no error output, and no ClaimWarning or BookkeepingWarning (aniso.book: what a
claim the numbers no longer support, or an error in a hidden cell, becomes in a reader's run,
which is not ANISO_STRICT; other stderr, e.g. a library's warning, is fine); (c) the figures
render: every <img> of the outputs has loaded, no cell shows the same image twice, and there are
at least as many as the chapter has figures. A screenshot goes to
_build/screenshots/jupyterlab.png. Exit code 1 on any problem, one line per problem.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from . import common

LAB_CHAPTER = "notebooks/00_the_problem.ipynb"  # short (about 40 s), one figure, glued numbers
RUN_TIMEOUT_S = 1200
START_TIMEOUT_S = 90
LAB_OPTIONS = [
    "--no-browser",
    "--ServerApp.ip=127.0.0.1",
    "--ServerApp.port_retries=0",
    "--LabApp.expose_app_in_browser=True",
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
]
SETTINGS = {  # user settings of JupyterLab 4 (JUPYTERLAB_SETTINGS_DIR)
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False, "disclaimed": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}
# what must not show in the text of a rendered markdown cell (MyST that was not converted)
RAW_MARKUP = re.compile(
    r"\{(glue|cite|numref|ref|doc|term|eq|math|abbr|download|exercise|solution|admonition"
    r"|literalinclude|bibliography|figure|note|warning|tip|important)\b[^}]*\}"
    r"|```\{|:::\{|^\s*\([\w.-]+\)=\s*$|^:(class|label|name|pyobject|filter|labelprefix):",
    re.M,
)

PANEL = """(name) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.content && w.context.path && w.context.path.endsWith(name)) return w;
  }
  return null;
}"""
READY = f"""(name) => {{
  const p = ({PANEL})(name);
  return !!(p && p.context.isReady && p.sessionContext.session && p.sessionContext.session.kernel
            && p.sessionContext.session.kernel.status === 'idle' && p.content.widgets.length > 0);
}}"""
RUN_ALL = f"""(name) => {{
  const p = ({PANEL})(name);
  window.jupyterapp.shell.activateById(p.id);
  window.jupyterapp.commands.execute('notebook:run-all-cells');
  return true;
}}"""
STATE = f"""(name) => {{
  const p = ({PANEL})(name);
  const cells = Array.from(p.content.model.cells).filter(c => c.type === 'code');
  const prompts = Array.from(p.node.querySelectorAll('.jp-InputPrompt')).map(e => e.textContent);
  const kernel = p.sessionContext.session && p.sessionContext.session.kernel;
  return {{
    kernel: kernel ? kernel.status : 'none',
    code: cells.length,
    ran: cells.filter(c => c.executionCount !== null).length,
    errors: cells.filter(c => c.outputs.toJSON().some(o => o.output_type === 'error')).length,
    busy: prompts.some(t => t.includes('*')),
  }};
}}"""
KERNEL = f"""async (name) => {{
  const k = ({PANEL})(name).sessionContext.session.kernel;
  let out = '';
  const future = k.requestExecute({{code: 'import sys; print(sys.executable)',
                                    store_history: false}});
  future.onIOPub = msg => {{ if (msg.header.msg_type === 'stream') out += msg.content.text; }};
  await future.done;
  return {{name: k.name, executable: out.trim()}};
}}"""
RENDER = f"""(name) => {{
  const p = ({PANEL})(name);
  let n = 0;
  for (const w of p.content.widgets) {{
    if (w.model.type === 'markdown') {{ w.rendered = true; n += 1; }}
  }}
  return n;
}}"""
TOP = f"""(name) => {{
  const p = ({PANEL})(name);
  p.content.activeCellIndex = 0;
  p.node.querySelectorAll('.jp-WindowedPanel-outer').forEach(e => {{ e.scrollTop = 0; }});
}}"""
FACTS = f"""async (name) => {{
  const p = ({PANEL})(name);
  const M = window.MathJax;
  if (M && M.startup && M.startup.promise) {{ await M.startup.promise; }}
  const markdown = Array.from(p.node.querySelectorAll('.jp-MarkdownOutput')).map(el => {{
    const copy = el.cloneNode(true);
    const leftover = Array.from(copy.querySelectorAll('code[class*="language-{{"]'))
      .map(c => c.className);
    copy.querySelectorAll('mjx-container, .MathJax, script, style, code, pre')
      .forEach(e => e.remove());
    return {{text: copy.innerText || copy.textContent, leftover}};
  }});
  const errors = [], images = [];
  p.content.widgets.forEach((w, n) => {{
    if (w.model.type !== 'code') return;
    w.model.outputs.toJSON().forEach(o => {{
      const count = w.model.executionCount;
      if (o.output_type === 'error') errors.push([n + 1, count, o.ename, o.evalue]);
      const text = o.output_type === 'stream' ? [].concat(o.text).join('') : '';
      const warned = text.match(/(ClaimWarning|BookkeepingWarning): (.*)/);
      if (warned) errors.push([n + 1, count, warned[1], warned[2]]);
    }});
    const seen = new Set();
    w.node.querySelectorAll('.jp-OutputArea-output img').forEach(i => {{
      const src = i.getAttribute('src') || '';
      images.push([i.complete, i.naturalWidth, src.slice(0, 40), n + 1, seen.has(src)]);
      seen.add(src);
    }});
  }});
  return {{markdown, errors, images, cells: p.content.widgets.length,
           markdownCells: p.content.widgets.filter(w => w.model.type === 'markdown').length}};
}}"""


def say(msg: str) -> None:
    print(f"[lab] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(tmp: Path, chapter: str) -> tuple[Path, dict]:
    """The runnable copy, the kernel spec, JupyterLab's settings and the environment of the
    server, all under `tmp`."""
    from .runnable import runnable_copy

    executed = common.STAGE / chapter
    copy = tmp / "work" / chapter
    runnable_copy(executed, copy)
    share = tmp / "share" / "jupyter"
    spec = share / "kernels" / "python3"
    spec.mkdir(parents=True)
    python = common.VENV_PY if common.VENV_PY.exists() else Path(sys.executable)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3",
                "language": "python",
                "metadata": {"debugger": True},
            },
            indent=1,
        )
    )
    settings = tmp / "lab-settings"
    for plugin, values in SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=1))
    env = dict(
        os.environ,
        JUPYTER_PATH=str(share),
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        IPYTHONDIR=str(tmp / "ipython"),
        ANISO_CACHE_DIR=os.environ.get("ANISO_CACHE_DIR") or str(common.BUILD / "cache"),
    )
    env.pop("JUPYTER_PREFER_ENV_PATH", None)
    env.pop("ANISO_STRICT", None)  # a reader's run: a failed claim warns (and the check fails)
    if not env.get("ANISO_DATA_DIR"):
        say("ANISO_DATA_DIR is not set: the chapter downloads its data (sha256-checked) or fails")
    return copy, env


def start_lab(tmp: Path, env: dict, token: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    lab = common.VENV / "bin" / "jupyter-lab"
    cmd = [str(lab) if lab.exists() else shutil.which("jupyter-lab") or "jupyter-lab"]
    cmd += LAB_OPTIONS + [
        f"--ServerApp.port={port}",
        f"--ServerApp.root_dir={tmp / 'work'}",
        f"--IdentityProvider.token={token}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI machines run as root; Binder does not
    log = open(tmp / "lab.log", "w")  # noqa: SIM115 (closed with the process)
    server = subprocess.Popen(cmd, env=env, cwd=tmp / "work", stdout=log, stderr=subprocess.STDOUT)
    origin = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{origin}/api/status?token={token}", timeout=5) as r:
                if r.status == 200:
                    return server, origin
        except OSError:
            time.sleep(0.5)
    why = f"exited ({server.returncode})" if server.poll() is not None else "timed out"
    stop_lab(server)
    tail = (tmp / "lab.log").read_text(errors="replace")[-3000:]
    sys.exit(f"[lab] JupyterLab did not start ({why}, {START_TIMEOUT_S} s at most):\n{tail}")


def stop_lab(server: subprocess.Popen) -> None:
    """SIGTERM: jupyter-server shuts its kernels down and exits."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def markup_problems(markdown: list[dict]) -> list[str]:
    problems = []
    for i, cell in enumerate(markdown, 1):
        for m in RAW_MARKUP.finditer(cell["text"]):
            around = cell["text"][max(0, m.start() - 30) : m.end() + 30].replace("\n", " ")
            problems.append(f"markdown cell {i}: raw MyST markup {m.group(0)!r} in '{around}'")
        if "$$" in cell["text"]:
            problems.append(f"markdown cell {i}: display math left untypeset ($$)")
        problems += [
            f"markdown cell {i}: a directive shown as code ({c})" for c in cell["leftover"]
        ]
    return problems


def figure_problems(images: list, expected: int) -> list[str]:
    """`images`: [loaded, naturalWidth, start of src, cell, same src as an earlier image of the
    cell] for every <img> of the outputs; `expected`: the chapter's figures."""
    problems = [
        f"cell {cell}: image not loaded: {src}..."
        for done, width, src, cell, _ in images
        if not done or not width
    ]
    problems += [
        f"cell {cell}: shows the same image twice (displayed, and shown again by the inline "
        f"backend?)"
        for _, _, _, cell, again in images
        if again
    ]
    if not images:
        problems.append(f"no image in any output (the chapter has {expected} figures)")
    elif len(images) < expected:
        problems.append(
            f"{len(images)} images in the outputs, but the chapter has {expected} figures "
            f"(each figure must be displayed by the cell that makes it)"
        )
    return problems


def run_notebook(page, origin: str, token: str, name: str, timeout_s: int) -> tuple[dict, float]:
    """Open the notebook, run all cells, wait for the end; (the last state, seconds)."""
    page.goto(f"{origin}/lab/tree/notebooks/{name}?token={token}", wait_until="load")
    page.wait_for_function(READY, arg=name, timeout=START_TIMEOUT_S * 1000, polling=500)
    started = time.monotonic()
    page.evaluate(RUN_ALL, name)
    state, settled = {}, 0
    while time.monotonic() - started < timeout_s:
        time.sleep(2)
        state = page.evaluate(STATE, name)
        finished = state["ran"] == state["code"] or state["errors"] > 0
        settled = settled + 1 if finished and state["kernel"] == "idle" and not state["busy"] else 0
        if settled >= 2:  # idle twice in a row: nothing queued behind
            break
    return state, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0915  (argument parsing, then one check after another)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chapter", default=LAB_CHAPTER, help=f"default {LAB_CHAPTER}")
    parser.add_argument("--timeout", type=int, default=RUN_TIMEOUT_S, help="seconds for the run")
    parser.add_argument("--screenshot", type=Path, default=common.SCREENSHOTS / "jupyterlab.png")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from .browser import launch
    from .execute import unexecuted
    from .fit import WIDE

    if unexecuted(common.STAGE, [args.chapter]):
        sys.exit(f"[lab] {args.chapter} is not executed in {common.STAGE}: run `execute` first")
    name, token, problems = Path(args.chapter).name, secrets.token_hex(16), []
    with tempfile.TemporaryDirectory(prefix="aniso-lab-") as folder:
        tmp = Path(folder)
        copy, env = prepare(tmp, args.chapter)
        expected = json.loads(copy.read_text())["metadata"]["aniso"]["figures"]
        server, origin = start_lab(tmp, env, token)
        say(f"JupyterLab on {origin}, serving the runnable copy of {args.chapter}")
        outside: list[str] = []
        try:
            with sync_playwright() as pw:
                browser = launch(pw)
                context = browser.new_context(viewport=WIDE)

                def gatekeeper(route):  # nothing may leave the local server
                    url = route.request.url
                    if url.startswith((origin, "data:", "blob:")):
                        route.continue_()
                    else:
                        outside.append(url)
                        route.abort()

                context.route("**/*", gatekeeper)
                page = context.new_page()
                state, secs = run_notebook(page, origin, token, name, args.timeout)
                kernel = page.evaluate(KERNEL, name)
                rendered = page.evaluate(RENDER, name)
                page.wait_for_timeout(1500)  # markdown and MathJax render asynchronously
                facts = page.evaluate(FACTS, name)
                if facts["images"]:  # the screenshot shows the first figure, else the top
                    page.locator(".jp-OutputArea-output img").first.scroll_into_view_if_needed()
                else:
                    page.evaluate(TOP, name)
                args.screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.screenshot))
                browser.close()
        finally:
            stop_lab(server)
            log = (tmp / "lab.log").read_text(errors="replace")
    if state.get("ran") != state.get("code") and not facts["errors"]:
        problems.append(
            f"not finished in {args.timeout} s: {state.get('ran')} of {state.get('code')} code "
            f"cells ran (kernel {state.get('kernel')})"
        )
    if kernel["name"] != "python3" or not kernel["executable"].startswith(str(common.VENV)):
        problems.append(f"kernel {kernel['name']} runs {kernel['executable']}, not .venv's python3")
    if len(facts["markdown"]) != facts["markdownCells"] or rendered != facts["markdownCells"]:
        problems.append(
            f"{len(facts['markdown'])} of {facts['markdownCells']} markdown cells rendered"
        )
    problems += markup_problems(facts["markdown"])
    problems += [f"cell {i} [{n}]: {name}: {value[:200]}" for i, n, name, value in facts["errors"]]
    problems += figure_problems(facts["images"], expected)
    problems += [f"request outside the server: {url}" for url in sorted(set(outside))]
    problems += [
        f"JupyterLab tried the network: {line.strip()[:160]}"
        for line in log.splitlines()
        if re.search(r"Failed to (get announcements|check for update)|pypi\.org", line)
    ]
    say(
        f"{args.chapter}: {state.get('ran')} of {state.get('code')} code cells ran in {secs:.0f} s "
        f"(kernel {kernel['name']}: {kernel['executable']}); {facts['markdownCells']} markdown "
        f"cells rendered; {len(facts['images'])} images in the outputs ({expected} figures in the "
        f"chapter); {len(facts['errors'])} errors; {len(set(outside))} requests off the server"
    )
    say(f"screenshot: {args.screenshot}")
    if problems:
        print(
            "\n".join(["[lab] JupyterLab check FAILED:"] + [f"  {p}" for p in problems]),
            file=sys.stderr,
        )
        return 1
    say("JupyterLab check passed")
    return 0


def lab_check(chapter: str | None = None) -> None:
    """`lab-check [--only NAME]`: :func:`main` on one chapter (default LAB_CHAPTER)."""
    argv = []
    if chapter:
        found = [
            nb for nb in common.toc_notebooks() if chapter in (nb, Path(nb).name, Path(nb).stem)
        ]
        if not found:
            sys.exit(f"[book] --only {chapter}: no such notebook in _toc.yml")
        argv = ["--chapter", found[0]]
    from .offline import ipv6_off

    with ipv6_off():  # Chromium's IPv6 probes (bookbuild.offline.ipv6_off)
        rc = main(argv)
    if rc != 0:
        sys.exit("[book] JupyterLab check failed")
