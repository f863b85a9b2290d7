import ArgumentParser
import Foundation
import SaegeoCore

struct Tune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search the similarity kernel's parameters on an OpenCL device and cache the fastest correct configuration.",
        discussion: """
        Tries every configuration that fits the device's limits (variant, tile, outputs per \
        work-item and so the work-group shape, staged slice of d), rejects any that fails to build \
        or gives wrong results, times the rest at d 2304, and caches the best for this device name \
        and driver version (SAEGEO_TUNING_CACHE, else $XDG_CACHE_HOME/saegeo/tuning.json or \
        ~/.cache/saegeo/tuning.json). Later runs on the device use it and say so.
        """)

    @Option(help: "The OpenCL device to tune: opencl:N.")
    var device: String

    @Flag(help: "A smaller search on a smaller product.")
    var quick = false

    @OptionGroup var progress: ProgressOptions

    func run() throws {
        try Saegeo.reporting {
            try progress.apply()
            let catalog = try DeviceCatalog()
            let ids = try catalog.resolve(device)
            guard ids.count == 1, let id = ids.first, id.hasPrefix("opencl:"), let index = Int(id.dropFirst(7)) else {
                throw SaegeoError(.usage, "--device \(device): tune one OpenCL device, opencl:N (run 'saegeo devices')")
            }
            let openCL = catalog.openCLDevices[index]
            let cache = TuningCache.standard()
            Console.info("tuning \(id) (\(openCL.name), driver \(openCL.driverVersion))")
            let started = Date()
            let (trials, defaultTrial) = try KernelTuner(quick: quick).run(device: openCL) { Console.status($0) }
            let ranked = trials.filter { $0.gflops != nil }.sorted { $0.gflops! > $1.gflops! }
            guard let best = ranked.first, let bestGflops = best.gflops else {
                throw SaegeoError(.device, "\(id): no configuration built and gave correct results; the defaults stay")
            }
            let defaultGflops = defaultTrial.gflops ?? 0
            let formatter = ISO8601DateFormatter()
            try cache.store(TuningCache.Entry(variant: best.configuration.variant.rawValue, tile: best.configuration.tile,
                                              register: best.configuration.register, slice: best.configuration.sliceOfD,
                                              topkGroup: best.configuration.topkGroup, gflops: bestGflops,
                                              defaultGflops: defaultGflops,
                                              defaultConfiguration: defaultTrial.configuration.description,
                                              tunedAt: formatter.string(from: Date()), quick: quick),
                            name: openCL.name, driverVersion: openCL.driverVersion)
            print("rank  GFLOP/s  configuration")
            for (rank, trial) in ranked.prefix(8).enumerated() {
                print(String(format: "%4d  %7.1f  %@%@", rank + 1, trial.gflops!, trial.configuration.description,
                             trial.configuration == defaultTrial.configuration ? " (default)" : ""))
            }
            let rejected = trials.count - ranked.count
            Console.info(String(format: "%@: best %@ at %.1f GFLOP/s, %.2fx the default %@ (%.1f GFLOP/s); %d configurations tried, %d rejected; %.0f s; cached in %@",
                                id, best.configuration.description, bestGflops, bestGflops / max(defaultGflops, 1e-9),
                                defaultTrial.configuration.description, defaultGflops, trials.count, rejected,
                                Date().timeIntervalSince(started), cache.path))
        }
    }
}
