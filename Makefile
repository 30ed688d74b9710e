# The two commands of the README.  Both do all set-up on a fresh Debian machine.
.PHONY: run test lint bench

run:
	bash scripts/setup.sh app
	YITU_SESSION_COOKIE_SECURE=false \
	YITU_RATELIMIT_STORAGE_URI=$${YITU_RATELIMIT_STORAGE_URI:-redis://127.0.0.1:6379/0} \
	.venv/bin/yitu serve --host 127.0.0.1 --port 5000

test:
	bash scripts/setup.sh test
	$(MAKE) --no-print-directory lint
	.venv/bin/pytest -n 2

# The same checks as the pre-commit hooks (.pre-commit-config.yaml); `make test` runs them first.
lint:
	.venv/bin/ruff check geo web scripts tests
	.venv/bin/ruff format --check geo web scripts tests
	.venv/bin/mypy --strict geo
	.venv/bin/lint-imports --no-cache

bench:
	.venv/bin/python tests/benchmarks/bench_import.py
	.venv/bin/python tests/benchmarks/bench_nearest.py
	.venv/bin/python tests/benchmarks/bench_coverage.py
	.venv/bin/python tests/benchmarks/bench_siting.py --quick
