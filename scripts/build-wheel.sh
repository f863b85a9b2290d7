#!/usr/bin/env bash
# Builds dist/saegeo-VERSION-py3-none-linux_ARCH.whl: the pure-Python package (python/saegeo,
# ctypes + numpy), SaegeoCore's C interface as a shared library (scripts/build-capi.sh) and the
# `saegeo` CLI as the tarball has it (Swift runtime linked in statically), run by the console
# entry point. Refuses a library or binary that still needs a Swift runtime library: the wheel
# must work where no Swift is installed. Assembled with zipfile (scripts/wheel/assemble.py): no
# build backend, no network.
#   scripts/build-wheel.sh        -> prints the path of the wheel
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
version=$(sed -n 's/^ *public static let current = "\(.*\)"$/\1/p' Sources/SaegeoCore/SaegeoVersion.swift)
[ -n "$version" ] || { echo "build-wheel.sh: no version in Sources/SaegeoCore/SaegeoVersion.swift" >&2; exit 1; }

library=$(scripts/build-capi.sh | tail -n 1)
swift build -c release --static-swift-stdlib --product saegeo --scratch-path .build-static >&2
binary=.build-static/release/saegeo
for built in "$library" "$binary"; do
    [ -f "$built" ] || { echo "build-wheel.sh: $built was not built" >&2; exit 1; }
    if ldd "$built" | grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime' >&2; then
        echo "build-wheel.sh: $built still needs the Swift runtime libraries above" >&2
        exit 1
    fi
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$library" "$stage/libsaegeo.so"
cp "$binary" "$stage/saegeo"
strip --strip-unneeded "$stage/libsaegeo.so"
strip "$stage/saegeo"
python3 scripts/wheel/assemble.py "$version" python/saegeo "$stage/libsaegeo.so" "$stage/saegeo" \
    README.md dist
