import ArgumentParser
import Foundation
import SaegeoCore

/// "Which node should run this job, and how long will it take?"
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark devices with the same workloads, or compare the JSON of earlier runs.",
        subcommands: [BenchRun.self, BenchCompare.self],
        defaultSubcommand: BenchRun.self)
}

struct BenchRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Measure each device: fp32 peak, bandwidth, transfer, the similarity kernel, top-k, and end-to-end neighbors and score at Gemma Scope shapes.",
        discussion: """
        The end-to-end workloads are scaled to a time budget from each device's own speed and \
        projected to full size (all pairs of a 16k x 2304 dictionary; 1M tokens through it). \
        Each device gets about --budget seconds; --quick is --budget 25 (under a minute per device).
        """)

    @Option(help: "Devices: all, cpu, opencl:N, opencl:all, or a comma-separated list.")
    var device = "all"

    @Flag(help: "Shorter probes and smaller workloads: --budget 25.")
    var quick = false

    @Option(help: "About how many seconds each device may take (default 120).", transform: NumberArgument.double)
    var budget: Double?

    @Option(help: "Also write every figure to this JSON file (for 'saegeo bench compare').")
    var json: String?

    @OptionGroup var progress: ProgressOptions

    func run() throws {
        try Saegeo.reporting {
            try progress.apply()
            if let json { try AtomicOutput.checkWritable(json) }
            let options = try EngineOptions.fromEnvironment()
            let catalog = try DeviceCatalog.standard(openCL: .init(tuning: options.tuning))
            let ids = device == "all" ? catalog.descriptions.map(\.id) : try catalog.resolve(device)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("saegeo-bench-\(getpid())").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let seconds = budget ?? (quick ? 25 : 120)
            guard seconds > 0, seconds.isFinite else { throw SaegeoError(.usage, "--budget must be a positive number of seconds") }
            let bench = DeviceBench(budget: seconds, folder: folder)
            var devices: [BenchReport.DeviceFigures] = []
            for id in ids {
                let started = Date()
                devices.append(try bench.run(device: id, catalog: catalog) { Console.status($0) })
                Console.info(String(format: "%@ done in %.1f s", id, Date().timeIntervalSince(started)))
            }
            let formatter = ISO8601DateFormatter()
            let report = BenchReport(version: BenchReport.currentVersion, saegeoVersion: Saegeo.version,
                                     createdAt: formatter.string(from: Date()), budgetSeconds: seconds,
                                     host: DeviceBench.host(), devices: devices)
            print(BenchTable.render([(nil, report)]))
            if let json {
                let data = try JSONCoding.encode(report, what: "--json \(json)", snakeCase: true)
                try AtomicOutput.write(to: json) { try $0.write(contentsOf: data) }
                Console.info("wrote \(json)")
            }
        }
    }
}

struct BenchCompare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Side-by-side table of the devices in several 'saegeo bench --json' files, and a bar chart.")

    @Argument(help: "The JSON files of 'saegeo bench --json'.")
    var files: [String] = []

    @Option(help: "Write an SVG bar chart of peak GFLOP/s, similarity GFLOP/s and end-to-end rows/s.")
    var svg: String?

    func run() throws {
        try Saegeo.reporting {
            guard !files.isEmpty else { throw SaegeoError(.usage, "give the JSON files of 'saegeo bench --json' to compare") }
            let job = try Job("bench compare", inputs: files, outputs: svg.map { [("--svg", $0)] } ?? [])
            let reports = try files.map { ($0 as String?, try BenchReport.read($0)) }
            print(BenchTable.render(reports))
            if let svg {
                let chart = BenchChart.svg(reports.map { ($0.0!, $0.1) })
                try job.write(svg) { try $0.write(contentsOf: Data(chart.utf8)) }
                try job.commit()
                Console.info("wrote \(svg)")
            }
        }
    }
}
