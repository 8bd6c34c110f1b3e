# Gale developer and CI entry points. Needs `swift` on PATH; everything else is installed
# by scripts/bootstrap (Debian packages, librdkafka from source, the Tansu broker).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

SERVICES_ENV := $(or $(GALE_SERVICES_DIR),.services)/env
# Extra arguments for both `swift test` runs, e.g. make test SWIFT_TEST_FLAGS='--filter Kafka'
SWIFT_TEST_FLAGS ?=

.PHONY: bootstrap demo test bench services-start services-stop clean distclean

bootstrap:
	scripts/bootstrap

demo: bootstrap
	swift run -c release wordcount local --seconds 10

# Starts ZooKeeper and Kafka (Tansu) on free loopback ports, runs every test with
# GALE_ZOOKEEPER / GALE_KAFKA exported, and stops the services whatever happened;
# the exit status is that of the first failing step. Unit tests run in parallel; the
# integration tests (real processes, brokers, clusters) run one at a time after them, so that
# their waits never starve the unit tests' timing-sensitive tasks of the 2-core machine's
# cooperative threads. The tests' files (cluster directories, logs) go to a new TMPDIR under
# /tmp (searchable by others: as root, the tests' supervisors run their workers as nobody),
# removed when every test passed; after a failure it keeps only the logs and small files, and
# its path is printed.
test: bootstrap
	export TMPDIR="$$(mktemp -d /tmp/gale-tests.XXXXXX)"; \
	chmod 755 "$$TMPDIR"; \
	trap 'status=$$?; scripts/services stop; \
		if [[ $$status == 0 ]]; then rm -rf "$$TMPDIR"; \
		else find "$$TMPDIR" -type f -size +1M ! -name "*.log" -delete; \
			echo "make test: logs of the failed run are in $$TMPDIR" >&2; fi' EXIT; \
	scripts/services start all; \
	set -a; source "$(SERVICES_ENV)"; set +a; \
	swift build --build-tests; \
	swift test --skip-build --skip IntegrationTests $(SWIFT_TEST_FLAGS); \
	swift test --skip-build --filter IntegrationTests --no-parallel $(SWIFT_TEST_FLAGS)

# Runs every benchmark three times (gale-bench, gale-status-bench, gale-trident-bench,
# scripts/kafka-bench with its raw kcat baseline) and writes the medians with min-max, the
# machine and the commit into docs/benchmarks.md (scripts/bench-report; BENCH_FLAGS='--only
# runtime,status' for some of them, '--dry-run' to print instead of writing).
BENCH_FLAGS ?=
bench: bootstrap
	scripts/bench-report $(BENCH_FLAGS)

services-start:
	scripts/services start all

services-stop:
	scripts/services stop

# Stops the services and removes build products and service state; keeps .deps/ (downloads).
clean: services-stop
	rm -rf .build .build-* .services

# clean, plus the downloaded and built dependencies cache (.deps/). Installed system
# packages and /usr/local/lib/librdkafka stay.
distclean: clean
	rm -rf .deps
