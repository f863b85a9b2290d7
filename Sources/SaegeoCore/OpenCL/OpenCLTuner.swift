import Foundation

/// `saegeo tune` on one OpenCL device: the KernelTuner's search, the fastest correct configuration
/// stored in the tuning cache under the device's name and driver version (engines use it from then on).
struct OpenCLTuner: DeviceTuner {
    let device: OpenCLDevice
    let quick: Bool
    let cache: TuningCache

    func run(log: (String) -> Void) throws -> TuningReport {
        let (trials, defaultTrial) = try KernelTuner(quick: quick).run(device: device, log: log)
        let ranked = trials.filter { $0.gflops != nil }.sorted { $0.gflops! > $1.gflops! }
        guard let best = ranked.first, let bestGflops = best.gflops else {
            throw SaegeoError(.device, "\(device.id): no configuration built and gave correct results; the defaults stay")
        }
        let defaultGflops = defaultTrial.gflops ?? 0
        let configuration = best.configuration
        try cache.store(TuningCache.Entry(variant: configuration.variant.rawValue, tile: configuration.tile,
                                          register: configuration.register, slice: configuration.sliceOfD,
                                          topkGroup: configuration.topkGroup, gflops: bestGflops, defaultGflops: defaultGflops,
                                          defaultConfiguration: defaultTrial.configuration.description,
                                          tunedAt: ISO8601DateFormatter().string(from: Date()), quick: quick),
                        name: device.name, driverVersion: device.driverVersion)
        return TuningReport(
            ranked: ranked.map {
                TuningReport.Ranked(configuration: $0.configuration.description, gflops: $0.gflops!,
                                    isDefault: $0.configuration == defaultTrial.configuration)
            },
            tried: trials.count, defaultConfiguration: defaultTrial.configuration.description,
            defaultGflops: defaultGflops, storedIn: cache.path)
    }
}
