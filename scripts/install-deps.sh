#!/usr/bin/env bash
# Installs the Debian 12 packages Inferix builds, runs and tests with; installs only what is missing.
set -euo pipefail

packages=(
  # build
  g++ cmake ninja-build pkg-config ccache make
  # libraries (DESIGN.md section 3)
  libboost1.81-dev libboost-url1.81-dev libssl-dev libcurl4-openssl-dev libsqlite3-dev nlohmann-json3-dev
  libspdlog-dev libfmt-dev libcli11-dev libopenimageio-dev zlib1g-dev libzstd-dev
  libpq-dev
  # tests
  libgtest-dev libgmock-dev python3 python3-cryptography openssl
  # tests: the ASan+UBSan build and the libFuzzer targets (make test-sanitize), the ThreadSanitizer build
  # (make test-tsan; llvm-16 for llvm-symbolizer, which its suppressions need)
  clang-16 libclang-rt-16-dev llvm-16
  # lint (make lint): the formatter the tree is formatted with (Debian 12's default, version 14), clang-tidy
  clang-format clang-tidy-16
  # tests: the add-on in a real Blender window (Xvfb, Mesa's software OpenGL) and the dashboard in a real
  # browser (Debian's Chromium driven by playwright-core from npm, tests/browser)
  xvfb xauth libgl1-mesa-dri x11-utils chromium
  # run time: renderer, sandbox, image tools
  blender bubblewrap openimageio-tools ffmpeg
  # the Debian package (make package, tests/integration/test_package.py): dpkg-shlibdeps, what the package's
  # scripts use, and systemd-analyze, which checks its units without a running systemd
  dpkg-dev binutils adduser systemd
  # the PostgreSQL store (issue #15): the client library, and the server its tests start (tests/engines)
  libpq-dev postgresql-15
  # tests: the real engines started by tests/engines/engines.py: Ceph's RADOS Gateway on a one-node cluster
  # (monitor, in-memory OSD, gateway), HAProxy in front of several managers, boto3 as an independent S3 client
  ceph-mon ceph-osd radosgw haproxy python3-boto3
)

missing=()
# Node.js and npm: Debian's, unless a node with its own npm is already there (nodesource's nodejs bundles npm and
# conflicts with Debian's npm package).
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
