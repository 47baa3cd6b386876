# The two commands of the README, implemented in scripts/book.py (package scripts/bookbuild).
PYTHON ?= python3

.PHONY: book test student clean

book:  ## create/update .venv, execute every notebook (quick profile), build and check the HTML
	$(PYTHON) scripts/book.py book

test:  ## ruff, pytest, execution, build, HTML, determinism, student edition and browser checks, offline
	$(PYTHON) scripts/book.py test

student:  ## the student edition (no solutions) from the chapters executed by `make book`
	$(PYTHON) scripts/book.py build --student

clean:  ## remove build outputs (keeps .venv and node_modules)
	rm -rf _build _mathjax_build
