#!/usr/bin/env bash
# Fails, naming the files, when clang-format would change any tracked .cpp or .hpp (make format fixes them).
# The binary is chosen on purpose: the tree is formatted with Debian 12's default clang-format, version 14
# (/usr/bin/clang-format, package clang-format); another major version formats some constructs differently.
# CLANG_FORMAT overrides it.
set -euo pipefail

cd "$(git rev-parse --show-toplevel)"
format=${CLANG_FORMAT:-/usr/bin/clang-format}
want_major=14

if [ ! -x "$format" ] && ! command -v "$format" >/dev/null 2>&1; then
  echo "check-format: $format not found (scripts/install-deps.sh installs the clang-format package)" >&2
  exit 2
fi
major=$("$format" --version | sed -nE 's/.*clang-format version ([0-9]+)\..*/\1/p')
if [ "$major" != "$want_major" ] && [ -z "${CLANG_FORMAT:-}" ]; then
  echo "check-format: $format is version $major; the tree is formatted with version $want_major" >&2
  exit 2
fi

bad=()
while IFS= read -r f; do
  if ! "$format" --dry-run --Werror "$f" >/dev/null 2>&1; then
    bad+=("$f")
  fi
done < <(git ls-files '*.cpp' '*.hpp')

if [ ${#bad[@]} -ne 0 ]; then
  echo "check-format: these files are not formatted (make format, or clang-format -i FILE):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check-format: clean"
