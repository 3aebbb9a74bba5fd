# The two commands of README.md. Both set up .venv/ first when needed.
.PHONY: demo test

.venv/.installed: pyproject.toml scripts/setup.sh $(wildcard rubrics/*.toml)
	scripts/setup.sh

# Grade the sample submissions of every assignment; reports go to out/.
demo: .venv/.installed
	.venv/bin/grader grade submissions/binary-addition --assignment binary-addition --out out/binary-addition
	.venv/bin/grader grade submissions/practica1 --assignment practica1 --out out/practica1

# Lint (ruff, configured in pyproject.toml), then run the test suite.
test: .venv/.installed
	.venv/bin/ruff check .
	.venv/bin/python -m pytest
