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
        /// Contrast's per-feature moments are reduced on the device (their [tile] buffers).
        public var featureMoments: Bool
        /// A host engine's certified first pass keeps the chunk and tile rounded, this many bytes
        /// a value (DeviceCapabilities.firstPassValueBytes; 0 without one).
        public var firstPassValueBytes: Int

        public init(features: Int, dimension: Int, topK: Int, featureMoments: Bool = false, firstPassValueBytes: Int = 0) {
            self.features = features
            self.dimension = dimension
            self.topK = topK
            self.featureMoments = featureMoments
            self.firstPassValueBytes = firstPassValueBytes
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
    /// tile and TopK's running selection (value and id per slot); with a certified first pass also
    /// the rounded chunk and tile with each vector's two norms (double), and the exact path's lists
    /// of pairs to recompute (an Int32 per pair at most).
    static func hostBytes(_ p: Problem, rows: Int, tile: Int) -> Int {
        let float32 = rows * p.dimension * 4 + tile * p.dimension * 4 + rows * tile * 4 + rows * p.topK * 8
        guard p.firstPassValueBytes > 0 else { return float32 }
        return float32 + (rows + tile) * (p.dimension * p.firstPassValueBytes + 16) + rows * tile * 4
    }

    /// A device's buffers for one chunk against one tile, padded to its layout: what the engine
    /// allocates (a chunk holds at most as many samples as rows).
    static func deviceBuffers(_ p: Problem, _ d: TilePlanner.Device, rows: Int, tile: Int) -> [TilePlanner.Buffer] {
        encoderBuffers(dimension: p.dimension, layout: d.layout, rows: rows, samples: rows, tile: tile,
                       featureMoments: p.featureMoments)
    }

    /// Every device buffer of the encoder workload, by the name the engine keeps it under, for a
    /// chunk of `rows` rows in `samples` samples against a tile of `tile` features. The OpenCL
    /// engine allocates exactly these (OpenCLEngine+Encoder.swift asks for them by name), so
    /// the plan's total is what the device holds.
    static func encoderBuffers(dimension: Int, layout: TileLayout, rows: Int, samples: Int, tile: Int,
                               featureMoments: Bool) -> [TilePlanner.Buffer] {
        let stride = roundUp(dimension, to: layout.dimensionAlignment)
        let rowCapacity = roundUp(max(rows, 1), to: layout.rowAlignment), tileCapacity = roundUp(max(tile, 1), to: layout.rowAlignment)
        let perFeature = max(1, tile) * 4, perSample = max(1, samples) * 4, dense = max(1, samples * tile) * 4
        func buffer(_ name: String, _ bytes: Int) -> TilePlanner.Buffer { TilePlanner.Buffer(name: name, bytes: bytes, count: 1) }
        var buffers = [buffer("activation rows", rowCapacity * stride * 4), buffer("encoder tile", tileCapacity * stride * 4)]
        buffers += ["encoder bias", "thresholds", "proximity", "magnitude scale", "magnitude bias"].map { buffer($0, perFeature) }
        buffers += [buffer("similarity tile", rowCapacity * tileCapacity * 4), buffer("sample starts", (max(1, samples) + 1) * 4)]
        buffers += ["numerators", "denominators", "active counts"].map { buffer($0, perSample) }
        buffers += [buffer("feature sums", dense), buffer("feature tokens", dense), buffer("feature totals", perFeature)]
        if featureMoments { buffers += momentNames.map { buffer($0, max(1, tile) * 8) } }
        return buffers
    }

    /// The [tile] buffers of contrast's moments (fires, tokens, the two compensated sums).
    static let momentNames = ["moment fires", "moment tokens", "moment sum high", "moment sum low",
                              "moment squares high", "moment squares low"]

    /// `budget`: what the streaming tiles may use on the host (nil: the defaults).
    public static func plan(_ p: Problem, devices: [TilePlanner.Device], budget: Int?) throws -> Plan {
        var p = p
        p.firstPassValueBytes = devices.filter(\.isHost).map(\.capabilities.firstPassValueBytes).reduce(p.firstPassValueBytes, max)
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
