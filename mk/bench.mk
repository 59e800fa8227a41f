# Benchmarks: every step's start-up beside unshare(1), bubblewrap, runc and
# crun; docs/benchmarks.md and docs/benchmarks.svg; then the regression guard.
#
#   sudo make bench                      the full run (a few minutes)
#   sudo make bench BENCH_ARGS=--suites  also time make test and make check

.PHONY: bench deps-bench

BENCH_DEPS := hyperfine bubblewrap runc crun
BENCH_ARGS ?=

deps-bench: deps
	$(Q)tools/deps.sh $(BENCH_DEPS)

bench: deps-bench
	$(Q)$(MAKE) -s --no-print-directory all
	$(Q)$(PYTHON) bench/run.py $(BENCH_ARGS)
	$(Q)cd bench && $(PYTEST) -q test_regression.py
