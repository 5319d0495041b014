#!/usr/bin/env bash
# clang-tidy over every .cpp of src/ and apps/ (and, through HeaderFilterRegex in .clang-tidy, the headers of src/
# they include), with the compile commands of a configured build folder. Fails on any warning.
#   usage: scripts/check-tidy.sh [BUILD_DIR]   (default: build; CMakeLists.txt exports compile_commands.json)
# The checks and why some are off: .clang-tidy and docs/decisions.md. TIDY_JOBS sets the parallelism (default 2,
# CI's cores); CLANG_TIDY the binary (default clang-tidy-16, the Debian 12 package scripts/install-deps.sh installs).
set -euo pipefail

cd "$(git rev-parse --show-toplevel)"
build=${1:-build}
tidy=${CLANG_TIDY:-clang-tidy-16}
jobs=${TIDY_JOBS:-2}

if [ ! -f "$build/compile_commands.json" ]; then
  echo "check-tidy: no $build/compile_commands.json; configure the build first (make configure)" >&2
  exit 2
fi
if ! command -v "$tidy" >/dev/null 2>&1; then
  echo "check-tidy: $tidy not found (scripts/install-deps.sh installs it)" >&2
  exit 2
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# One clang-tidy per file, each writing its own log, so that parallel runs do not interleave their findings.
# shellcheck disable=SC2016
git ls-files 'src/*.cpp' 'apps/*.cpp' |
  xargs -P "$jobs" -I{} sh -c '"$1" -p "$2" --quiet --warnings-as-errors="*" "$3" >"$4/$(echo "$3" | tr / _).log" 2>&1 ||
    echo "$3" >>"$4/failed"' sh "$tidy" "$build" {} "$out"

if [ -f "$out/failed" ]; then
  # The findings without clang-tidy's "N warnings generated" chatter; each header finding once.
  sort "$out/failed" | while read -r f; do
    grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter' \
      "$out/$(echo "$f" | tr / _).log" || true
  done
  echo "check-tidy: clang-tidy found problems in (or through) $(sort -u "$out/failed" | wc -l) file(s):" >&2
  sort -u "$out/failed" | sed 's/^/  /' >&2
  exit 1
fi
echo "check-tidy: clean ($(git ls-files 'src/*.cpp' 'apps/*.cpp' | wc -l) files)"
