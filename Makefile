# The README's two commands, as make targets.
.PHONY: run test console
run:
	./run.sh
console:
	./run.sh console
test:
	./test.sh
