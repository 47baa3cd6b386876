# The two commands of the README, implemented in scripts/book.py (package scripts/bookbuild).
PYTHON ?= python3

.PHONY: book test lint unit smoke student clean

book:  ## create/update .venv, execute every notebook (quick profile), build and check the HTML
	$(PYTHON) scripts/book.py book

test:  ## ruff, pytest, execution, build, HTML, determinism, student edition, browser check, smoke run; offline
	$(PYTHON) scripts/book.py test

lint:  ## the inner loop, seconds: ruff check, ruff format --check, lint-imports (the package's layers)
	$(PYTHON) scripts/book.py lint

unit:  ## the inner loop, minutes: pytest without the tests that execute notebooks or build the book
	$(PYTHON) scripts/book.py unit

smoke:  ## every chapter with PROFILE="smoke": the paper profile's code, local stand-ins, a few steps; offline
	$(PYTHON) scripts/book.py smoke

student:  ## the student edition (no solutions) from the chapters executed by `make book`
	$(PYTHON) scripts/book.py build --student

clean:  ## remove build outputs (keeps .venv and node_modules)
	rm -rf _build _mathjax_build
