"""The commands of scripts/book.py, behind `make book` and `make test`."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from . import common
from .browser import browser_check, ensure_chromium
from .build import build
from .checks import check_html_cmd, check_student_cmd
from .colab import sync as sync_colab
from .env import reexec_in_venv, setup
from .execute import determinism, execute, print_timings
from .jupyterlab import lab_check
from .knobs import knobs
from .memory import BINDER_MEMORY_MIB, memory_over_limit
from .offline import IN_NETNS, Ledger, enter_netns
from .portable import another_machine, fetch_standin_artifacts
from .runnable import write_runnable
from .smoke import smoke

COMMANDS = [
    "setup",
    "execute",
    "build",
    "check-html",
    "browser-check",
    "book",
    "test",
    "smoke",
    "determinism",
    "sync-colab",
    "runnable",
    "lab-check",
    "fetch-data",
    "another-machine",
    "knobs",
    "lint",
    "unit",
]
LINTED = ["src", "tests", "scripts", "notebooks"]  # ruff, configured in pyproject.toml
FORMATTED = ["src", "tests", "scripts"]  # ruff format (the notebooks' cells follow the prose)


def lint() -> None:
    """The design gates, the test command's first step and `make lint`: ruff check (style, imports,
    complexity: pyproject.toml [tool.ruff]), ruff format --check, and the import contracts
    (lint-imports: pyproject.toml [tool.importlinter])."""
    steps = [
        (["ruff", "check", *LINTED], "`.venv/bin/ruff check --fix` fixes most findings"),
        (["ruff", "format", "--check", *FORMATTED], "`.venv/bin/ruff format` formats them"),
    ]
    for args, hint in steps:
        rc = subprocess.run([sys.executable, "-m", *args], cwd=common.ROOT).returncode
        if rc != 0:
            sys.exit(f"[book] {' '.join(args)} failed (exit code {rc}); {hint}")
        common.say(f"{' '.join(args)}: clean")
    rc = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache", "--no-logo"],
        cwd=common.ROOT,
    ).returncode
    if rc != 0:
        sys.exit(
            f"[book] lint-imports failed (exit code {rc}): a module imports from a layer above "
            "it, or one chapter package from another (pyproject.toml [tool.importlinter])"
        )
    common.say("lint-imports: every import contract is kept")


def pytest(fast: bool = False) -> None:
    """pytest on tests/; ``fast`` (`make unit`): without the tests marked slow (notebook
    executions and builds)."""
    args = [sys.executable, "-m", "pytest", "tests", "-q"] + (["-m", "not slow"] if fast else [])
    rc = subprocess.run(args, cwd=common.ROOT).returncode
    if rc != 0:
        sys.exit(
            f"[book] pytest failed (exit code {rc}{', no tests collected' if rc == 5 else ''})"
        )


def fetch_data() -> None:
    """Fetch every data file the book reads that the data folder lacks (the network part of the
    set-up of `book` and `test`): ``python -m aniso.data.datadir fetch``."""
    from aniso.data.datadir import DataError, fetch_all, resolve_data_dir

    folder = resolve_data_dir()
    try:
        fetched = fetch_all(folder, timeout=30.0)
    except DataError as err:
        sys.exit(f"[book] the data could not be fetched: {err}")
    common.say(f"data: {folder}, every file checked (sha256), {len(fetched)} fetched")


def check_memory() -> None:
    """Fail when a chapter's peak memory (bookbuild.memory) is above Binder's limit."""
    timings = json.loads(common.TIMINGS.read_text()) if common.TIMINGS.exists() else {}
    over = memory_over_limit(timings)
    if over:
        common.fail(f"a chapter needs more than Binder's {BINDER_MEMORY_MIB} MiB:", over)


def main(argv: list[str] | None = None, doc: str | None = None) -> None:  # noqa: C901, PLR0912, PLR0915
    # one branch per command and per step of `test`, in the order they run: split, it would hide it
    parser = argparse.ArgumentParser(
        description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument(
        "--profile", default=os.environ.get("ANISO_PROFILE", "quick"), choices=["quick", "paper"]
    )
    parser.add_argument(
        "--only",
        metavar="NAME",
        help="execute (or lab-check) one notebook (path, file name or stem)",
    )
    parser.add_argument(
        "--student",
        action="store_true",
        help="build: the student edition, without solutions, into _build/student/_build/html",
    )
    args = parser.parse_args(argv)
    cmd = args.command
    needs_setup = cmd in ("book", "test", "smoke")
    if cmd == "setup" or (needs_setup and not os.environ.get("ANISO_BOOK_SETUP_DONE")):
        setup()
        if cmd == "setup":
            return
        os.environ["ANISO_BOOK_SETUP_DONE"] = "1"
    reexec_in_venv()
    if cmd in ("book", "test", "fetch-data") and not os.environ.get(IN_NETNS):
        fetch_data()  # before the namespace: the network part of the set-up
        if cmd == "fetch-data":
            return
    if cmd in ("test", "another-machine") and not os.environ.get(IN_NETNS):
        fetch_standin_artifacts()  # what the stand-in upstream hosts serve (PyPI, Debian)
    if cmd in ("test", "browser-check", "lab-check") and not os.environ.get(IN_NETNS):
        ensure_chromium()  # before the namespace: apt-get needs the network
    if cmd in ("test", "smoke") and not os.environ.get(IN_NETNS):
        enter_netns()  # does not return when the namespace is available
    started = time.perf_counter()
    if cmd == "smoke":
        smoke()
        return
    if cmd == "lint":
        lint()  # the inner loop: seconds
        return
    if cmd == "unit":
        pytest(fast=True)  # the inner loop: the tests that execute no notebook
        return
    if cmd == "sync-colab":
        sync_colab()
        return
    if cmd == "determinism":
        determinism()
        return
    if cmd == "runnable":
        write_runnable()  # the copies for Binder and Colab (bookbuild.runnable)
        return
    if cmd == "lab-check":
        lab_check(args.only)  # one chapter's runnable copy run in JupyterLab (bookbuild.jupyterlab)
        return
    if cmd == "another-machine":
        another_machine()  # portable kernels, data from stand-in hosts (bookbuild.portable)
        return
    if cmd == "knobs":
        knobs()  # other parameters, not strict, as a student runs a chapter (bookbuild.knobs)
        return
    ledger = Ledger()
    if cmd == "test":
        lint()
        ledger.mark("lint")
        pytest()
        ledger.mark("pytest")
    if cmd in ("execute", "book", "test"):
        execute(args.profile, args.only if cmd == "execute" else None)
        ledger.mark("notebook execution")
    if cmd == "test":
        check_memory()
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
        another_machine()  # portable kernels, data from stand-in hosts, an empty cache
        ledger.mark("another machine")
        knobs()  # other parameters, not strict
        ledger.mark("a student's parameters")
        write_runnable()
        lab_check(None)  # a chapter's runnable copy in JupyterLab, in Chromium
        ledger.mark("JupyterLab check")
        smoke()  # the paper profile's code paths with local stand-ins (bookbuild.smoke)
        ledger.mark("smoke run")
        ledger.report()
    if cmd in ("book", "test"):
        if cmd == "test":
            print_timings()
        say_done = f"done in {time.perf_counter() - started:.0f} s; "
        common.say(say_done + f"open file://{common.HTML / 'index.html'}")
