#!/usr/bin/env python3
"""Set up, execute, build and check the book: the entry point behind `make book` and `make test`
(see README.md). The work is done by the package scripts/bookbuild, one module per job.

    python3 scripts/book.py setup       # .venv, Jupyter kernel "aniso", MathJax (idempotent)
    python3 scripts/book.py fetch-data  # fetch the missing data files (pinned sources, sha256)
    python3 scripts/book.py execute [--profile quick|paper] [--only NAME]
    python3 scripts/book.py build [--student]  # jupyter-book build -W -n of the executed copies
    python3 scripts/book.py check-html  # no CDN, local MathJax, no missing image
    python3 scripts/book.py browser-check  # every page in headless Chromium (bookbuild.browser)
    python3 scripts/book.py book        # setup + fetch-data + execute + build + check-html
    python3 scripts/book.py test        # setup, fetch-data, then offline: ruff + pytest + execute
                                        #   + memory + build + check-html + determinism
                                        #   + student edition + browser-check + another-machine
                                        #   + knobs + runnable + lab-check + smoke
    python3 scripts/book.py smoke       # offline: every chapter, PROFILE="smoke"
    python3 scripts/book.py determinism # re-execute chapter 00 and compare its glued values
    python3 scripts/book.py another-machine  # chapters 1-3, A: portable kernels, data from
                                        #   stand-in upstream hosts, empty cache (portable)
    python3 scripts/book.py knobs       # chapters 1, 4 with other parameters, not strict
    python3 scripts/book.py runnable    # the runnable copies for Binder and Colab
    python3 scripts/book.py lab-check [--only NAME]  # a runnable copy run in JupyterLab

Notebooks are executed by papermill into a staged copy of the book (_build/stage), so the
notebooks in the repository stay without outputs; the book is then built from that copy with
`execute_notebooks: "off"`, after the generated pages (book/_chapters.md, book/_timings.md,
book/_ledger.md) are written into it. `build --student` builds the student edition, without the
solutions, into _build/student/_build/html.

`test` proves the book offline: after `setup` (the only step that needs the network: pip, npm,
apt-get for Chromium) it re-runs itself inside a new network namespace that has nothing but
loopback (`unshare -n`), and fails if any step after pytest tried to send a packet off the
machine. ANISO_NETNS=require (set by .ci/run) makes a machine without namespaces an error;
ANISO_NETNS=off skips the namespace; the default runs without it, with a warning, where
`unshare` is not permitted (a laptop without user namespaces, macOS).

Runs with any python3 >= 3.10 and only the standard library at the top level: every step but
`setup` re-executes itself inside .venv.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the package bookbuild, beside this file

from bookbuild.cli import main  # noqa: E402

if __name__ == "__main__":
    main(doc=__doc__)
