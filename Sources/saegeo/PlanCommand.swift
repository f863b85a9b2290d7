import ArgumentParser
import Foundation
import SaegeoCore

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how a neighbors run would be tiled: tiles, bytes per device, transfers, FLOPs, time.",
        discussion: """
        Takes the arguments of 'neighbors' (no -o). Reads only the checkpoint's header and the id files. \
        --assume-memory and --assume-max-allocation plan for a device that is not here (e.g. an 80 GB GPU); \
        --assume-gflops estimates the time.
        """)

    @OptionGroup var sae: SAEOptions

    @Option(help: "'all', or a text file with one feature id per line.")
    var queries = "all"

    @Option(help: "'all', or a text file with one feature id per line.")
    var keys = "all"

    @Option(name: .short, parsing: .unconditional, help: "Neighbours per query.")
    var k: Int

    @OptionGroup var compute: ComputeOptions

    @Option(name: .customLong("assume-memory"), help: "Plan for a GPU with this much memory instead of the selected devices, e.g. 80GiB.")
    var assumeMemory: String?

    @Option(name: .customLong("assume-max-allocation"), help: "Largest single buffer of the assumed GPU (default: a quarter of its memory).")
    var assumeMaxAllocation: String?

    @Option(name: .customLong("assume-gflops"), parsing: .unconditional, help: "Sustained GFLOP/s per device, to estimate the time.")
    var assumeGflops: Double?

    @Flag(help: "Print JSON.")
    var json = false

    struct Report: Encodable {
        let queries: Int
        let keys: Int
        let dimension: Int
        let k: Int
        let candidates: Int
        let allPairs: Bool
        let devices: [TilePlanner.DevicePlan]
        let flops: Double
        let transferBytes: Double
        let estimatedSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case queries, keys, dimension, k, candidates, devices, flops
            case allPairs = "all_pairs", transferBytes = "transfer_bytes", estimatedSeconds = "estimated_seconds"
        }
    }

    func run() throws {
        try Saegeo.reporting {
            if let assumeGflops, !(assumeGflops.isFinite && assumeGflops > 0) {
                throw SaegeoError(.usage, "--assume-gflops \(assumeGflops) is not a speed: give the sustained GFLOP/s of one device, a positive number")
            }
            guard k >= 1 else { throw SaegeoError(.usage, "-k must be at least 1 (got \(k))") }
            let checkpoint = try sae.open()
            let features = checkpoint.dSAE
            let queryIds = try FeatureSelection(argument: queries).resolve(features: features, role: "queries")
            let keyIds = try FeatureSelection(argument: keys).resolve(features: features, role: "keys")
            try NeighborSearch.validate(k: k, queries: queryIds.count, keys: keyIds.count)
            let budget = try compute.budgetBytes()
            var devices: [TilePlanner.Device]
            if let assumeMemory {
                let memory = try ByteCount.parse(assumeMemory)
                let allocation = try assumeMaxAllocation.map(ByteCount.parse) ?? memory / 4
                // A GPU as saegeo's OpenCL engine would use it: 64-row tiles, 16-float rows.
                let layout = TileLayout(rowAlignment: 64, dimensionAlignment: 16, maxAllocationBytes: allocation)
                devices = [TilePlanner.Device(id: "assumed-gpu", capabilities: OpenCLEngine.capabilities(layout: layout),
                                              deviceMemory: memory, budget: budget)]
            } else {
                devices = try compute.engines().map {
                    TilePlanner.Device(id: $0.device.id, capabilities: $0.capabilities,
                                       deviceMemory: $0.device.globalMemoryBytes, budget: budget)
                }
            }
            let problem = NeighborSearch.problem(queries: queryIds, keys: keyIds, dimension: checkpoint.dModel, k: k)
            let plan = try TilePlanner.plan(problem, devices: devices)
            let seconds = assumeGflops.map { plan.flops / ($0 * 1e9 * Double(devices.count)) }
            if let seconds, !seconds.isFinite {
                throw SaegeoError(.usage, "--assume-gflops \(assumeGflops!) is too small to estimate a time; give the sustained GFLOP/s of one device")
            }
            let report = Report(queries: queryIds.count, keys: problem.keys, dimension: checkpoint.dModel, k: k,
                                candidates: problem.candidates, allPairs: problem.allPairs,
                                devices: plan.devices, flops: plan.flops, transferBytes: plan.transferBytes,
                                estimatedSeconds: seconds)
            if json {
                try Console.printJSON(report)
            } else {
                print(text(report))
            }
        }
    }

    func text(_ r: Report) -> String {
        var lines = [
            "\(r.queries) queries x \(r.keys) keys x d \(r.dimension), k \(r.k) (\(r.candidates) candidates per query)"
                + (r.allPairs ? ", all pairs: each pair of tiles computed once" : ""),
        ]
        for device in r.devices {
            let tiles = r.allPairs
                ? "tiles of \(device.keyTile) features"
                : "query blocks of up to \(device.queryBlock), key tiles of \(device.keyTile)"
            lines.append("\(device.id): \(tiles); \(ByteCount.format(device.deviceBytes)) of buffers, \(ByteCount.format(device.stagingBytes)) host staging")
            for buffer in device.buffers {
                lines.append("    \(buffer.name): \(buffer.count) x \(ByteCount.format(buffer.bytes))")
            }
        }
        lines.append(String(format: "%.3g FLOP, %@ transferred to the devices", r.flops, ByteCount.format(Int(r.transferBytes))))
        if let seconds = r.estimatedSeconds {
            lines.append(String(format: "estimated %.1f s at the assumed GFLOP/s per device", seconds))
        }
        return lines.joined(separator: "\n")
    }
}
