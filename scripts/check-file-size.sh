#!/usr/bin/env bash
# Fails, naming them, when a tracked source file of src/, apps/ or tests/unit is over MAX_LINES lines (600): a file
# that long holds more than one idea; split it by what its parts own (CONTRIBUTING.md).
set -euo pipefail

cd "$(git rev-parse --show-toplevel)"
max=${MAX_LINES:-600}

bad=()
while IFS= read -r f; do
  n=$(wc -l <"$f")
  if [ "$n" -gt "$max" ]; then
    bad+=("$f ($n lines)")
  fi
done < <(git ls-files 'src/*.cpp' 'src/*.hpp' 'apps/*.cpp' 'apps/*.hpp' 'tests/unit/*.cpp' 'tests/unit/*.hpp')

if [ ${#bad[@]} -ne 0 ]; then
  echo "check-file-size: these files are over $max lines:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check-file-size: clean (no file over $max lines)"
