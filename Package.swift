// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "saegeo",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "saegeo", targets: ["saegeo"]),
        .library(name: "SaegeoCore", targets: ["SaegeoCore"]),
        // SaegeoCore behind a C interface (include/saegeo.h) for the Python package: libsaegeo-capi.so.
        .library(name: "saegeo-capi", type: .dynamic, targets: ["SaegeoCAPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Thin module maps over the system libraries; every C call is wrapped in SaegeoCore.
        .systemLibrary(name: "COpenCL", pkgConfig: "OpenCL",
                       providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The CPU's peak and bandwidth probes for `saegeo bench` (per-ISA code chosen at run time;
        // the loops are assembly, so no optimisation flag is needed and dependents can build it),
        // and the neighbour passes' inner loops: the exact ranking's float64 dots and the candidate
        // heaps' offers (C with vector clones, which Swift's baseline x86-64 target cannot emit).
        .target(name: "CMicrokernels"),
        // What a dying process still does from a signal handler: remove uncommitted temporaries,
        // name the input whose mapped page vanished (wrapped by Jobs/ProcessGuard.swift).
        .target(name: "CProcessGuard"),
        // bfloat16 rounding in plain C and oneDNN's bfloat16 matmul, loaded at run time (dlopen)
        // so that libdnnl is needed only where the bfloat16 product runs natively.
        .target(name: "CBFloat16", linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("m")]),

        // Turns Kernels/*.cl into Swift string constants so the binary needs no files at run time.
        .executableTarget(name: "EmbedKernels"),
        .plugin(name: "KernelEmbedder", capability: .buildTool(), dependencies: ["EmbedKernels"]),

        .target(
            name: "SaegeoCore",
            dependencies: ["COpenCL", "COpenBLAS", "CZlib", "CMicrokernels", "CProcessGuard", "CBFloat16"],
            plugins: ["KernelEmbedder"]
        ),
        .executableTarget(
            name: "saegeo",
            dependencies: [
                "SaegeoCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The @_cdecl functions of saegeo.h over SaegeoCore's public API (the header is the contract).
        .target(name: "SaegeoCAPI", dependencies: ["SaegeoCore"], exclude: ["include"]),
        .testTarget(name: "SaegeoTests", dependencies: ["SaegeoCore", "SaegeoCAPI", "CZlib"]),

        // Benchmarks (not tests): see Benchmarks/README.md.
        .executableTarget(name: "saegeo-bench-search", dependencies: ["SaegeoCore", "COpenBLAS"],
                          path: "Benchmarks/SearchVsGemm"),
    ],
    swiftLanguageModes: [.v6]
)
