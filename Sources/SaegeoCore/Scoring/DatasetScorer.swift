import Foundation

/// Scores every sample of a dataset on the CPU (DESIGN.md): score = sum a p / sum a over the
/// sample's tokens and features, 0 when nothing is active. Activations are streamed in chunks of
/// whole samples and the encoder in tiles of features, so the [rows, d_sae] activations are never
/// materialised: each tile's pre-activations are reduced to per-sample sums at once.
public struct DatasetScorer: Sendable {
    public struct Result: Sendable {
        public var scores: [Float]
        public var active: [Int64]
        /// sum over all samples and tokens of a_f, per feature (the dataset-level figures use it).
        public var featureActivation: [Double]
        /// Per sample, up to `explain` features with the largest sum of a p over the sample:
        /// (feature, summed activation), largest first.
        public var explanations: [[(feature: Int, activation: Double)]]
    }

    public let encoder: SAEEncoder
    public let proximity: [Float]
    public let activations: ActivationsFile
    public var rowChunk = 2048
    public var featureTile = 4096
    /// Features to explain each sample with (0: none).
    public var explain = 0
    /// Token rows holding NaN or infinity: refused (the default), or left out and counted.
    public var skipNonFinite = false
    /// How many token rows were left out for non-finite values (with `skipNonFinite`).
    public let skippedRows = RowCounter()

    /// A count shared by the device threads.
    public final class RowCounter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        public var value: Int { lock.withLock { count } }
        func add(_ n: Int) { lock.withLock { count += n } }
    }

    /// Chunk and tile sizes within a memory budget: the activation chunk, its float32 copy, the
    /// encoder tile and the pre-activation tile (plus TopK's running state) together.
    public mutating func fit(memoryBudget: Int) throws {
        let d = encoder.dimension
        let k: Int = { if case .topK(let k) = encoder.activation { return k } else { return 0 } }()
        func bytes(_ rows: Int, _ tile: Int) -> Int { rows * d * 4 + tile * d * 4 + rows * tile * 4 + rows * k * 8 }
        var rows = rowChunk, tile = min(featureTile, encoder.features)
        while bytes(rows, tile) > memoryBudget, rows > 16 || tile > 16 {
            if rows >= tile { rows /= 2 } else { tile /= 2 }
        }
        guard bytes(rows, tile) <= memoryBudget else {
            throw SaegeoError(.usage, "scoring needs at least \(bytes(rows, tile)) bytes for its smallest tiles; pass --memory-budget \(bytes(rows, tile)) or more")
        }
        rowChunk = rows
        featureTile = tile
    }

    public init(encoder: SAEEncoder, proximity: [Float], activations: ActivationsFile) throws {
        guard activations.rows.dimension == encoder.dimension else {
            throw SaegeoError.badInput("\(activations.path): activations have d_model \(activations.rows.dimension) but the SAE expects \(encoder.dimension)")
        }
        self.encoder = encoder
        self.proximity = proximity
        self.activations = activations
    }

    /// Where the chunks of samples begin, from sample 0, and the end. A sample's score is only
    /// bit-reproducible within the same chunk (BLAS may sum a row differently in a product of
    /// another height), so shards and checkpoint blocks are cut at these boundaries.
    public func chunkBoundaries() -> [Int] {
        var boundaries = [0]
        while boundaries.last! < activations.samples {
            boundaries.append(ChunkCursor.chunkEnd(from: boundaries.last!, starts: activations.sampleStarts,
                                                   limit: activations.samples, rowChunk: rowChunk))
        }
        return boundaries
    }

    /// Scores the samples in `range` (all by default; results are indexed from its start) on the
    /// CPU, or on the OpenCL devices given (nil stands for the CPU). Several devices take chunks
    /// of samples from one queue, so faster devices take more. A sample's result does not depend
    /// on the samples around it or on how they are chunked.
    public func run(samples range: Range<Int>? = nil, on devices: [OpenCLScoreEngine?] = [nil],
                    cancellation: Cancellation = Cancellation(),
                    progress: (@Sendable (ProgressReport) -> Void)? = nil) throws -> Result {
        let range = range ?? 0..<activations.samples
        // This run's own flag: a failed device stops the others without raising the caller's.
        let cancellation = Cancellation(parent: cancellation)
        let totals = ScoreTotals(first: range.lowerBound, samples: range.count, features: encoder.features, explain: explain)
        let cursor = ChunkCursor(starts: activations.sampleStarts, samples: range, rowChunk: rowChunk)
        let rowsInRange = activations.sampleStarts[range.upperBound] - activations.sampleStarts[range.lowerBound]
        let counter = ProgressCounter(total: max(1, (rowsInRange + rowChunk - 1) / rowChunk), report: progress)
        let scorer = self
        @Sendable func work(_ handle: DeviceHandle) throws {
            var state = DeviceState(scorer: scorer, engine: handle.engine)
            while let (sample, end) = cursor.next() {
                try cancellation.check()
                totals.merge(try state.process(samples: sample..<end))
                counter.add(tiles: 1, flops: 2 * Double(scorer.activations.sampleStarts[end] - scorer.activations.sampleStarts[sample])
                                * Double(scorer.encoder.features) * Double(scorer.encoder.dimension))
            }
        }
        let handles = devices.map { DeviceHandle(engine: $0) }
        // One device works on this thread (no thread of its own, whose stack is small).
        if handles.count == 1 {
            try work(handles[0])
            return totals.result()
        }
        let group = DispatchGroup()
        let failure = ResultBox()
        for handle in handles {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    try work(handle)
                } catch {
                    failure.set(error)
                    cancellation.cancel()
                }
            }
        }
        group.wait()
        if let error = failure.error { throw error }
        return totals.result()
    }

    /// One device's working state: its copy of the current encoder tile.
    struct DeviceState {
        let scorer: DatasetScorer
        let engine: OpenCLScoreEngine?
        var weights: [Float] = []
        var loadedTile: Range<Int>?

        init(scorer: DatasetScorer, engine: OpenCLScoreEngine?) {
            self.scorer = scorer
            self.engine = engine
        }

        /// Scores the samples of one chunk; returns the parts' sums.
        mutating func process(samples range: Range<Int>) throws -> [AccumulatorPart] {
            let encoder = scorer.encoder, activations = scorer.activations, proximity = scorer.proximity
            let d = encoder.dimension, features = encoder.features, explain = scorer.explain
            let tile = min(scorer.featureTile, features)
            let sample = range.lowerBound, end = range.upperBound
            let firstRow = activations.sampleStarts[sample], rows = activations.sampleStarts[end] - firstRow
            var x = try scorer.readRows(firstRow, rows)
            try engine?.setRows(x, count: rows, dimension: d)
            var topK = TopKState(encoder: encoder, rows: rows)
            let isTopK: Bool = { if case .topK = encoder.activation { return true } else { return false } }()
            // TopK on the CPU: the chunk's samples split among the cores, each part reducing its own
            // samples. ReLU / JumpReLU on the CPU split the features instead (see reduceOnCores),
            // and a device reduces on its own: one part.
            let cpuFeatureSplit = engine == nil && !isTopK
            let cores = engine == nil && !cpuFeatureSplit ? min(end - sample, ProcessInfo.processInfo.activeProcessorCount) : 1
            let parts = (0..<cores).map { c -> AccumulatorPart in
                let first = sample + (end - sample) * c / cores, last = sample + (end - sample) * (c + 1) / cores
                return AccumulatorPart(first: first, accumulators: SampleAccumulators(samples: last - first, explain: explain))
            }
            if weights.count < tile * d { weights = [Float](repeating: 0, count: tile * d) }
            for f0 in stride(from: 0, to: features, by: tile) {
                let f1 = min(features, f0 + tile)
                // When one tile holds every feature, the encoder is copied once for the whole run.
                // On the CPU a columns-layout encoder (W_enc [d_model, d_sae]) keeps that orientation:
                // the tile is copied as a stream and multiplied without a transpose.
                let columns = engine == nil && encoder.weights.layout == .columns
                if loadedTile != f0..<f1 {
                    weights.withUnsafeMutableBufferPointer { w in
                        let base = UnsafeSendablePointer(w.baseAddress!), matrix = encoder.weights
                        if columns {
                            matrix.copyColumns(f0..<f1, into: base.pointer)
                        } else {
                            parallelChunks(f1 - f0) { range in
                                for j in range { matrix.copyFeature(f0 + j, into: base.pointer + j * d) }
                            }
                        }
                    }
                    encoder.weights.releasePages(ofFeatures: f0..<f1)
                    loadedTile = f0..<f1
                    try engine?.setTile(weights: Array(weights.prefix((f1 - f0) * d)), count: f1 - f0, dimension: d,
                                        bias: encoder.bias[f0..<f1], threshold: encoder.thresholds?[f0..<f1],
                                        proximity: proximity[f0..<f1])
                }
                if let engine, !isTopK {
                    let starts = (sample...end).map { Int32(activations.sampleStarts[$0] - firstRow) }
                    let sums = try engine.reduce(sampleStarts: starts, keepFeatureSums: explain > 0)
                    parts[0].accumulators.add(sums, features: f0..<f1, proximity: proximity)
                    continue
                }
                if cpuFeatureSplit {
                    scorer.reduceOnCores(x, rows: rows, weights: weights, features: f0..<f1, columns: columns,
                                         samples: sample..<end, firstRow: firstRow, into: parts[0])
                    continue
                }
                let pre = try engine?.preActivations() ?? scorer.multiply(&x, rows: rows, weights: weights, count: f1 - f0, columns: columns)
                if isTopK {
                    topK.offer(pre, features: f0..<f1, bias: encoder.bias)
                } else {
                    let starts = activations.sampleStarts
                    DispatchQueue.concurrentPerform(iterations: parts.count) { c in
                        parts[c].accumulators.add(pre, features: f0..<f1, encoder: encoder, proximity: proximity,
                                                  sampleStarts: starts, firstSample: parts[c].first, firstRow: firstRow)
                    }
                }
            }
            if isTopK {
                let state = topK, starts = activations.sampleStarts
                DispatchQueue.concurrentPerform(iterations: parts.count) { c in
                    parts[c].accumulators.add(state, proximity: proximity, sampleStarts: starts,
                                              firstSample: parts[c].first, firstRow: firstRow)
                }
            }
            activations.rows.releasePages(ofFeatures: firstRow..<(firstRow + rows))
            return parts
        }
    }
}
