// swift-tools-version: 6.1
// Micro-benchmarks of saegeo's kernels and selection with package-benchmark (ordo-one):
//   cd Benchmarks/Micro && swift package benchmark
// A package of its own, so that building and testing saegeo does not build the harness.
import PackageDescription

let package = Package(
    name: "saegeo-micro-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "saegeo", path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "KernelBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SaegeoCore", package: "saegeo"),
            ],
            path: "Benchmarks/KernelBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
