# vcli: the two set-up commands are `make run` and `make test`.
# Everything else here is a building block of those two.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
MAKEFLAGS  += --no-print-directory

.PHONY: all deps build asan fuzz-build fuzz run test test-release test-asan test-valgrind bench profile clean

all: build

deps:
	@./scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DVCLI_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

# The libFuzzer targets (docs/fuzzing.md): clang, ASan + UBSan, a tree of
# their own.  `make fuzz` runs each for FUZZ_SECONDS (default 60); what they
# find is kept in $(FUZZ_BUILD)/crashes/<target>/.
fuzz-build: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DVCLI_FUZZ=ON -DVCLI_TESTS=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets

fuzz: fuzz-build
	@./scripts/fuzz.sh $(FUZZ_BUILD)

# Starts governd on loopback and shows vcli talking to it.
run: build
	@./scripts/run-demo.sh $(BUILD)/bin

# Every test: release build (includes the valgrind interop run), then the
# whole suite again under ASan + UBSan.
test: build asan
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -LE valgrind

test-release: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: asan
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -LE valgrind

bench: build
	@./bench/h2load-health.sh $(BUILD)/bin
	@echo
	@./bench/governance.sh $(BUILD)/bin
	@echo
	@$(BUILD)/bin/store_bench
	@echo
	@./bench/k8s-get.sh $(BUILD)/bin

# Where governd spends its time under a standard load (docs/performance.md).
profile: build
	@./scripts/install-deps.sh --profile
	@./bench/profile.sh $(BUILD)/bin

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
