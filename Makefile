# make demo: install what is missing, build, render the example scene on a local network.
# make test: install what is missing, build, run the whole suite (what CI runs): the tests of the normal build,
#            then test-sanitize.
# make test-sanitize: an ASan+UBSan build with clang-16 (build-asan/): its unit tests, the integration tests that
#            exercise the most of Inferix's own code, and each libFuzzer target for FUZZ_SECONDS.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_SECONDS ?= 30
# The integration tests run again under the sanitizers: those whose time goes to Inferix rather than to Blender.
ASAN_INTEGRATION ?= integration_test_(bad_input|cancel|dashboard|events|faults|openapi|sandbox|session|skeleton|tls)
JOBS ?= 2
INFERIX := $(BUILD)/apps/inferix/inferix
DEMO_OUT ?= demo-out

.PHONY: all deps configure build test test-main test-sanitize configure-sanitize unit demo addon format clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: configure
	@ninja -C $(BUILD) -j$(JOBS)

test: test-main test-sanitize

test-main: build
	@cd $(BUILD) && ctest --output-on-failure --timeout 1500

configure-sanitize: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		"-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" -DINFERIX_SANITIZE=ON -DINFERIX_FUZZ=ON \
		-DINFERIX_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null

test-sanitize: configure-sanitize
	@ninja -C $(ASAN_BUILD) -j$(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure --timeout 1500 -L 'unit|fuzz'
	@cd $(ASAN_BUILD) && ctest --output-on-failure --timeout 1500 -R '$(ASAN_INTEGRATION)'

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

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(DEMO_OUT)
