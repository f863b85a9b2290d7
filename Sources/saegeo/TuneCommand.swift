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
            let catalog = try DeviceCatalog.standard()
            let ids = try catalog.resolve(device)
            let tunable = catalog.backends.filter(\.hasTuner)
            guard ids.count == 1, let id = ids.first, let tuner = try catalog.backend(of: id).tuner(for: id, quick: quick) else {
                let kinds = tunable.map(\.displayName).joined(separator: " or ")
                let forms = tunable.map { $0.hasNumberedDevices ? "\($0.family):N" : $0.family }.joined(separator: ", ")
                throw SaegeoError(.usage, "--device \(device): tune one \(kinds) device, \(forms) (run 'saegeo devices')")
            }
            let description = try catalog.description(of: id)
            Console.info("tuning \(id) (\(description.name), driver \(description.driverVersion))")
            let started = Date()
            let report = try tuner.run { Console.status($0) }
            guard let best = report.ranked.first else {
                throw SaegeoError(.device, "\(id): no configuration built and gave correct results; the defaults stay")
            }
            print("rank  GFLOP/s  configuration")
            for (rank, trial) in report.ranked.prefix(8).enumerated() {
                print(String(format: "%4d  %7.1f  %@%@", rank + 1, trial.gflops, trial.configuration,
                             trial.isDefault ? " (default)" : ""))
            }
            let rejected = report.tried - report.ranked.count
            Console.info(String(format: "%@: best %@ at %.1f GFLOP/s, %.2fx the default %@ (%.1f GFLOP/s); %d configurations tried, %d rejected; %.0f s; cached in %@",
                                id, best.configuration, best.gflops, best.gflops / max(report.defaultGflops, 1e-9),
                                report.defaultConfiguration, report.defaultGflops, report.tried, rejected,
                                Date().timeIntervalSince(started), report.storedIn))
        }
    }
}
