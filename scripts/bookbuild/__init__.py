"""The book's build machinery, one module per job; `scripts/book.py` is its entry point.

* :mod:`bookbuild.common`: paths, logging, running commands, reading _toc.yml;
* :mod:`bookbuild.env`: .venv, the Jupyter kernel, MathJax (`setup`);
* :mod:`bookbuild.execute`: staging, papermill, timings, determinism (`execute`), with
  :mod:`bookbuild.memory` measuring each chapter's peak memory;
* :mod:`bookbuild.pages`: the generated pages (chapters, timings, the "What reproduces" ledger);
* :mod:`bookbuild.build`: jupyter-book build of the stage, and the student edition (`build`);
* :mod:`bookbuild.checks`: the HTML check and the student edition check (`check-html`);
* :mod:`bookbuild.browser`: every page in headless Chromium (`browser-check`), with
  :mod:`bookbuild.fit` measuring horizontal overflow;
* :mod:`bookbuild.offline`: the network namespace and its packet count (`test`);
* :mod:`bookbuild.cli`: the commands.

Every module imports only the standard library at its top level, so that `scripts/book.py`
runs with a bare python3 >= 3.10 before .venv exists (it re-executes itself in .venv for
everything but `setup`); third-party imports (yaml, papermill, playwright, aniso) sit inside
the functions that need them.
"""
