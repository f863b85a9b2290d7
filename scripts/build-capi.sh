#!/usr/bin/env bash
# Builds the release libsaegeo-capi.so: SaegeoCore behind the C interface of
# Sources/SaegeoCAPI/include/saegeo.h, for the Python package (scripts/build-wheel.sh). The Swift
# standard library, Foundation and Dispatch are linked in statically, as in the tarball
# (scripts/package.sh), so the library needs no Swift toolchain; it refuses to hand over a library
# that still needs a Swift runtime library. Prints the absolute path of the .so on stdout (the
# build's own output goes to stderr).
#   scripts/build-capi.sh          -> /path/to/.build-static/capi/libsaegeo-capi.so
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
product=saegeo-capi
triple=$(uname -m)-unknown-linux-gnu
# SwiftPM links a dynamic library against the shared Swift runtime even with --static-swift-stdlib
# (that flag is for executables; its autolinked Foundation parts are found in swift_static only),
# so the build compiles the objects and the library is linked once more here with -static-stdlib:
# the runtime's archives are linked in and, by the toolchain's static-stdlib-args.lnk
# (--exclude-libs ALL), not exported, so another Swift library in the same process cannot clash.
static="$(dirname "$(readlink -f "$(command -v swift)")")/../lib/swift_static/linux"
swift build -c release --static-swift-stdlib --product "$product" --scratch-path .build-static -Xlinker -L"$static" >&2
objects=".build-static/$triple/release/$product.product/Objects.LinkFileList"
mkdir -p .build-static/capi
library="$PWD/.build-static/capi/lib$product.so"
# shellcheck disable=SC2046  # pkg-config's flags are words
swiftc -static-stdlib -emit-library -target "$triple" -module-name saegeo_capi -o "$library" "@$objects" \
    $(pkg-config --libs zlib openblas OpenCL) -Xlinker --gc-sections -Xlinker -soname=lib$product.so >&2
if ldd "$library" | grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime' >&2; then
    echo "build-capi.sh: $library still needs the Swift runtime libraries above" >&2
    exit 1
fi
# The C interface must be whole: every function the header declares is exported.
missing=$(comm -23 <(grep -oE 'saegeo_[a-z_0-9]+\(' Sources/SaegeoCAPI/include/saegeo.h | tr -d '(' | sort -u) \
                   <(nm -D --defined-only "$library" | awk '{print $3}' | sort -u))
if [ -n "$missing" ]; then
    echo "build-capi.sh: $library does not export: $missing" >&2
    exit 1
fi
echo "$library"
