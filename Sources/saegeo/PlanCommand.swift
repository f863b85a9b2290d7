import ArgumentParser
import Foundation
import SaegeoCore

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how a neighbors run would be tiled: tiles, bytes per device, transfers, FLOPs, time.",
        discussion: """
        Takes the arguments of 'neighbors' (no -o). Reads only the checkpoint's header and the id files. \
        --assume-memory and --assume-max-allocation plan for a device that is not here (e.g. an 80 GB GPU); \
        --assume-gflops estimates the time: the arithmetic at that speed plus the transfers at \
        --assume-bandwidth (default \(Int(Plan.defaultBandwidth)) GB/s, PCIe 4.0 x16 in practice).
        """)

    @OptionGroup var sae: SAEOptions

    @Option(help: "'all', or a text file with one feature id per line.")
    var queries = "all"

    @Option(help: "'all', or a text file with one feature id per line.")
    var keys = "all"

    @Option(name: .short, parsing: .unconditional, help: "Neighbours per query.", transform: NumberArgument.int)
    var k: Int

    @OptionGroup var compute: ComputeOptions

    @Option(name: .customLong("assume-memory"), help: "Plan for a GPU with this much memory instead of the selected devices, e.g. 80GiB.")
    var assumeMemory: String?

    @Option(name: .customLong("assume-max-allocation"), help: "Largest single buffer of the assumed GPU (default: a quarter of its memory).")
    var assumeMaxAllocation: String?

    @Option(name: .customLong("assume-gflops"), parsing: .unconditional, help: "Sustained GFLOP/s per device, to estimate the time.", transform: NumberArgument.double)
    var assumeGflops: Double?

    @Option(name: .customLong("assume-bandwidth"), parsing: .unconditional, help: "Host-to-device GB/s per device for the time estimate (default 25: PCIe 4.0 x16 in practice; 4.0 x16 is 31.5 on paper, 5.0 x16 about 50 in practice).", transform: NumberArgument.double)
    var assumeBandwidth: Double?

    /// GB/s a PCIe 4.0 x16 link sustains for large host-to-device copies (31.5 GB/s on paper,
    /// 24 to 26 measured): what a GPU node of today most often has.
    static let defaultBandwidth = 25.0

    @Option(parsing: .unconditional, help: "Plan a job of N shards ('neighbors --shard I/N'): all pairs of one dictionary divide the symmetric schedule's tile pairs, other jobs the queries; prints the largest shard's work.", transform: NumberArgument.int)
    var shards: Int?

    @Flag(help: "Print JSON.")
    var json = false

    /// The largest shard of a sharded job: its FLOPs and, with --assume-gflops, its seconds.
    struct ShardReport: Encodable {
        let shards: Int
        /// All pairs: the tile every shard uses and the job's tile pairs; else nil.
        let pairTile: Int?
        let tilePairs: Int?
        let flops: Double
        let totalFlops: Double
        /// Its arithmetic plus its transfers (taken in proportion to its share of the FLOPs).
        let estimatedSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case shards, flops
            case pairTile = "pair_tile", tilePairs = "tile_pairs", totalFlops = "total_flops", estimatedSeconds = "estimated_seconds"
        }
    }

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
        /// With --assume-gflops: the FLOPs at that speed, the transfers at the bandwidth, their sum.
        let computeSeconds: Double?
        let transferSeconds: Double?
        let bandwidthGBs: Double?
        let estimatedSeconds: Double?
        let shard: ShardReport?
        /// What --precision resolves to on each device, and why.
        let precision: [PrecisionChoice]

        enum CodingKeys: String, CodingKey {
            case queries, keys, dimension, k, candidates, devices, flops, shard, precision
            case allPairs = "all_pairs", transferBytes = "transfer_bytes", estimatedSeconds = "estimated_seconds"
            case computeSeconds = "compute_seconds", transferSeconds = "transfer_seconds", bandwidthGBs = "assumed_bandwidth_gbs"
        }
    }

    func run() throws {
        try Saegeo.reporting {
            if let assumeGflops, !(assumeGflops.isFinite && assumeGflops > 0) {
                throw SaegeoError(.usage, "--assume-gflops \(assumeGflops) is not a speed: give the sustained GFLOP/s of one device, a positive number")
            }
            if let assumeBandwidth {
                guard assumeGflops != nil else {
                    throw SaegeoError(.usage, "--assume-bandwidth sets the transfer speed of the time estimate, and there is no --assume-gflops: add --assume-gflops, or drop --assume-bandwidth")
                }
                guard assumeBandwidth.isFinite, assumeBandwidth > 0 else {
                    throw SaegeoError(.usage, "--assume-bandwidth \(assumeBandwidth) is not a speed: give the host-to-device GB/s of one device, a positive number")
                }
            }
            guard k >= 1 else { throw SaegeoError(.usage, "-k must be at least 1 (got \(k))") }
            let checkpoint = try sae.open()
            let features = checkpoint.dSAE
            let queryIds = try FeatureSelection(argument: queries).resolve(features: features, role: "queries")
            let keyIds = try FeatureSelection(argument: keys).resolve(features: features, role: "keys")
            try NeighborSearch.validate(k: k, queries: queryIds.count, keys: keyIds.count)
            let budget = try compute.budgetBytes()
            var devices: [TilePlanner.Device]
            var precisions: [PrecisionChoice]
            if assumeMaxAllocation != nil, assumeMemory == nil {
                throw SaegeoError(.usage, "--assume-max-allocation describes the GPU of --assume-memory, and there is none: add --assume-memory, or drop --assume-max-allocation")
            }
            if let assumeMemory {
                let memory = try ByteCount.parse(assumeMemory)
                let allocation = try assumeMaxAllocation.map(ByteCount.parse) ?? memory / 4
                guard allocation <= memory else {
                    throw SaegeoError(.usage, "--assume-max-allocation \(assumeMaxAllocation!) is more than --assume-memory \(assumeMemory): one buffer cannot be larger than the device's memory")
                }
                // A GPU as the first backend that drives GPUs would use it (OpenCL: 64-row tiles, 16-float rows).
                guard let capabilities = try DeviceCatalog.standard().assumedGPU(maxAllocationBytes: allocation) else {
                    throw SaegeoError(.usage, "--assume-memory describes a GPU, and no backend drives GPUs")
                }
                devices = [TilePlanner.Device(id: "assumed-gpu", capabilities: capabilities, deviceMemory: memory, budget: budget)]
                precisions = [PrecisionChoice(device: "assumed-gpu", precision: .float32, reason: "the GPU backend has no bfloat16 first pass")]
            } else {
                // What each device's engine would declare, without building one.
                let catalog = try compute.catalog()
                devices = try catalog.resolve(compute.device).map {
                    TilePlanner.Device(id: $0, capabilities: try catalog.capabilities(for: $0),
                                       deviceMemory: try catalog.description(of: $0).globalMemoryBytes, budget: budget)
                }
                precisions = try catalog.resolve(compute.device).map { try catalog.precision(for: $0) }
            }
            let problem = NeighborSearch.problem(queries: queryIds, keys: keyIds, dimension: checkpoint.dModel, k: k,
                                                 firstPass: devices.contains { $0.capabilities.firstPassValueBytes > 0 })
            let plan = try TilePlanner.plan(problem, devices: devices)
            let times = assumeGflops.map { _ in estimate(flops: plan.flops, transferBytes: plan.transferBytes, devices: devices.count) }
            if let times, !times.total.isFinite {
                throw SaegeoError(.usage, "--assume-gflops \(assumeGflops!) or --assume-bandwidth \(bandwidth) is too small to estimate a time; give the sustained GFLOP/s and GB/s of one device")
            }
            let report = Report(queries: queryIds.count, keys: problem.keys, dimension: checkpoint.dModel, k: k,
                                candidates: problem.candidates, allPairs: problem.allPairs,
                                devices: plan.devices, flops: plan.flops, transferBytes: plan.transferBytes,
                                computeSeconds: times?.compute, transferSeconds: times?.transfer,
                                bandwidthGBs: times == nil ? nil : bandwidth, estimatedSeconds: times?.total,
                                shard: try shards.map { try shardReport($0, problem: problem, plan: plan, devices: devices.count) },
                                precision: precisions)
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
        for choice in r.precision {
            lines.append("\(choice.device) computes in \(choice.precision.rawValue): \(choice.reason)")
        }
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
        if let seconds = r.estimatedSeconds, let compute = r.computeSeconds, let transfer = r.transferSeconds, let gbs = r.bandwidthGBs {
            lines.append(String(format: "estimated %.1f s: %.1f s of arithmetic at the assumed GFLOP/s and %.1f s of transfers at %@ GB/s per device (not overlapped: an upper bound)",
                                seconds, compute, transfer, String(format: "%g", gbs)))
        }
        if let shard = r.shard {
            var line = String(format: "in %d shards: the largest does %.3g FLOP", shard.shards, shard.flops)
            if let tile = shard.pairTile, let pairs = shard.tilePairs {
                line += String(format: " (all pairs sharded by tile pairs: %d pairs of tiles of %d features; the shards together %.3g FLOP)",
                               pairs, tile, shard.totalFlops)
            }
            if let seconds = shard.estimatedSeconds { line += String(format: ", estimated %.1f s per shard", seconds) }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}

extension Plan {
    var bandwidth: Double { assumeBandwidth ?? Self.defaultBandwidth }

    /// Seconds for the FLOPs at --assume-gflops and the bytes at --assume-bandwidth, each device
    /// doing its share over its own link. Summed, not overlapped: the staging overlaps the
    /// arithmetic only in part, so the sum is the bound to plan a time limit by.
    func estimate(flops: Double, transferBytes: Double, devices: Int) -> (compute: Double, transfer: Double, total: Double) {
        let compute = flops / (assumeGflops! * 1e9 * Double(devices))
        let transfer = transferBytes / (bandwidth * 1e9 * Double(devices))
        return (compute, transfer, compute + transfer)
    }

    /// The largest shard of an N-shard job. All pairs of one dictionary: the shards' tile pairs
    /// (PairShardPlan, whose tile follows from d_sae and N), every tile pair costing 2 d r c (the
    /// engines compute a diagonal tile whole, as the single run's FLOPs count it); else the largest
    /// share of the queries against every key.
    func shardReport(_ count: Int, problem: TilePlanner.Problem, plan: TilePlanner.Plan, devices: Int) throws -> ShardReport {
        try ShardCount.check(count)  // refuses N < 1 with the usual line
        let d = Double(problem.dimension)
        var report: (flops: Double, total: Double, tile: Int?, pairs: Int?)
        if problem.allPairs {
            let most = PairShardPlan.maxShards(features: problem.keys)
            guard count <= most else {
                throw SaegeoError(.usage, "--shards \(count): all pairs of \(problem.keys) features make at most \(most) tile pairs (tiles of 64), so at most \(most) shards have work; plan fewer shards")
            }
            let pairs = PairShardPlan(features: problem.keys, tile: PairShardPlan.tileSize(features: problem.keys, shards: count), shards: count)
            let flops = (0..<count).map { shard in
                pairs.range(ofShard: shard).reduce(0.0) { sum, index in
                    let pair = pairs.pairs[index]
                    return sum + 2 * d * Double(pairs.tileRange(pair.row).count) * Double(pairs.tileRange(pair.column).count)
                }
            }
            report = (flops.max() ?? 0, flops.reduce(0, +), pairs.tile, pairs.pairs.count)
        } else {
            let largest = ShardCount.largestShare(of: problem.queries, shards: count)
            report = (2 * Double(largest) * Double(problem.keys) * d, plan.flops, nil, nil)
        }
        let share = plan.flops > 0 ? report.flops / plan.flops : 0
        let seconds = assumeGflops.map { _ in estimate(flops: report.flops, transferBytes: plan.transferBytes * share, devices: devices).total }
        return ShardReport(shards: count, pairTile: report.tile, tilePairs: report.pairs, flops: report.flops,
                           totalFlops: report.total, estimatedSeconds: seconds)
    }
}
