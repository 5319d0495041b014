# make demo: install what is missing, build, render the example scene on a local network.
# make test: install what is missing, build, run the whole suite (what CI runs).
BUILD ?= build
JOBS ?= 2
INFERIX := $(BUILD)/apps/inferix/inferix
DEMO_OUT ?= demo-out

.PHONY: all deps configure build test unit demo format clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: configure
	@ninja -C $(BUILD) -j$(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure --timeout 1500

unit: build
	@cd $(BUILD) && ctest --output-on-failure -L unit

$(BUILD)/demo/example.blend: examples/make_scene.py | build
	@mkdir -p $(BUILD)/demo
	@blender -b --factory-startup -noaudio --python-exit-code 1 --python examples/make_scene.py -- $@ --width 480 --height 270 \
		--samples 24 --frames 24 >$(BUILD)/demo/make_scene.log 2>&1 || (cat $(BUILD)/demo/make_scene.log; exit 1)

demo: build $(BUILD)/demo/example.blend
	@$(INFERIX) render $(BUILD)/demo/example.blend --frames 1-24 -o $(DEMO_OUT) --workers 2
	@echo "frames in $(DEMO_OUT)/"

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(DEMO_OUT)
