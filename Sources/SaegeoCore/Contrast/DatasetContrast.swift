import Foundation

/// Contrasts two activation sets through an SAE's encoder (DESIGN.md, Definitions: contrast):
/// both are streamed in chunks of whole samples through the encoder's tiles on the devices, as
/// `score` streams one (DatasetScorer, so every architecture, device and budget works alike), and
/// the engines reduce each chunk to per-feature statistics (EncoderEpilogue's `featureMoments`:
/// only [tile] arrays leave a device); the [rows, d_sae] activations never exist. Paired sets (the
/// same tokens through two models) are taken a group of chunks at a time from both, each sample's
/// active features handed to the host, so that each sample's differences can be formed.
public struct DatasetContrast: Sendable {
    public struct Result: Sendable, Equatable {
        public var a: FeatureStatistics
        public var b: FeatureStatistics
        /// Paired sets: the statistics of the per-sample differences d_f(s) = m^A_f(s) - m^B_f(s).
        public var differences: FeatureStatistics?

        public init(a: FeatureStatistics, b: FeatureStatistics, differences: FeatureStatistics?) {
            self.a = a
            self.b = b
            self.differences = differences
        }

        public mutating func merge(_ other: Result) {
            a.merge(other.a)
            b.merge(other.b)
            if let d = other.differences { differences?.merge(d) }
        }

        /// Finite out: every feature's mean and variance on each set must be finite before it is
        /// ranked or written (a non-finite one would rank as noise and write tokens no JSON reader
        /// takes); refused naming the feature. The encoder keeps them finite (EncoderRange), so this
        /// is the check that no path, shards and merges included, lets one through.
        public func requireFinite(source: String) throws {
            for (name, set) in [("A", a), ("B", b), ("the paired differences", differences)] {
                guard let set else { continue }
                for f in 0..<set.features where !set.mean(f).isFinite || !set.variance(f).isFinite {
                    throw SaegeoError.badInput("\(source): feature \(f)'s statistics on \(name) are not finite (mean \(set.mean(f)), variance \(set.variance(f))); its activations overflow: check the activations' scale")
                }
            }
        }
    }

    public let encoder: SAEEncoder
    public let a: ActivationsFile
    public let b: ActivationsFile
    public let paired: Bool
    /// Chunks and tiles, as DatasetScorer plans them (the same for both sets).
    public var rowChunk = ScorePlanner.defaultRowChunk
    public var featureTile = ScorePlanner.defaultFeatureTile
    /// Chunks of a paired group: both sets' active features of a group are held at once.
    static let pairedGroupChunks = 16

    public init(encoder: SAEEncoder, a: ActivationsFile, b: ActivationsFile, paired: Bool) throws {
        for set in [a, b] where set.rows.dimension != encoder.dimension {
            throw SaegeoError.badInput("\(set.path): activations have d_model \(set.rows.dimension) but the SAE expects \(encoder.dimension)")
        }
        if paired {
            guard a.samples == b.samples else {
                throw SaegeoError.badInput("--paired needs the same samples in both sets, and \(a.path) holds \(a.samples) while \(b.path) holds \(b.samples)")
            }
            if let s = Self.firstDifferentLength(a.sampleStarts, b.sampleStarts) {
                let rowsA: Int = a.sampleStarts[s + 1] - a.sampleStarts[s]
                let rowsB: Int = b.sampleStarts[s + 1] - b.sampleStarts[s]
                throw SaegeoError.badInput("--paired needs the same tokens in both sets, and sample \(s) has \(rowsA) rows in \(a.path) but \(rowsB) in \(b.path); check the offsets")
            }
        }
        self.encoder = encoder
        self.a = a
        self.b = b
        self.paired = paired
    }

    /// The first sample whose length differs between two offset lists of as many samples.
    static func firstDifferentLength(_ x: [Int], _ y: [Int]) -> Int? {
        for s in 0..<(x.count - 1) {
            let lengthX: Int = x[s + 1] - x[s]
            let lengthY: Int = y[s + 1] - y[s]
            if lengthX != lengthY { return s }
        }
        return nil
    }

    public mutating func plan(for engines: [ComputeEngine], memoryBudget: Int?) throws {
        var scorer = try scorer(a, sink: nil)
        // Unpaired sets reduce their moments on the devices: their buffers are in the plan.
        if !paired { scorer.momentsSink = { _ in } }
        try scorer.plan(for: engines, memoryBudget: memoryBudget)
        rowChunk = scorer.rowChunk
        featureTile = scorer.featureTile
    }

    /// A scorer of one set that hands its chunks' active features to `sink` (scores unused).
    func scorer(_ set: ActivationsFile, sink: (@Sendable (Int, [[SampleFeature]]) -> Void)?) throws -> DatasetScorer {
        var scorer = try DatasetScorer(encoder: encoder, proximity: [Float](repeating: 0, count: encoder.features), activations: set)
        scorer.rowChunk = rowChunk
        scorer.featureTile = featureTile
        scorer.featureSink = sink
        return scorer
    }

    /// Where each set's chunks begin (shards are cut at these, as for `score`).
    public func chunkBoundaries() throws -> (a: [Int], b: [Int]) {
        (try scorer(a, sink: nil).chunkBoundaries(), try scorer(b, sink: nil).chunkBoundaries())
    }

    /// Reduces samples `rangeA` of A and `rangeB` of B (all by default; paired: the same range).
    public func run(a rangeA: Range<Int>? = nil, b rangeB: Range<Int>? = nil, on engines: [ComputeEngine],
                    cancellation: Cancellation = Cancellation(),
                    progress: (@Sendable (String, ProgressReport) -> Void)? = nil) throws -> Result {
        let rangeA = rangeA ?? 0..<a.samples, rangeB = rangeB ?? 0..<b.samples
        let result = paired
            ? try runPaired(rangeA, on: engines, cancellation: cancellation, progress: progress)
            : Result(a: try reduce(a, rangeA, "A", on: engines, cancellation: cancellation, progress: progress),
                     b: try reduce(b, rangeB, "B", on: engines, cancellation: cancellation, progress: progress),
                     differences: nil)
        try result.requireFinite(source: "\(a.path) and \(b.path)")
        return result
    }

    /// One set's statistics, streamed: the engines reduce each chunk to per-feature moments
    /// (EncoderEpilogue's `featureMoments`), merged here as chunks finish.
    private func reduce(_ set: ActivationsFile, _ range: Range<Int>, _ name: String, on engines: [ComputeEngine],
                        cancellation: Cancellation, progress: (@Sendable (String, ProgressReport) -> Void)?) throws -> FeatureStatistics {
        let statistics = Locked(FeatureStatistics(features: encoder.features))
        var scorer = try scorer(set, sink: nil)
        scorer.momentsSink = { part in statistics.withLock { $0.merge(part) } }
        var report: (@Sendable (ProgressReport) -> Void)? = nil
        if let progress { report = { progress(name, $0) } }
        _ = try scorer.run(samples: range, on: engines, cancellation: cancellation, progress: report)
        return statistics.current
    }

    /// Paired sets, a group of chunks at a time: both sets' features of the group, then the
    /// per-sample differences.
    private func runPaired(_ range: Range<Int>, on engines: [ComputeEngine], cancellation: Cancellation,
                           progress: (@Sendable (String, ProgressReport) -> Void)?) throws -> Result {
        var result = Result(a: FeatureStatistics(features: encoder.features), b: FeatureStatistics(features: encoder.features),
                            differences: FeatureStatistics(features: encoder.features))
        let chunks = try scorer(a, sink: nil).chunks(of: range)
        for group in stride(from: 0, to: chunks.count, by: Self.pairedGroupChunks) {
            try cancellation.check()
            let last = min(chunks.count, group + Self.pairedGroupChunks)
            let samples = chunks[group].lowerBound..<chunks[last - 1].upperBound
            var active: [[[SampleFeature]]] = []
            for (name, set) in [("A", a), ("B", b)] {
                let kept = Locked([[SampleFeature]](repeating: [], count: samples.count))
                let base = samples.lowerBound
                let sink: @Sendable (Int, [[SampleFeature]]) -> Void = { first, features in
                    kept.withLock { kept in
                        for (s, f) in features.enumerated() { kept[first + s - base] = f }
                    }
                }
                let scorer = try scorer(set, sink: sink)
                let label = "\(name), samples \(samples.lowerBound)..<\(samples.upperBound)"
                var report: (@Sendable (ProgressReport) -> Void)? = nil
                if let progress { report = { progress(label, $0) } }
                _ = try scorer.run(samples: samples, on: engines, cancellation: cancellation, progress: report)
                active.append(kept.current)
            }
            for s in samples {
                let i = s - samples.lowerBound
                let length: Int = a.sampleStarts[s + 1] - a.sampleStarts[s]
                result.a.add(sample: active[0][i], length: length)
                result.b.add(sample: active[1][i], length: length)
                result.differences!.add(difference: active[0][i], active[1][i], length: length)
            }
        }
        return result
    }
}
