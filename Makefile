# make demo: install what is missing, build, render the example scene on a local network.
# make test: install what is missing, build, run the whole suite (what CI runs), cheapest checks first: lint, the
#            tests of the normal build, test-sanitize, test-tsan.
# make lint: the format check (clang-format 14, no diff), no source file over 600 lines, clang-tidy-16 over the
#            whole tree (quiet: any warning fails). Needs the normal build's compile_commands.json (configure).
# make test-sanitize: an ASan+UBSan build with clang-16 (build-asan/): its unit tests, the integration tests that
#            exercise the most of Inferix's own code, and each libFuzzer target for FUZZ_SECONDS.
# make test-tsan: a ThreadSanitizer build with clang-16 (build-tsan/): its unit tests and the integration tests that
#            start the real manager and exercise its threads (TSAN_INTEGRATION).
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_SECONDS ?= 30
# The integration tests run again under the sanitizers: those whose time goes to Inferix rather than to Blender.
ASAN_INTEGRATION ?= integration_test_(bad_input|cancel|dashboard|events|faults|openapi|sandbox|session|skeleton|tls)
# Under ThreadSanitizer: fast tests that start the real manager, its HTTP threads, long polls, event streams and
# sessions, and cancel work in flight.
TSAN_INTEGRATION ?= integration_test_(cancel|events|session|skeleton)
# The unit tests under ThreadSanitizer: the modules with threads, locks, atomics or a connection pool. Left out:
# domain, blend and image: pure, single-threaded code (parsers, pixels) whose errors the ASan build looks for.
TSAN_UNIT_MODULES ?= core;net;store;blob;render;agent;manager;worker;verifier;client
JOBS ?= 2
# Tests run this many at a time (ctest -j). Most integration tests spend their time waiting on the network they
# start (long polls, leases, restarts, Blender starting), not on the CPU, so two at a time on CI's 2 cores cut
# test-main by about a third; the fuzz targets, one core each, run two at a time (docs/testing.md, "CI").
TEST_JOBS ?= 2
# The sanitizer builds leave out the bench tools (bench/), which their stages do not run, and compile the test
# files themselves at -O0; the code under test keeps -O1 (CMakeLists.txt, INFERIX_TEST_CXX_FLAGS, says why).
SANITIZER_OPTIONS := -DINFERIX_BENCH=OFF -DINFERIX_TEST_CXX_FLAGS=-O0
# Debug information of the normal build: full (-g, CMake's RelWithDebInfo) for people at a debugger; CI passes
# DEBUG_INFO=-g1 (.ci/run): functions and line tables, enough for a backtrace, the same code, and about a tenth
# less compile time.
DEBUG_INFO ?= -g
INFERIX := $(BUILD)/apps/inferix/inferix
DEMO_OUT ?= demo-out

.PHONY: all deps configure build test test-main test-sanitize configure-sanitize test-tsan configure-tsan unit demo \
	addon package format lint check-format check-file-size check-tidy clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 $(DEBUG_INFO) -DNDEBUG" \
		>/dev/null

build: configure
	@ninja -C $(BUILD) -j$(JOBS)

# In this order, one after the other even under make -j: each step costs more than the one before.
test: deps
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-main
	@$(MAKE) --no-print-directory test-sanitize
	@$(MAKE) --no-print-directory test-tsan

lint: check-format check-file-size check-tidy

check-format:
	@bash scripts/check-format.sh

check-file-size:
	@bash scripts/check-file-size.sh

check-tidy: configure
	@bash scripts/check-tidy.sh $(BUILD)

test-main: build
	@cd $(BUILD) && ctest --output-on-failure --timeout 1500 -j$(TEST_JOBS)

configure-sanitize: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		"-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" -DINFERIX_SANITIZE=ON -DINFERIX_FUZZ=ON \
		-DINFERIX_FUZZ_SECONDS=$(FUZZ_SECONDS) $(SANITIZER_OPTIONS) >/dev/null

test-sanitize: configure-sanitize
	@ninja -C $(ASAN_BUILD) -j$(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure --timeout 1500 -j$(TEST_JOBS) -L 'unit|fuzz'
	@cd $(ASAN_BUILD) && ctest --output-on-failure --timeout 1500 -j$(TEST_JOBS) -R '$(ASAN_INTEGRATION)'

configure-tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		"-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" -DINFERIX_TSAN=ON $(SANITIZER_OPTIONS) \
		"-DINFERIX_UNIT_MODULES=$(TSAN_UNIT_MODULES)" >/dev/null

test-tsan: configure-tsan
	@ninja -C $(TSAN_BUILD) -j$(JOBS)
	@TSAN_INTEGRATION='$(TSAN_INTEGRATION)' TEST_JOBS=$(TEST_JOBS) bash scripts/check-tsan.sh $(TSAN_BUILD)

unit: build
	@cd $(BUILD) && ctest --output-on-failure -L unit

$(BUILD)/demo/example.blend: examples/make_scene.py | build
	@mkdir -p $(BUILD)/demo
	@blender -b --factory-startup -noaudio --python-exit-code 1 --python examples/make_scene.py -- $@ --width 480 --height 270 \
		--samples 24 --frames 24 >$(BUILD)/demo/make_scene.log 2>&1 || (cat $(BUILD)/demo/make_scene.log; exit 1)

demo: build $(BUILD)/demo/example.blend
	@$(INFERIX) render $(BUILD)/demo/example.blend --frames 1-24 -o $(DEMO_OUT) --workers 2
	@echo "frames in $(DEMO_OUT)/"

# The Blender add-on as a zip for Edit > Preferences > Add-ons > Install (docs/addon.md).
addon:
	@python3 scripts/build_addon.py $(BUILD)/inferix-addon.zip

# The Debian package build/inferix_VERSION_ARCH.deb: the binary, the systemd units, the add-on zip and the docs
# (docs/packaging.md; install it with `apt install ./build/inferix_*.deb`).
package: build addon
	@bash scripts/build-package.sh --binary $(INFERIX) --addon $(BUILD)/inferix-addon.zip --out $(BUILD)

# The tree is formatted with Debian 12's default clang-format, version 14 (scripts/check-format.sh says why).
format:
	@git ls-files '*.cpp' '*.hpp' | xargs /usr/bin/clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(DEMO_OUT)
