#!/usr/bin/env bash
# SaegeoCore as another package's dependency: a throwaway package that names this repository by a
# git URL (as a dependent would name GitHub; SwiftPM refuses unsafeFlags in such dependencies),
# builds against the committed HEAD, and finds neighbours on the CPU with saegeo's public API.
#   scripts/dependency-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
work="$(mktemp -d -t saegeo-dependent-XXXXXX)"
trap 'rm -rf "$work"' EXIT
revision=$(git rev-parse HEAD)
# SwiftPM names a package by its URL's last component: a clone named saegeo, as on GitHub.
git clone -q "$PWD" "$work/saegeo"
repository=$work/saegeo
mkdir -p "$work/dependent/Sources/dependent"
cat > "$work/dependent/Package.swift" <<SWIFT
// swift-tools-version: 6.0
import PackageDescription
let package = Package(
    name: "dependent",
    dependencies: [.package(url: "file://$repository", revision: "$revision")],
    targets: [.executableTarget(name: "dependent", dependencies: [.product(name: "SaegeoCore", package: "saegeo")])]
)
SWIFT
cat > "$work/dependent/Sources/dependent/main.swift" <<'SWIFT'
import SaegeoCore

// A 40 x 16 dictionary in which feature 7 is feature 3 scaled: 3's nearest neighbour is 7.
var values = [Float](repeating: 0, count: 40 * 16)
for i in values.indices {
    let step: Int = (i * 7919) % 97
    values[i] = Float(step) / 97 - 0.5
}
for i in 0..<16 { values[7 * 16 + i] = 2 * values[3 * 16 + i] }
let path = CommandLine.arguments[1]
try NpyWriter.write(float32: values, rows: 40, columns: 16, to: path)
let decoder = try SAECheckpoint.open(path).decoder()
let result = try NeighborSearch(dictionary: decoder, queries: [3], keys: Array(0..<40), k: 2).run(on: CPUEngine())
print("nearest to 3: \(result.indices[0]) (cosine \(result.scores[0]))")
guard result.indices[0] == 7 else { fatalError("wrong neighbour") }
SWIFT
swift build --package-path "$work/dependent" 2>&1 | tail -n 3
"$work/dependent/.build/debug/dependent" "$work/dictionary.npy"
echo "dependency-test: passed (SaegeoCore at $revision built as a git dependency)"
