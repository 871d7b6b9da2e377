# Shortcuts for the two commands of the README (which need only Python).
.PHONY: run test lint

run:
	python3 dev.py run

test:
	python3 dev.py test

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
