#!/usr/bin/env bash
# Builds the Debian package inferix_VERSION_ARCH.deb (make package; docs/packaging.md) with dpkg-deb, from a built
# binary and the add-on zip: /usr/bin/inferix and its image module (/usr/lib/inferix, where the binary looks for
# it: src/image/codec_loader.cpp), the systemd units (packaging/systemd), the services' settings as conffiles in
# /etc/inferix (packaging/etc), the add-on in /usr/share/inferix and the docs in /usr/share/doc/inferix. The
# shared libraries it depends on come from dpkg-shlibdeps (the packages that hold the libraries the binary and
# the module link); the programs it runs are named in packaging/debian/control.in. Needs no network.
#
#   scripts/build-package.sh [--binary PATH] [--addon ZIP] [--out DIR] [--version VERSION] [--no-strip]
#                            [--compress xz|gzip|zstd|none]
#
# Defaults: build/apps/inferix/inferix (and libinferix_image_oiio.so beside it), build/inferix-addon.zip
# (make addon), build/, the version the binary reports (`inferix --version`). Both are stripped of their debug
# information (their symbols stay, for backtraces) unless --no-strip. --compress: dpkg-deb's -Z (default xz, the
# smallest; gzip takes about a quarter of its time, which the tests use). DEB_MAINTAINER overrides the Maintainer field.
# Prints the package's path.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
binary=$root/build/apps/inferix/inferix
addon=$root/build/inferix-addon.zip
out=$root/build
version=""
strip=1
compress=xz
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --addon) addon=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --no-strip) strip=0; shift ;;
    --compress) compress=$2; shift 2 ;;
    *) echo "build-package: unknown argument $1 (see the script's header)" >&2; exit 2 ;;
  esac
done

fail() { echo "build-package: $*" >&2; exit 1; }
for tool in dpkg-deb dpkg-shlibdeps objcopy; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing (apt-get install dpkg-dev binutils)"
done
[ -x "$binary" ] || fail "no binary at $binary (make build)"
module=$(dirname "$binary")/libinferix_image_oiio.so
[ -f "$module" ] || fail "no image module at $module (make build)"
[ -f "$addon" ] || fail "no add-on zip at $addon (make addon)"

if [ -z "$version" ]; then
  # "inferix 0.1.0 (commit ...)"; without Blender on PATH it answers at once.
  version=$(PATH=/nonexistent "$binary" --version | sed -nE '1s/^inferix ([0-9][0-9A-Za-z.+~-]*) .*/\1/p')
  [ -n "$version" ] || fail "$binary --version names no version"
fi
arch=$(dpkg --print-architecture)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/pkg
umask 022

# The binary and the module that reads and writes images with OpenImageIO (loaded when first needed).
install -D -m 0755 "$binary" "$pkg/usr/bin/inferix"
install -D -m 0644 "$module" "$pkg/usr/lib/inferix/libinferix_image_oiio.so"
if [ "$strip" = 1 ]; then
  for f in "$pkg/usr/bin/inferix" "$pkg/usr/lib/inferix/libinferix_image_oiio.so"; do
    objcopy --strip-debug --remove-section=.comment --remove-section=.note "$f"
  done
fi

# The services and their settings (root's only: they may hold tokens and passwords; systemd reads them as root).
for unit in "$root"/packaging/systemd/*.service; do
  install -D -m 0644 "$unit" "$pkg/lib/systemd/system/$(basename "$unit")"
done
mkdir -p "$pkg/DEBIAN"
: >"$pkg/DEBIAN/conffiles"
for env in "$root"/packaging/etc/*.env; do
  install -D -m 0600 "$env" "$pkg/etc/inferix/$(basename "$env")"
  echo "/etc/inferix/$(basename "$env")" >>"$pkg/DEBIAN/conffiles"
done

# The add-on and the docs (with the API description the docs link to).
install -D -m 0644 "$addon" "$pkg/usr/share/inferix/inferix-addon.zip"
doc=$pkg/usr/share/doc/inferix
install -D -m 0644 "$root/README.md" "$doc/README.md"
for page in "$root"/docs/*.md; do
  install -D -m 0644 "$page" "$doc/$(basename "$page")"
done
install -D -m 0644 "$root/docs/api/openapi.yaml" "$doc/api/openapi.yaml"

# The packages of the shared libraries the binary and the module link, with the least versions its symbols need.
mkdir -p "$stage/src/debian"
printf 'Source: inferix\n\nPackage: inferix\nArchitecture: any\n' >"$stage/src/debian/control"
shlibs=$(cd "$stage/src" && dpkg-shlibdeps -O "$pkg/usr/bin/inferix" "$pkg/usr/lib/inferix/libinferix_image_oiio.so" \
  2>"$stage/shlibdeps.log") ||
  fail "dpkg-shlibdeps failed: $(cat "$stage/shlibdeps.log")"
shlibs=${shlibs#shlibs:Depends=}
[ -n "$shlibs" ] || fail "dpkg-shlibdeps found no libraries"

installed_size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
maintainer=${DEB_MAINTAINER:-Inferix maintainers <maintainers@inferix.invalid>}
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
  -e "s|@INSTALLED_SIZE@|$installed_size|" -e "s|@SHLIBS@|$shlibs|" \
  "$root/packaging/debian/control.in" >"$pkg/DEBIAN/control"
for script in postinst prerm postrm; do
  install -m 0755 "$root/packaging/debian/$script" "$pkg/DEBIAN/$script"
done
(cd "$pkg" && find . \( -path ./DEBIAN -o -path ./etc \) -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
  >"$pkg/DEBIAN/md5sums"

mkdir -p "$out"
deb=$(cd "$out" && pwd)/inferix_${version}_${arch}.deb
dpkg-deb --root-owner-group "-Z$compress" --build "$pkg" "$deb" >/dev/null
echo "$deb"
