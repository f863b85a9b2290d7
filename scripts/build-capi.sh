#!/usr/bin/env bash
# Builds the release libsaegeo-capi.so: SaegeoCore behind the C interface of
# Sources/SaegeoCAPI/include/saegeo.h, for the Python package (scripts/build-wheel.sh). The Swift
# standard library, Foundation and Dispatch are linked in statically, as in the tarball
# (scripts/package.sh), so the library needs no Swift toolchain; it refuses to hand over a library
# that still needs a Swift runtime library. Prints the absolute path of the .so on stdout (the
# build's own output goes to stderr).
#   scripts/build-capi.sh          -> /path/to/.build-capi/release/libsaegeo-capi.so
# SwiftPM's --static-swift-stdlib only applies to executables: a shared library still links the
# runtime's .so files (and misses -L for the static Foundation's autolinked CoreFoundation). The
# driver's own -static-stdlib links the static runtime into the library. It changes the build
# flags, so the library has its own scratch path (.build-static stays the tarball's).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
product=saegeo-capi
swift build -c release --static-swift-stdlib -Xswiftc -static-stdlib --product "$product" --scratch-path .build-capi >&2
library="$PWD/.build-capi/release/lib$product.so"
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
