import Foundation

/// `saegeo bench` for one device: the microbenchmarks, then the end-to-end workloads, sized from
/// the device's own measured speed so that every device spends about the same time.
public struct DeviceBench {
    public static let dimensions = [2304, 3584, 4608]
    public static let topkSizes = [1, 32, 256]

    /// About how long one device may take, in seconds: the probes and workloads are sized from
    /// it (the workloads take about half; compiling kernels and generating inputs come on top).
    public let budget: Double
    /// Generated inputs of the workloads (kept between devices of one run).
    public let folder: String

    public init(budget: Double, folder: String) {
        self.budget = budget
        self.folder = folder
    }

    var secondsPerProbe: Double { budget / 60 }
    var runs: Int { budget < 60 ? 2 : 3 }
    var secondsPerWorkload: Double { budget / 6 }

    /// Measures one device of `catalog`: its backend's probes where it has them, then the
    /// end-to-end workloads on its engine.
    public func run(device id: String, catalog: DeviceCatalog, log: (String) -> Void) throws -> BenchReport.DeviceFigures {
        let engine = try catalog.engine(for: id)
        let description = engine.device
        var figures = BenchReport.DeviceFigures(
            id: id, name: description.name, vendor: description.vendor, type: description.type.rawValue,
            driverVersion: description.driverVersion, computeUnits: description.computeUnits,
            globalMemoryBytes: description.globalMemoryBytes, kernels: engine.configurationSummary,
            peakGflops: 0, peakKernel: "", bandwidthGbs: 0, transferGbs: nil,
            similarityGflops: [:], similarityPercentOfPeak: [:], topkCandidatesPerS: [:], workloads: [])
        if let probes = try catalog.backend(of: id).probes(for: id, secondsPerProbe: secondsPerProbe, runs: runs) {
            try measure(probes, device: id, into: &figures, log: log)
        }
        let rate = figures.similarityGflops["2304"] ?? 1
        let workloads = Workloads(folder: folder, secondsPerWorkload: secondsPerWorkload)
        log("\(id): neighbors end to end")
        figures.workloads.append(try workloads.neighbors(engine: engine, gflops: rate))
        log("\(id): score end to end")
        figures.workloads.append(try workloads.score(engine: engine, gflops: rate))
        return figures
    }

    /// The microbenchmarks: peak, bandwidth (and transfer), the similarity product, top-k, and the
    /// peak once more.
    func measure(_ probes: DeviceProbes, device id: String, into figures: inout BenchReport.DeviceFigures,
                 log: (String) -> Void) throws {
        func measurePeak() throws -> (gflops: Double, kernel: String) {
            let peak = try probes.peakGFLOPS()
            return (peak.gflops, "fma on \(peak.kernel)")
        }
        log("\(id): peak")
        (figures.peakGflops, figures.peakKernel) = try measurePeak()
        log(probes.measuresTransfer ? "\(id): bandwidth and transfer" : "\(id): bandwidth")
        figures.bandwidthGbs = try probes.bandwidthGBs()
        if probes.measuresTransfer { figures.transferGbs = try probes.transferGBs() }
        for d in Self.dimensions {
            log("\(id): similarity at d \(d)")
            figures.similarityGflops[String(d)] = try probes.similarityGFLOPS(dimension: d)
        }
        for k in Self.topkSizes {
            log("\(id): top-k at k \(k)")
            figures.topkCandidatesPerS[String(k)] = try probes.topkCandidatesPerSecond(k: k)
        }
        // The peak once more, at the end: a peak is what the device can do, and a shared machine
        // may have been busy during the first measurement (the CPU's sgemm reaches ~90% of it).
        let again = try measurePeak()
        if again.gflops > figures.peakGflops { (figures.peakGflops, figures.peakKernel) = again }
        for (d, gflops) in figures.similarityGflops {
            figures.similarityPercentOfPeak[d] = 100 * gflops / figures.peakGflops
        }
    }

    /// The machine the run happened on.
    public static func host() -> BenchReport.Host {
        var name = utsname()
        uname(&name)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return BenchReport.Host(hostname: ProcessInfo.processInfo.hostName, cpu: CPUEngine.cpuModelName(),
                                cores: ProcessInfo.processInfo.activeProcessorCount,
                                memoryBytes: Int(ProcessInfo.processInfo.physicalMemory),
                                os: "\(field(name.sysname)) \(field(name.release)) \(field(name.machine))")
    }
}
