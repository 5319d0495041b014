#!/usr/bin/env bash
# Runs the tests of a ThreadSanitizer build (make test-tsan): its unit tests (the modules TSAN_UNIT_MODULES in the
# Makefile names), then the integration tests named by
# the regular expression TSAN_INTEGRATION (those that start the real manager and exercise its threads).
#   usage: scripts/check-tsan.sh BUILD_DIR   (TEST_JOBS: how many tests at a time, default 2, CI's cores)
# ThreadSanitizer (LLVM 16) needs the address space layout it was built for: on kernels with more mmap
# randomisation (vm.mmap_rnd_bits above 28, the default of recent distribution kernels) every instrumented
# program stops with "FATAL: ThreadSanitizer: unexpected memory mapping". This script tries one test binary
# first and, when it stops so, runs the tests without address space randomisation (setarch -R), which child
# processes inherit; where that is not allowed it says which sysctl fixes it.
set -euo pipefail

cd "$(git rev-parse --show-toplevel)"
build=${1:?usage: scripts/check-tsan.sh BUILD_DIR}
integration=${TSAN_INTEGRATION:-integration_test_(cancel|events|session|skeleton)}
probe="$build/tests/unit_core"
jobs=${TEST_JOBS:-2}

if [ ! -x "$probe" ]; then
  echo "check-tsan: $probe is missing; build $build first" >&2
  exit 2
fi

run=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "$probe" --gtest_list_tests >/dev/null 2>"$log"; then
  if grep -q "unexpected memory mapping" "$log"; then
    if setarch "$(uname -m)" -R "$probe" --gtest_list_tests >/dev/null 2>&1; then
      echo "check-tsan: this kernel randomises mmap more than ThreadSanitizer allows; running under setarch -R"
      run=(setarch "$(uname -m)" -R)
    else
      echo "check-tsan: ThreadSanitizer cannot run here (unexpected memory mapping) and setarch -R is not" \
        "allowed; run: sudo sysctl vm.mmap_rnd_bits=28" >&2
      exit 2
    fi
  else
    cat "$log" >&2
    echo "check-tsan: $probe does not start" >&2
    exit 1
  fi
fi

cd "$build"
"${run[@]}" ctest --output-on-failure --timeout 1500 -j"$jobs" -L unit
"${run[@]}" ctest --output-on-failure --timeout 1500 -j"$jobs" -R "$integration"
