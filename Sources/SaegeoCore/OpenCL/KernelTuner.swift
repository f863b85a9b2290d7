import Foundation

/// `saegeo tune`: searches the similarity kernel's compile-time parameters on one OpenCL device,
/// the way CLBlast tunes its GEMM: every configuration that fits the device's limits is compiled,
/// checked against float64 on an awkward shape, and timed on the same Gemma-Scope-sized product;
/// the fastest correct one wins.
public struct KernelTuner {
    public struct Trial: Sendable {
        public let configuration: KernelConfiguration
        /// nil when it failed to build, run or give correct results (see `failure`).
        public let gflops: Double?
        public let failure: String?
    }

    public let quick: Bool
    public init(quick: Bool) { self.quick = quick }

    /// The search space within the limits (a pure function, tested without a device): both
    /// variants; square tiles of 8 to 128 rows; 1 to 8 outputs per work-item along each side (the
    /// work-group shape follows); staged slices of 4, 8 or 16 floats of d (the tiled variant's
    /// local memory use and load width; the direct variant streams float4s and needs only 4);
    /// at least 16 work-items per group.
    public static func candidates(limits: DeviceLimits, quick: Bool) -> [KernelConfiguration] {
        let topkGroup = KernelConfiguration.largestPowerOfTwo(atMost: min(256, limits.maxWorkGroupSize))
        var out: [KernelConfiguration] = []
        for variant in KernelConfiguration.Variant.allCases {
            for tile in quick ? [16, 32, 64] : [8, 16, 32, 64, 128] {
                for register in quick ? [2, 4, 8] : [1, 2, 4, 8] where register <= tile {
                    for slice in variant == .direct ? [4] : (quick ? [8, 16] : [4, 8, 16]) {
                        let configuration = KernelConfiguration(variant: variant, tile: tile, register: register,
                                                                sliceOfD: slice, topkGroup: topkGroup)
                        // Fewer than 16 work-items per group cannot fill a GPU's SIMD unit, nor a
                        // CPU driver's vectors across work-items.
                        if configuration.fits(limits), configuration.similarityGroup >= 16 { out.append(configuration) }
                    }
                }
            }
        }
        return out
    }

    /// Tunes one device; `log` hears each trial. Returns every trial and the default's.
    public func run(device: OpenCLDevice, log: (String) -> Void) throws -> (trials: [Trial], defaultTrial: Trial) {
        let resources = try OpenCLDeviceResources.shared(for: device)
        let defaultConfiguration = try KernelConfiguration.choose(for: device.limits, kind: device.deviceType)
        let dimension = 2304

        // The timing shape: grown until the default takes a measurable time, a multiple of every tile.
        var rows = 256, columns = 1024
        let target = quick ? 0.15 : 0.6
        let limit = device.limits.maxAllocationBytes / 4
        do {
            let runner = try SimilarityRunner(resources: resources, configuration: defaultConfiguration)
            var seconds = try runner.time(rows: rows, columns: columns, dimension: dimension, runs: 0)
            while seconds < target, columns * 2 * dimension * 4 <= limit, rows * columns * 8 <= limit {
                if rows * 4 <= columns { rows *= 2 } else { columns *= 2 }
                seconds *= 2
            }
        }
        let runs = quick ? 1 : 3
        let q = SeededGenerator.uniformFloats(rows * dimension, seed: 9), k = SeededGenerator.uniformFloats(columns * dimension, seed: 10)
        let flops = 2 * Double(rows * columns * dimension)
        var fastest = Double.infinity

        func trial(_ configuration: KernelConfiguration) -> Trial {
            do {
                let runner = try SimilarityRunner(resources: resources, configuration: configuration)
                if let problem = try Self.check(runner) { return Trial(configuration: configuration, gflops: nil, failure: problem) }
                // An eighth of the product first: a configuration far slower than the best so far
                // is timed on that alone (slow kernels would otherwise take most of the search).
                let part = try runner.upload(q: q, k: k, rows: rows, columns: columns / 8, dimension: dimension)
                try runner.launch(part)   // the driver may compile for the launch shape on first use
                let predicted = 8 * (try Stopwatch.seconds { try runner.launch(part) })
                guard predicted < 3 * fastest else {
                    return Trial(configuration: configuration, gflops: flops / predicted / 1e9, failure: nil)
                }
                let resident = try runner.upload(q: q, k: k, rows: rows, columns: columns, dimension: dimension)
                let seconds = try Stopwatch.best(runs: runs) { try runner.launch(resident) }
                fastest = min(fastest, seconds)
                return Trial(configuration: configuration, gflops: flops / seconds / 1e9, failure: nil)
            } catch {
                return Trial(configuration: configuration, gflops: nil, failure: "\(error)")
            }
        }
        let defaultTrial = trial(defaultConfiguration)
        log(String(format: "default %@: %@", defaultConfiguration.description,
                   defaultTrial.gflops.map { String(format: "%.1f GFLOP/s", $0) } ?? defaultTrial.failure ?? "failed"))
        var trials: [Trial] = []
        let candidates = Self.candidates(limits: device.limits, quick: quick)
        for (index, configuration) in candidates.enumerated() {
            let result = configuration == defaultConfiguration ? defaultTrial : trial(configuration)
            trials.append(result)
            log(String(format: "%d/%d %@: %@", index + 1, candidates.count, configuration.description,
                       result.gflops.map { String(format: "%.1f GFLOP/s", $0) } ?? "rejected: \(result.failure ?? "")"))
        }
        return (trials, defaultTrial)
    }

    /// Compares the kernel with float64 on unit rows of an awkward shape (no multiple of any tile);
    /// returns what is wrong, or nil. The bound is the one the exact ranking relies on.
    static func check(_ runner: SimilarityRunner) throws -> String? {
        let rows = 2 * runner.configuration.tile + 3, columns = 3 * runner.configuration.tile + 5, d = 67
        var generator = SeededGenerator(seed: 17)
        func unitRows(_ count: Int) -> [Float] {
            var values = (0..<(count * d)).map { _ in Float(generator.gaussian()) }
            for r in 0..<count {
                let norm = (0..<d).reduce(0.0) { $0 + Double(values[r * d + $1]) * Double(values[r * d + $1]) }.squareRoot()
                for i in 0..<d { values[r * d + i] = Float(Double(values[r * d + i]) / norm) }
            }
            return values
        }
        let q = unitRows(rows), k = unitRows(columns)
        let s = try runner.run(q: q, k: k, rows: rows, columns: columns, dimension: d, runs: 0, readBack: true).s
        let bound = Double(d + 6) * pow(2, -24) * 2
        for r in 0..<rows {
            for c in 0..<columns {
                let exact = (0..<d).reduce(0.0) { $0 + Double(q[r * d + $1]) * Double(k[c * d + $1]) }
                guard abs(Double(s[r * columns + c]) - exact) <= bound else {
                    return "wrong result at [\(r), \(c)]: \(s[r * columns + c]) instead of \(exact)"
                }
            }
        }
        return nil
    }
}
