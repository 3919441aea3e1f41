# The README's two commands, as make targets.
.PHONY: run test console
run:
	./run.sh
console:
	./run.sh console
test:
	./test.sh

# Benchmarks (never part of `make test`): every figure a ratio to a baseline measured in the
# same run; writes bench/results.json. bench-quick is a smoke check (small, about a minute
# and a half on 2 cores) that writes bench/results-quick.json instead.
.PHONY: bench bench-quick
bench:
	.venv/bin/python -m bench.run_all
bench-quick:
	.venv/bin/python -m bench.run_all --quick
