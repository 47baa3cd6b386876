# The two commands of the README. Everything is implemented in scripts/book.py.
PYTHON ?= python3

.PHONY: book test clean

book:  ## create/update .venv, execute every notebook (quick profile), build and check the HTML
	$(PYTHON) scripts/book.py book

test:  ## pytest + notebook execution + book build + HTML checks, with per-notebook times
	$(PYTHON) scripts/book.py test

clean:  ## remove build outputs (keeps .venv and node_modules)
	rm -rf _build _mathjax_build
