import Foundation

/// Scores every sample of a dataset (DESIGN.md): score = sum a p / sum a over the sample's tokens
/// and features, 0 when nothing is active. Activations are streamed in chunks of whole samples and
/// the encoder in tiles of features, so the [rows, d_sae] activations are never materialised: each
/// tile is reduced to per-sample sums at once, on any engine (ComputeEngine's encoder tiles).
public struct DatasetScorer: Sendable {
    public struct Result: Sendable {
        public var scores: [Float]
        public var active: [Int64]
        /// sum over all samples and tokens of a_f, per feature, exactly (the dataset-level figures
        /// use it; a shard carries it to merge).
        public var featureMass: FeatureMass
        /// The same, each rounded once to a double.
        public var featureActivation: [Double] { featureMass.values }
        /// Per sample, up to `explain` features with the largest sum of a p over the sample:
        /// (feature, summed activation), largest first.
        public var explanations: [[(feature: Int, activation: Double)]]
        /// Per sample, sum a p and sum a over its tokens and features (the score's numerator and
        /// denominator): the dataset figure's bootstrap resamples these.
        public var sampleNumerators: [Double] = []
        public var sampleDenominators: [Double] = []
    }

    public let encoder: SAEEncoder
    public let proximity: [Float]
    public let activations: ActivationsFile
    /// Token rows per chunk of whole samples, and encoder features per tile (ScorePlanner).
    public var rowChunk = ScorePlanner.defaultRowChunk
    public var featureTile = ScorePlanner.defaultFeatureTile
    /// Features to explain each sample with (0: none).
    public var explain = 0
    /// Token rows holding NaN or infinity: refused (the default), or left out and counted.
    public var skipNonFinite = false
    /// How many token rows were left out for non-finite values (with `skipNonFinite`).
    public let skippedRows = Locked(0)
    /// Given, every chunk's samples are also handed to it with their active features
    /// (`first` sample, then per sample its features in feature order), from the device
    /// threads as chunks finish: paired contrast forms its per-sample differences from these.
    public var featureSink: (@Sendable (_ first: Int, _ features: [[SampleFeature]]) -> Void)?
    /// Given, every chunk's per-feature statistics (FeatureStatistics of its samples, reduced on
    /// the engines: EncoderEpilogue's `featureMoments`) are handed to it as chunks finish, and no
    /// scores are computed (the result's scores and sums are zero): what `contrast` reduces.
    public var momentsSink: (@Sendable (FeatureStatistics) -> Void)?
    /// Given, the encoder tile each engine holds is remembered across runs, so that a stream of
    /// batches on the same engines, encoder and proximities (StreamingScorer) uploads it once.
    public var heldTiles: HeldEncoderTiles?

    public init(encoder: SAEEncoder, proximity: [Float], activations: ActivationsFile) throws {
        guard activations.rows.dimension == encoder.dimension else {
            throw SaegeoError.badInput("\(activations.path): activations have d_model \(activations.rows.dimension) but the SAE expects \(encoder.dimension)")
        }
        // Cosines of live directions are finite by construction (DESIGN.md: a non-finite norm is dead).
        if let f = proximity.firstIndex(where: { !$0.isFinite }) {
            throw SaegeoError.badInput("the toxic proximity of feature \(f) is \(proximity[f]); proximities must be finite")
        }
        self.encoder = encoder
        self.proximity = proximity
        self.activations = activations
    }

    /// Chunk and tile sizes for these engines; `memoryBudget` is the host memory the streaming
    /// tiles may use (nil: the defaults).
    public mutating func plan(for engines: [ComputeEngine], memoryBudget: Int?) throws {
        let problem = ScorePlanner.Problem(features: encoder.features, dimension: encoder.dimension, topK: encoder.activation.k,
                                           featureMoments: momentsSink != nil)
        let devices = engines.map {
            TilePlanner.Device(id: $0.device.id, capabilities: $0.capabilities, deviceMemory: $0.device.globalMemoryBytes,
                               budget: memoryBudget)
        }
        let plan = try ScorePlanner.plan(problem, devices: devices, budget: memoryBudget)
        rowChunk = plan.rowChunk
        featureTile = plan.featureTile
    }

    /// Where the chunks of samples begin, from sample 0, and the end. A sample's score is only
    /// bit-reproducible within the same chunk (BLAS may sum a row differently in a product of
    /// another height), so shards and checkpoint blocks are cut at these boundaries.
    public func chunkBoundaries() -> [Int] {
        var boundaries = [0]
        while boundaries.last! < activations.samples {
            boundaries.append(Self.chunkEnd(from: boundaries.last!, starts: activations.sampleStarts,
                                            limit: activations.samples, rowChunk: rowChunk))
        }
        return boundaries
    }

    /// The end of the chunk that starts at `sample`: as many whole samples as fit in `rowChunk`
    /// rows, at least one (a longer sample gets a chunk of its own).
    static func chunkEnd(from sample: Int, starts: [Int], limit: Int, rowChunk: Int) -> Int {
        var end = sample + 1
        while end < limit, starts[end + 1] - starts[sample] <= rowChunk { end += 1 }
        return end
    }

    /// The chunks of `range`, cut as a run from the range's first sample cuts them.
    func chunks(of range: Range<Int>) -> [Range<Int>] {
        var chunks: [Range<Int>] = [], sample = range.lowerBound
        while sample < range.upperBound {
            let end = Self.chunkEnd(from: sample, starts: activations.sampleStarts, limit: range.upperBound, rowChunk: rowChunk)
            chunks.append(sample..<end)
            sample = end
        }
        return chunks
    }

    /// Scores the samples in `range` (all by default; results are indexed from its start) on the
    /// engines given. The devices take chunks of samples from the scheduler loop on their own
    /// threads, so faster devices take more; the chunks' sums are merged in chunk order. A
    /// sample's result does not depend on the samples around it or on how they are chunked.
    public func run(samples range: Range<Int>? = nil, on engines: [ComputeEngine],
                    cancellation: Cancellation = Cancellation(),
                    progress: (@Sendable (ProgressReport) -> Void)? = nil) throws -> Result {
        precondition(!engines.isEmpty, "scoring needs an engine")
        let range = range ?? 0..<activations.samples
        let totals = ScoreTotals(first: range.lowerBound, samples: range.count, features: encoder.features, explain: explain)
        let chunks = self.chunks(of: range)
        let loop = SchedulerLoop(items: chunks.count, cancellation: cancellation,
                                 progress: ProgressCounter(total: max(1, chunks.count), report: progress))
        let scorer = self
        let held = heldTiles
        try loop.run(on: engines, start: { engine in EncoderTileCursor(loaded: held?.tile(on: engine)) }, item: { engine, tiles, taken in
            let samples = chunks[taken.lowerBound]
            // Checked between encoder tiles too: one chunk against a large SAE can take seconds.
            let parts = try scorer.process(samples: samples, on: engine, tiles: &tiles, between: { try loop.cancellation.check() })
            let rows = scorer.activations.sampleStarts[samples.upperBound] - scorer.activations.sampleStarts[samples.lowerBound]
            try loop.step(flops: 2 * Double(rows) * Double(scorer.encoder.features) * Double(scorer.encoder.dimension))
            return parts
        }, merge: { _, parts in
            if let sink = scorer.featureSink { for part in parts { sink(part.first, part.accumulators.features) } }
            if let sink = scorer.momentsSink {
                for part in parts {
                    sink(FeatureStatistics(samples: part.accumulators.numerator.count, features: scorer.encoder.features,
                                           pieces: part.accumulators.featureMoments))
                }
            }
            totals.merge(parts)
        })
        return totals.result()
    }

    /// Which encoder tile an engine holds: when one tile holds every feature, it is loaded once
    /// for the whole run.
    struct EncoderTileCursor {
        var loaded: Range<Int>?
    }

    /// Which encoder tile each engine (by device id) holds after a run, for the next run of a
    /// scorer with the same encoder and proximities on the same engines.
    public final class HeldEncoderTiles: Sendable {
        private let loaded = Locked([String: Range<Int>]())
        public init() {}
        func tile(on engine: ComputeEngine) -> Range<Int>? { loaded.withLock { $0[engine.device.id] } }
        func remember(_ tile: Range<Int>?, on engine: ComputeEngine) { loaded.withLock { $0[engine.device.id] = tile } }
        /// After a failed run (an engine may have let its buffers go): every tile loads afresh.
        func forgetAll() { loaded.withLock { $0 = [:] } }
    }

    /// Scores the samples of one chunk on one engine; returns the parts' sums. `between` runs after
    /// each encoder tile (the scheduler loop's cancellation check).
    func process(samples range: Range<Int>, on engine: ComputeEngine, tiles: inout EncoderTileCursor,
                 between: () throws -> Void = {}) throws -> [AccumulatorPart] {
        let features = encoder.features, tile = min(featureTile, features)
        let firstRow = activations.sampleStarts[range.lowerBound]
        let rows = activations.sampleStarts[range.upperBound] - firstRow
        let chunk = ActivationChunk(values: try readRows(firstRow, rows), rows: rows, dimension: encoder.dimension,
                                    rowStarts: activations.sampleStarts[range.lowerBound...range.upperBound].map { $0 - firstRow })
        // Finite through: rows whose pre-activations could overflow float32 never reach a device.
        try encoder.range.check(chunk.values, rows: rows, dimension: encoder.dimension, rowStarts: chunk.rowStarts,
                                firstSample: range.lowerBound, firstRow: firstRow, skippingNaN: skipNonFinite,
                                path: activations.path)
        try engine.setActivations(chunk)
        let topK = encoder.activation.k
        let epilogue = EncoderEpilogue(scores: momentsSink == nil, explain: explain, sampleFeatures: featureSink != nil,
                                       featureMoments: momentsSink != nil, selection: topK > 0)
        let lengths = (0..<range.count).map { chunk.rowStarts[$0 + 1] - chunk.rowStarts[$0] }
        var sums = SampleAccumulators(samples: range.count, epilogue: epilogue, lengths: lengths)
        if topK > 0 { sums.selection = TopKState(encoder.activation, features: features, rows: rows) }
        for f0 in stride(from: 0, to: features, by: tile) {
            let f1 = min(features, f0 + tile)
            if tiles.loaded != f0..<f1 {
                // Forgotten first: a load that fails half way leaves no tile to trust.
                heldTiles?.remember(nil, on: engine)
                try engine.loadEncoderTile(EncoderTile(weights: encoder.weights, features: f0..<f1, bias: encoder.bias,
                                                       thresholds: encoder.thresholds, activation: encoder.activation,
                                                       proximity: proximity, magnitude: encoder.magnitude))
                tiles.loaded = f0..<f1
                heldTiles?.remember(f0..<f1, on: engine)
            }
            try engine.reduceEncoderTile(into: &sums)
            try between()
        }
        activations.rows.releasePages(ofFeatures: firstRow..<(firstRow + rows))
        guard topK > 0 else {
            let parts = [AccumulatorPart(first: range.lowerBound, accumulators: sums)]
            try requireFinite(parts)
            return parts
        }
        // TopK's sums from the selection, on the host: the chunk's samples split among the cores,
        // each core filling its own part.
        let cores = min(range.count, ProcessInfo.processInfo.activeProcessorCount)
        var parts = (0..<cores).map { c -> AccumulatorPart in
            let first = range.count * c / cores, last = range.count * (c + 1) / cores
            return AccumulatorPart(first: range.lowerBound + first,
                                   accumulators: sums.empty(samples: last - first))
        }
        let state = sums.selection!, rowStarts = chunk.rowStarts, proximity = self.proximity, first = range.lowerBound
        parts.withUnsafeMutableBufferPointer { buffer in
            let base = UnsafeSendablePointer(buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: cores) { c in
                let part = base.pointer + c, offset = part.pointee.first - first
                part.pointee.accumulators.add(state, proximity: proximity,
                                              rowStarts: rowStarts[offset...(offset + part.pointee.accumulators.numerator.count)])
            }
        }
        try requireFinite(parts)
        return parts
    }

    /// Finite out: the sums that leave the engines, whichever backend made them, are checked once
    /// here before anything is merged or written (EncoderRange keeps them finite; this is the
    /// check that no path, present or future, lets a NaN or an infinity through to the outputs).
    func requireFinite(_ parts: [AccumulatorPart]) throws {
        for part in parts {
            guard let bad = part.accumulators.firstNonFinite() else { continue }
            let sample = bad.sample.map { "sample \(part.first + $0)'s" } ?? "samples \(part.first)..<\(part.first + part.accumulators.numerator.count)'s"
            let feature = bad.feature.map { " of feature \($0)" } ?? ""
            throw SaegeoError.badInput("\(activations.path): \(sample) activations overflow float32 through the encoder (\(bad.what)\(feature) is \(bad.value)); check the activations' scale")
        }
    }
}
