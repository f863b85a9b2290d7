import Foundation

/// `contrast --shard`: the work is the chunks of A followed by the chunks of B (for paired sets,
/// the chunks of both at once), cut into contiguous ranges like any shard. A shard writes the
/// per-feature statistics of its chunks (FeatureStatistics, as tensors of one row) with its
/// manifest; a resumed shard saves them per block of chunks; `merge` adds the shards'
/// statistics and ranks, writing exactly the single run's output.
extension DatasetContrast {
    /// Work items: chunks of A then of B, or for paired sets the shared chunks.
    public func workItems() throws -> Int {
        let (a, b) = try chunkBoundaries()
        return paired ? a.count - 1 : (a.count - 1) + (b.count - 1)
    }

    /// The statistics of work items `items` (a shard's or a block's).
    public func run(items: Range<Int>, on engines: [ComputeEngine], cancellation: Cancellation = Cancellation(),
                    progress: (@Sendable (String, ProgressReport) -> Void)? = nil) throws -> Result {
        let (a, b) = try chunkBoundaries()
        let chunksA = a.count - 1
        func samples(_ chunks: Range<Int>, _ boundaries: [Int]) -> Range<Int> {
            chunks.isEmpty ? 0..<0 : boundaries[chunks.lowerBound]..<boundaries[chunks.upperBound]
        }
        if paired {
            let range = samples(items, a)
            return try run(a: range, b: range, on: engines, cancellation: cancellation, progress: progress)
        }
        let ofA = items.clamped(to: 0..<chunksA)
        let ofB = items.clamped(to: chunksA..<(chunksA + b.count - 1))
        return try run(a: samples(ofA, a), b: samples((ofB.lowerBound - chunksA)..<(ofB.upperBound - chunksA), b),
                       on: engines, cancellation: cancellation, progress: progress)
    }
}

extension DatasetContrast.Result {
    /// As tensors of one row each (`a.fires` [1, features], ...), the form shards and checkpoint
    /// blocks hold.
    public var tensors: [OutputTensor] {
        var sets = [("a", a), ("b", b)]
        if let differences { sets.append(("d", differences)) }
        return sets.flatMap { name, s -> [OutputTensor] in
            let parts = s.parts, shape = [1, s.features]
            return [.int64("\(name).samples", shape: [1], [Int64(s.samples)]),
                    .int64("\(name).fires", shape: shape, s.fires), .int64("\(name).tokens", shape: shape, s.tokens),
                    .float64("\(name).sum_high", shape: shape, parts.sumHigh), .float64("\(name).sum_low", shape: shape, parts.sumLow),
                    .float64("\(name).squares_high", shape: shape, parts.squaresHigh),
                    .float64("\(name).squares_low", shape: shape, parts.squaresLow)]
        }
    }

    /// Rows of such tensors (blocks or shards, joined along the first axis) added in row order.
    public init(tensors: [OutputTensor], features: Int, source: String) throws {
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        func set(_ name: String) throws -> FeatureStatistics? {
            guard let samples = byName["\(name).samples"] else { return nil }
            let counts = samples.values(Int64.self), rows = counts.count
            func column<T: BitwiseCopyable>(_ part: String, _ type: T.Type) throws -> [T] {
                guard let t = byName["\(name).\(part)"], t.shape == [rows, features] else {
                    throw SaegeoError.badInput("\(source): contrast statistics '\(name).\(part)' are missing or not [\(rows), \(features)]; compute it again")
                }
                return t.values(type)
            }
            let fires = try column("fires", Int64.self), tokens = try column("tokens", Int64.self)
            let sumHigh = try column("sum_high", Double.self), sumLow = try column("sum_low", Double.self)
            let squaresHigh = try column("squares_high", Double.self), squaresLow = try column("squares_low", Double.self)
            var total = FeatureStatistics(features: features)
            for r in 0..<rows {
                let slice = r * features..<(r + 1) * features
                total.merge(FeatureStatistics(samples: Int(counts[r]), fires: Array(fires[slice]), tokens: Array(tokens[slice]),
                                              sumHigh: Array(sumHigh[slice]), sumLow: Array(sumLow[slice]),
                                              squaresHigh: Array(squaresHigh[slice]), squaresLow: Array(squaresLow[slice])))
            }
            return total
        }
        guard let a = try set("a"), let b = try set("b") else {
            throw SaegeoError.badInput("\(source) holds no contrast statistics; merge the shards of a 'saegeo contrast --shard' job")
        }
        self.init(a: a, b: b, differences: try set("d"))
        try requireFinite(source: source)
    }
}
