/// Plans how scoring is cut: chunks of whole samples of up to `rowChunk` token rows, each
/// multiplied by tiles of `featureTile` encoder features. A pure function of the encoder's shape,
/// the devices' declared layouts and limits, and the budget, unit-tested without devices.
///
/// The row chunk depends on the budget only, never on the devices: a sample's score is
/// bit-reproducible only within the same chunk, so shards on different machines must cut alike.
/// The feature tile may shrink for a device's largest allocation or memory.
public enum ScorePlanner {
    public struct Problem: Sendable, Equatable {
        public var features: Int
        public var dimension: Int
        /// K of a TopK encoder (its running selection is kept per row), 0 otherwise.
        public var topK: Int

        public init(features: Int, dimension: Int, topK: Int) {
            self.features = features
            self.dimension = dimension
            self.topK = topK
        }
    }

    public struct Plan: Sendable, Equatable {
        public var rowChunk: Int
        public var featureTile: Int
    }

    public static let defaultRowChunk = 2048
    public static let defaultFeatureTile = 4096
    /// On the host alone, the whole encoder is kept as one tile (copied once for the whole run
    /// instead of once per chunk) when a chunk against it needs at most this much, or the budget.
    public static let residentEncoderLimit = 1 << 30

    /// Host bytes of one chunk against one tile: the float32 chunk, the tile, the pre-activation
    /// tile and TopK's running selection (value and id per slot).
    static func hostBytes(_ p: Problem, rows: Int, tile: Int) -> Int {
        rows * p.dimension * 4 + tile * p.dimension * 4 + rows * tile * 4 + rows * p.topK * 8
    }

    /// A device's buffers for one chunk against one tile, padded to its layout.
    static func deviceBuffers(_ p: Problem, _ d: TilePlanner.Device, rows: Int, tile: Int) -> [TilePlanner.Buffer] {
        let stride = roundUp(p.dimension, to: d.layout.dimensionAlignment)
        let rowCapacity = roundUp(rows, to: d.layout.rowAlignment), tileCapacity = roundUp(tile, to: d.layout.rowAlignment)
        return [TilePlanner.Buffer(name: "activation rows", bytes: rowCapacity * stride * 4, count: 1),
                TilePlanner.Buffer(name: "encoder tile", bytes: tileCapacity * stride * 4, count: 1),
                TilePlanner.Buffer(name: "pre-activation tile", bytes: rowCapacity * tileCapacity * 4, count: 1),
                TilePlanner.Buffer(name: "per-sample feature sums", bytes: rows * tile * 4, count: 1)]
    }

    /// `budget`: what the streaming tiles may use on the host (nil: the defaults).
    public static func plan(_ p: Problem, devices: [TilePlanner.Device], budget: Int?) throws -> Plan {
        var rows = defaultRowChunk, tile = max(1, min(defaultFeatureTile, p.features))
        if let budget {
            while hostBytes(p, rows: rows, tile: tile) > budget, rows > 16 || tile > 16 {
                if rows >= tile { rows /= 2 } else { tile /= 2 }
            }
            guard hostBytes(p, rows: rows, tile: tile) <= budget else {
                throw SaegeoError(.usage, "scoring needs at least \(hostBytes(p, rows: rows, tile: tile)) bytes for its smallest tiles; pass a larger --memory-budget (twice that or more)")
            }
        }
        if !devices.isEmpty, devices.allSatisfy(\.isHost),
           hostBytes(p, rows: rows, tile: p.features) <= (budget ?? residentEncoderLimit) {
            tile = max(1, p.features)
        }
        for device in devices where !device.isHost {
            func fits(_ tile: Int) -> Bool {
                let buffers = deviceBuffers(p, device, rows: rows, tile: tile)
                return buffers.allSatisfy { $0.bytes <= device.layout.maxAllocationBytes }
                    && TilePlanner.total(buffers) <= device.memoryBytes
            }
            while !fits(tile), tile > 1 { tile /= 2 }
            guard fits(tile) else {
                let needed = TilePlanner.total(deviceBuffers(p, device, rows: rows, tile: 1))
                throw SaegeoError.device("\(device.id): a chunk of \(rows) token rows needs \(ByteCount.format(needed)) on the device, more than its largest allocation or the memory it may use; pass a smaller --memory-budget to cut smaller chunks, or use another device")
            }
        }
        return Plan(rowChunk: rows, featureTile: tile)
    }
}
