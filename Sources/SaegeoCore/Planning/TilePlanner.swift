/// Plans how a neighbour search is cut into tiles on each device: a pure function of the problem
/// shape, each device's layout and limits, and the user's memory budget. Every buffer stays within
/// its device's largest allocation and the buffers of a device together within its budget; a plan
/// that cannot fit fails with the smallest budget that would work.
public enum TilePlanner {
    /// The problem, as far as planning cares.
    public struct Problem: Sendable, Equatable {
        public var queries: Int
        public var keys: Int
        public var dimension: Int
        public var k: Int
        public var candidates: Int
        /// Queries and keys are the same set: each pair of tiles is computed once, for both sides.
        public var allPairs: Bool

        public init(queries: Int, keys: Int, dimension: Int, k: Int, candidates: Int, allPairs: Bool) {
            self.queries = queries
            self.keys = keys
            self.dimension = dimension
            self.k = k
            self.candidates = candidates
            self.allPairs = allPairs
        }
    }

    /// One device as the planner sees it: what its engine declares, and the memory it may use.
    public struct Device: Sendable, Equatable {
        public var id: String
        public var capabilities: DeviceCapabilities
        /// Bytes the plan may use on the device: its memory, or less under --memory-budget.
        public var memoryBytes: Int

        public init(id: String, capabilities: DeviceCapabilities, memoryBytes: Int) {
            self.id = id
            self.capabilities = capabilities
            self.memoryBytes = memoryBytes
        }

        /// A device with `deviceMemory` bytes under an optional budget.
        public init(id: String, capabilities: DeviceCapabilities, deviceMemory: Int, budget: Int?) {
            self.init(id: id, capabilities: capabilities, memoryBytes: TilePlanner.usableMemory(deviceMemory: deviceMemory, budget: budget))
        }

        public var layout: TileLayout { capabilities.layout }
        /// The engine's buffers are host memory: host staging counts against the same memory.
        var isHost: Bool { capabilities.buffersInHostMemory }
    }

    /// What a plan may use of a device: the budget, and without one three quarters of its memory
    /// (a quarter is left to the driver and other programs); never more than the memory.
    public static func usableMemory(deviceMemory: Int, budget: Int?) -> Int {
        min(budget ?? deviceMemory / 4 * 3, deviceMemory)
    }

    public struct Buffer: Sendable, Equatable, Encodable {
        public let name: String
        public let bytes: Int
        public let count: Int
    }

    /// Tiles and buffers for one device.
    public struct DevicePlan: Sendable, Equatable, Encodable {
        public let id: String
        public let queryBlock: Int
        public let keyTile: Int
        public let stride: Int
        public let buffers: [Buffer]
        /// Device (for the CPU: host) memory of the buffers above.
        public let deviceBytes: Int
        /// Host staging for a separate device: key tiles being prepared and in flight.
        public let stagingBytes: Int

        enum CodingKeys: String, CodingKey {
            case id, buffers, stride
            case queryBlock = "query_block", keyTile = "key_tile"
            case deviceBytes = "device_bytes", stagingBytes = "host_staging_bytes"
        }
    }

    public struct Plan: Sendable, Equatable {
        public let problem: Problem
        public let devices: [DevicePlan]
        /// All pairs: every unit tile is prepared once and kept on the host, because they fit
        /// beside the buffers within every device's memory; otherwise tiles are prepared per pair.
        public var keepsTilesResident = false
    }

    static let maxKeyTile = 4096

    static let maxQueryBlock = 8192

    public static func plan(_ problem: Problem, devices: [Device]) throws -> Plan {
        precondition(!devices.isEmpty, "planning needs a device")
        if problem.allPairs {
            // Every device must cut the dictionary the same way: the column candidates of a key
            // tile are shared state. Take the tile that fits all of them.
            let tile = try devices.map { try largestAllPairsTile(problem, $0) }.min()!
            let plans = devices.map { allPairsPlan(problem, $0, tile: tile) }
            let sameLayout = devices.allSatisfy { $0.layout == devices[0].layout }
            let resident = roundUp(max(problem.keys, 1), to: tile) * plans[0].stride * 4
            let fits = zip(devices, plans).allSatisfy { device, plan in
                plan.deviceBytes + (device.isHost ? plan.stagingBytes : 0) + resident <= device.memoryBytes
            }
            return Plan(problem: problem, devices: plans, keepsTilesResident: sameLayout && fits)
        }
        return Plan(problem: problem, devices: try devices.map { try neighborsPlan(problem, $0) })
    }

    // MARK: queries against keys

    static func neighborsBuffers(_ p: Problem, _ d: Device, queryBlock qb: Int, keyTile kt: Int) -> [Buffer] {
        let stride = roundUp(p.dimension, to: d.layout.dimensionAlignment)
        let capacity = roundUp(qb, to: d.layout.rowAlignment)
        let c = max(p.candidates, 1)
        var buffers = [
            Buffer(name: "query tile", bytes: capacity * stride * 4, count: 1),
            Buffer(name: "query ids", bytes: qb * 4, count: 1),
            Buffer(name: "similarity tile", bytes: capacity * kt * 4, count: 1),
            Buffer(name: "candidate scores + ids", bytes: qb * c * 4, count: d.capabilities.candidateBuffers),
        ]
        if d.capabilities.pendsCandidates { buffers += pendingBuffers(rows: qb, perRow: c) }
        let rounded = d.capabilities.firstPassValueBytes
        if rounded > 0 {
            buffers += [Buffer(name: "rounded query tile", bytes: capacity * stride * rounded, count: 1),
                        Buffer(name: "rounded key tile", bytes: kt * stride * rounded, count: 1)]
        }
        let streamed = d.capabilities.streamedTileBuffers
        if streamed > 0 {
            buffers += [Buffer(name: "key tile", bytes: kt * stride * 4, count: streamed),
                        Buffer(name: "key ids", bytes: kt * 4, count: streamed)]
        }
        return buffers
    }

    /// The pending slots of a device that pends candidates (DeviceCapabilities.pendsCandidates):
    /// scores and ids, and a count and a bar per row.
    static func pendingBuffers(rows: Int, perRow: Int) -> [Buffer] {
        [Buffer(name: "pending candidate scores + ids", bytes: rows * DeviceCapabilities.pendingSlots(perRow: perRow) * 4, count: 2),
         Buffer(name: "pending counts + bars", bytes: rows * 4, count: 2)]
    }

    static func total(_ buffers: [Buffer]) -> Int { buffers.reduce(0) { $0 + $1.bytes * $1.count } }

    static func stagingBytes(_ p: Problem, _ d: Device, keyTile kt: Int) -> Int {
        d.capabilities.stagedKeyTiles * kt * roundUp(p.dimension, to: d.layout.dimensionAlignment) * 4
    }

    /// Whether a (query block, key tile) pair fits the device: each buffer within the largest
    /// allocation; all of them (plus host staging on the CPU) within the memory.
    static func fits(_ p: Problem, _ d: Device, queryBlock: Int, keyTile: Int) -> Bool {
        let buffers = neighborsBuffers(p, d, queryBlock: queryBlock, keyTile: keyTile)
        let staging = stagingBytes(p, d, keyTile: keyTile)
        guard buffers.allSatisfy({ $0.bytes <= d.layout.maxAllocationBytes }) else { return false }
        return total(buffers) + (d.isHost ? staging : 0) <= d.memoryBytes
    }

    static func neighborsPlan(_ p: Problem, _ d: Device) throws -> DevicePlan {
        let align = d.layout.rowAlignment
        let keyLimit = roundUp(max(p.keys, 1), to: align)
        let queryLimit = max(1, min(p.queries, maxQueryBlock))
        // Largest query block first (fewest passes over the keys), then the largest key tile.
        var best: (Int, Int)?
        var keyTile = min(keyLimit, max(align, maxKeyTile / align * align))
        while keyTile >= align {
            if fits(p, d, queryBlock: 1, keyTile: keyTile) {
                var low = 1, high = queryLimit
                while low < high {
                    let mid = (low + high + 1) / 2
                    if fits(p, d, queryBlock: mid, keyTile: keyTile) { low = mid } else { high = mid - 1 }
                }
                if best == nil || low > best!.0 { best = (low, keyTile) }
                if low == queryLimit { break }
            }
            if keyTile == align { break }
            keyTile = max(align, keyTile / 2 / align * align)
        }
        guard let (queryBlock, tile) = best else {
            throw tooSmall(p, d, bytes: total(neighborsBuffers(p, d, queryBlock: 1, keyTile: align))
                + (d.isHost ? stagingBytes(p, d, keyTile: align) : 0),
                largest: neighborsBuffers(p, d, queryBlock: 1, keyTile: align).map(\.bytes).max()!)
        }
        let buffers = neighborsBuffers(p, d, queryBlock: queryBlock, keyTile: tile)
        return DevicePlan(id: d.id, queryBlock: queryBlock, keyTile: tile,
                          stride: roundUp(p.dimension, to: d.layout.dimensionAlignment),
                          buffers: buffers, deviceBytes: total(buffers),
                          stagingBytes: stagingBytes(p, d, keyTile: tile) + (d.isHost ? 0 : queryBlock * roundUp(p.dimension, to: d.layout.dimensionAlignment) * 4))
    }

    // MARK: all pairs

    static func allPairsBuffers(_ p: Problem, _ d: Device, tile kt: Int) -> [Buffer] {
        let stride = roundUp(p.dimension, to: d.layout.dimensionAlignment)
        let c = max(p.candidates, 1)
        var buffers = [
            Buffer(name: "similarity tile", bytes: kt * kt * 4, count: 1),
            // Every feature is a query: its running candidates live for the whole run.
            Buffer(name: "candidate scores + ids (all features)", bytes: max(p.keys, 1) * c * 4,
                   count: d.capabilities.candidateBuffers),
        ]
        if d.capabilities.pendsCandidates { buffers += pendingBuffers(rows: max(p.keys, 1), perRow: c) }
        let rounded = d.capabilities.firstPassValueBytes
        if rounded > 0 {
            buffers += [Buffer(name: "rounded row tile", bytes: kt * stride * rounded, count: 1),
                        Buffer(name: "rounded column tile", bytes: kt * stride * rounded, count: 1)]
        }
        if d.capabilities.packsColumnTiles {
            // oneDNN's layout may pad both sides to its blocks (64 at most).
            buffers.append(Buffer(name: "packed column tile", bytes: roundUp(kt, to: 64) * roundUp(stride, to: 64) * 2, count: 1))
        }
        let streamed = d.capabilities.streamedTileBuffers
        if streamed > 0 {
            buffers += [Buffer(name: "row tile", bytes: kt * stride * 4, count: 1),
                        Buffer(name: "column tile", bytes: kt * stride * 4, count: streamed),
                        Buffer(name: "tile ids", bytes: kt * 4, count: streamed + 1)]
        }
        return buffers
    }

    static func allPairsFits(_ p: Problem, _ d: Device, tile: Int) -> Bool {
        let buffers = allPairsBuffers(p, d, tile: tile)
        guard buffers.allSatisfy({ $0.bytes <= d.layout.maxAllocationBytes }) else { return false }
        // On the CPU the row tile is staged too: one more tile than the key tiles in flight.
        let staging = (d.capabilities.stagedKeyTiles + 1) * tile * roundUp(p.dimension, to: d.layout.dimensionAlignment) * 4
        return total(buffers) + (d.isHost ? staging : 0) <= d.memoryBytes
    }

    static func largestAllPairsTile(_ p: Problem, _ d: Device) throws -> Int {
        let align = d.layout.rowAlignment
        var tile = min(roundUp(max(p.keys, 1), to: align), max(align, maxKeyTile / align * align))
        while tile >= align {
            if allPairsFits(p, d, tile: tile) { return tile }
            if tile == align { break }
            tile = max(align, tile / 2 / align * align)
        }
        let smallest = allPairsBuffers(p, d, tile: align)
        let staging = d.isHost ? (d.capabilities.stagedKeyTiles + 1) * align * roundUp(p.dimension, to: d.layout.dimensionAlignment) * 4 : 0
        throw tooSmall(p, d, bytes: total(smallest) + staging, largest: smallest.map(\.bytes).max()!)
    }

    static func allPairsPlan(_ p: Problem, _ d: Device, tile: Int) -> DevicePlan {
        let buffers = allPairsBuffers(p, d, tile: tile)
        let stride = roundUp(p.dimension, to: d.layout.dimensionAlignment)
        return DevicePlan(id: d.id, queryBlock: tile, keyTile: tile, stride: stride, buffers: buffers,
                          deviceBytes: total(buffers), stagingBytes: (d.capabilities.stagedKeyTiles + 1) * tile * stride * 4)
    }

    static func tooSmall(_ p: Problem, _ d: Device, bytes: Int, largest: Int) -> SaegeoError {
        if largest > d.layout.maxAllocationBytes {
            return SaegeoError.device("\(d.id): even the smallest tiles need one buffer of \(ByteCount.format(largest)), more than the device's largest allocation of \(ByteCount.format(d.layout.maxAllocationBytes)); use another device")
        }
        return SaegeoError(.usage, "\(d.id): even the smallest tiles need \(ByteCount.format(bytes)) (\(bytes) bytes) but only \(ByteCount.format(d.memoryBytes)) may be used; pass --memory-budget \(bytes) or more")
    }
}

extension TilePlanner.Plan {
    /// Float32 multiply-adds (2 flops each) of the similarity tiles. All pairs count each pair of
    /// tiles once: about n * n * d instead of 2 * n * n * d.
    public var flops: Double {
        let d = Double(problem.dimension), n = Double(problem.keys)
        if problem.allPairs, let tile = devices.map(\.keyTile).min(), tile > 0 {
            // Tiles of sizes s_i: pairs I <= J cost s_I * s_J * 2d, which sums to d (n^2 + sum s_i^2).
            let full = Double(problem.keys / tile), last = Double(problem.keys % tile), t = Double(tile)
            return d * (n * n + full * t * t + last * last)
        }
        return 2 * Double(problem.queries) * n * d
    }

    /// Bytes sent to the devices: every key tile once per query block, and the queries.
    public var transferBytes: Double {
        guard let first = devices.first else { return 0 }
        let row = Double(first.stride * 4)
        if problem.allPairs {
            let tiles = (Double(problem.keys) / Double(first.keyTile)).rounded(.up)
            return row * Double(first.keyTile) * (tiles * (tiles + 1) / 2 + tiles)
        }
        let blocks = (Double(problem.queries) / Double(first.queryBlock)).rounded(.up)
        return row * (blocks * Double(problem.keys) + Double(problem.queries))
    }
}
