#!/usr/bin/env bash
# Builds dist/saegeo-VERSION-linux-ARCH.tar.gz: the release binary with the Swift standard library,
# Foundation and Dispatch linked in statically (a GPU node needs no Swift toolchain), the Slurm
# examples and a README saying which system libraries it needs. Refuses to package a binary that
# still needs a Swift runtime library.
#   scripts/package.sh            -> prints the path of the tarball
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
version=$(sed -n 's/^ *public static let current = "\(.*\)"$/\1/p' Sources/SaegeoCore/SaegeoVersion.swift)
name="saegeo-$version-linux-$(uname -m)"
swift build -c release --static-swift-stdlib --product saegeo --scratch-path .build-static >&2
binary=.build-static/release/saegeo
if ldd "$binary" | grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime' >&2; then
    echo "package.sh: $binary still needs the Swift runtime libraries above" >&2
    exit 1
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name/bin" "$stage/$name/slurm"
cp "$binary" "$stage/$name/bin/saegeo"
strip "$stage/$name/bin/saegeo"
cp Examples/slurm/* "$stage/$name/slurm/"
cp scripts/gpu-check.sh "$stage/$name/gpu-check.sh"
cat > "$stage/$name/README.md" <<README
# saegeo $version for Linux ($(uname -m))

\`bin/saegeo\` carries its Swift runtime; it needs only these system libraries:

| library | Debian / Ubuntu | RHEL / Rocky / Alma (EPEL for OpenBLAS) |
|---|---|---|
| glibc, libstdc++, libgcc_s | (always there) | (always there) |
| zlib | zlib1g | zlib |
| OpenCL ICD loader (libOpenCL.so.1) | ocl-icd-libopencl1 | ocl-icd |
| OpenBLAS (libopenblas.so.0) | libopenblas0 | openblas |

The GPU vendor's driver provides the OpenCL device itself (its ICD file in /etc/OpenCL/vendors);
\`bin/saegeo devices\` lists what the loader finds, \`bin/saegeo demo\` runs the built-in example.
On a machine with a GPU, run \`./gpu-check.sh\` first (bash only, a few minutes): it compares every
GPU with the CPU on generated jobs, tunes and benchmarks each GPU, and ends with one verdict line.

Batch jobs: \`slurm/\` holds the array and merge scripts; point them at this binary with
\`export SAEGEO=\$PWD/bin/saegeo\` before \`slurm/submit.sh\` (see its header).
README

mkdir -p dist
tar -C "$stage" -czf "dist/$name.tar.gz.partial" "$name"
mv "dist/$name.tar.gz.partial" "dist/$name.tar.gz"
echo "dist/$name.tar.gz"
