// swift-tools-version: 6.0
// The fuzz target over saegeo's file parsers (safetensors, npy, npz, PyTorch .pt). Built separately because it
// needs the fuzzer runtime:  scripts/fuzz.sh  (see there).
import PackageDescription

let package = Package(
    name: "saegeo-fuzz",
    dependencies: [.package(name: "saegeo", path: "..")],
    targets: [
        .target(name: "CFuzzer"),
        // Every module is built with -sanitize=address and coverage instrumentation (see
        // scripts/fuzz.sh); only this executable links libFuzzer, so build tools still link.
        .executableTarget(name: "saegeo-fuzz", dependencies: [
            "CFuzzer", .product(name: "SaegeoCore", package: "saegeo"),
        ], linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]),
    ],
    swiftLanguageModes: [.v6]
)
