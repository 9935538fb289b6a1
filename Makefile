# ArxOS. The two commands: `make run` and `make test`. Everything else is a piece of those.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help run test deps install test-unit test-pg test-regress test-e2e test-schema test-stress bench clean

help:
	@echo "make run    install what is missing, start PostgreSQL 15 under .arxos/ and serve on 127.0.0.1:3000"
	@echo "make test   unit tests, #[pg_test], pg_regress golden suite, end-to-end tests, schemathesis, ledger stress test"
	@echo "make bench  benchmarks (figures go to docs/benchmarks.md)"

run:
	@bash scripts/run.sh

deps:
	@bash scripts/deps.sh

install: deps
	@bash scripts/install-ext.sh

test: deps
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-pg
	@$(MAKE) --no-print-directory install
	@$(MAKE) --no-print-directory test-regress
	@$(MAKE) --no-print-directory test-e2e
	@$(MAKE) --no-print-directory test-schema
	@$(MAKE) --no-print-directory test-stress

test-unit:
	cargo test -p arxos_core -p arxos_http -p arxos_bench_realtime

test-pg:
	bash scripts/pgrx_test.sh

test-regress:
	bash scripts/pg_regress.sh

test-e2e:
	bash scripts/e2e.sh

test-schema:
	bash scripts/schemathesis.sh

test-stress:
	bash scripts/market_stress.sh 60

# The API, real-time, import, readings and instruction-count benchmarks write fragments to bench/results/;
# scripts/bench.sh runs last and renders docs/benchmarks.md with them.
bench:
	DEPS_EXTRA="wrk valgrind" bash scripts/deps.sh
	bash scripts/install-ext.sh --release
	bash bench/api.sh
	bash bench/realtime.sh
	bash bench/import.sh
	bash bench/readings.sh
	bash bench/instructions.sh
	BENCH_SKIP_INSTALL=1 bash scripts/bench.sh

clean:
	cargo clean
	rm -rf pg_regress/results pg_regress/regression.* pg_regress/isolation/results pg_regress/isolation/regression.*
