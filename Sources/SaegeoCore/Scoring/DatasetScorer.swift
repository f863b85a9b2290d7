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

    /// Rows as float32, b_dec subtracted and scaled as the encoder says. A row with a NaN or an
    /// infinity is refused, or with `skipNonFinite` made all NaN: no comparison with NaN holds, so
    /// it activates nothing on any device and the sample is scored as if the row were absent.
    func readRows(_ first: Int, _ count: Int) throws -> [Float] {
        let d = encoder.dimension
        var x = [Float](repeating: 0, count: max(1, count * d))
        try x.withUnsafeMutableBufferPointer { out in
            if !activations.rows.readFeatures(first..<(first + count), into: out.baseAddress!) {
                for r in 0..<count { activations.rows.copyFeature(first + r, into: out.baseAddress! + r * d) }
            }
            var skipped = 0
            for r in 0..<count {
                let row = out.baseAddress! + r * d
                if let column = (0..<d).first(where: { !row[$0].isFinite }) {
                    guard skipNonFinite else {
                        throw SaegeoError.badInput("\(activations.path): token row \(first + r) holds \(row[column]) at column \(column); fix the activations, or pass --skip-nonfinite to leave such rows out (they are counted)")
                    }
                    for i in 0..<d { row[i] = .nan }
                    skipped += 1
                    continue
                }
                if let b = encoder.decoderBias { for i in 0..<d { row[i] -= b[i] } }
                if encoder.inputScale != 1 { for i in 0..<d { row[i] *= encoder.inputScale } }
            }
            if skipped > 0 { skippedRows.add(skipped) }
        }
        return x
    }

    /// Features per piece of a tile on the CPU: small enough that the cores share a tile evenly,
    /// large enough that each single-threaded product runs at full speed. Fixed, so that the sums
    /// are the same on any number of cores.
    static let cpuPieceWidth = 256

    /// ReLU / JumpReLU of one feature tile on the CPU, the way the neighbour engine works: the
    /// tile's pieces of features are shared among the cores, and each core multiplies its piece
    /// with a single-threaded sgemm and at once reduces it to per-sample sums, so the reductions
    /// run while the other cores multiply (no idle BLAS threads). The pieces' sums are added into
    /// `part` in piece order.
    func reduceOnCores(_ x: [Float], rows: Int, weights: [Float], features: Range<Int>, columns: Bool,
                       samples: Range<Int>, firstRow: Int, into part: AccumulatorPart) {
        let d = encoder.dimension, width = features.count, piece = Self.cpuPieceWidth
        let pieces = (width + piece - 1) / piece
        let results = UnsafeMutableBufferPointer<SampleAccumulators?>.allocate(capacity: pieces)
        results.initialize(repeating: nil)
        defer { results.deinitialize(); results.deallocate() }
        let out = UnsafeSendablePointer(results.baseAddress!)
        let scorer = self, starts = activations.sampleStarts
        CBLAS.setThreads(1)
        x.withUnsafeBufferPointer { xs in
            weights.withUnsafeBufferPointer { w in
                let xBase = UnsafeSendablePointer(UnsafeMutablePointer(mutating: xs.baseAddress!))
                let wBase = UnsafeSendablePointer(UnsafeMutablePointer(mutating: w.baseAddress!))
                DispatchQueue.concurrentPerform(iterations: pieces) { p in
                    let j0 = p * piece, count = min(width, j0 + piece) - j0
                    let pre = [Float](unsafeUninitializedCapacity: max(1, rows * count)) { buffer, initialized in
                        if columns {
                            CBLAS.multiply(m: rows, n: count, k: d, a: xBase.pointer, lda: d,
                                           b: wBase.pointer + j0, ldb: width, c: buffer.baseAddress!, ldc: count)
                        } else {
                            CBLAS.multiplyTransposed(m: rows, n: count, k: d, a: xBase.pointer, lda: d,
                                                     b: wBase.pointer + j0 * d, ldb: d, c: buffer.baseAddress!, ldc: count)
                        }
                        initialized = max(1, rows * count)
                    }
                    var sums = SampleAccumulators(samples: samples.count, explain: scorer.explain)
                    let range = (features.lowerBound + j0)..<(features.lowerBound + j0 + count)
                    sums.add(pre, features: range, encoder: scorer.encoder, proximity: scorer.proximity,
                             sampleStarts: starts, firstSample: samples.lowerBound, firstRow: firstRow)
                    out.pointer[p] = sums
                }
            }
        }
        for p in 0..<pieces { part.accumulators.absorb(results[p]!) }
    }

    /// pre[rows, count] = x . weightsᵀ for a tile of `count` feature rows, or x . weights for a
    /// tile stored as `[d, count]` columns (bias added by the callers).
    func multiply(_ x: inout [Float], rows: Int, weights: [Float], count: Int, columns: Bool = false) -> [Float] {
        var pre = [Float](repeating: 0, count: max(1, rows * count))
        CBLAS.setThreads(ProcessInfo.processInfo.activeProcessorCount)
        pre.withUnsafeMutableBufferPointer { p in
            x.withUnsafeBufferPointer { xs in
                weights.withUnsafeBufferPointer { w in
                    if columns {
                        CBLAS.multiply(m: rows, n: count, k: encoder.dimension, a: xs.baseAddress!, lda: encoder.dimension,
                                       b: w.baseAddress!, ldb: count, c: p.baseAddress!, ldc: count)
                    } else {
                        CBLAS.multiplyTransposed(m: rows, n: count, k: encoder.dimension, a: xs.baseAddress!, lda: encoder.dimension,
                                                 b: w.baseAddress!, ldb: encoder.dimension, c: p.baseAddress!, ldc: count)
                    }
                }
            }
        }
        return pre
    }
}

/// One core's share of a chunk: its first sample and its sums (a class, so each core mutates its
/// own part in place).
final class AccumulatorPart: @unchecked Sendable {
    let first: Int
    var accumulators: SampleAccumulators

    init(first: Int, accumulators: SampleAccumulators) {
        self.first = first
        self.accumulators = accumulators
    }
}

/// Per-sample sums of one chunk of samples, in float64.
struct SampleAccumulators: Sendable {
    var numerator: [Double]
    var denominator: [Double]
    var active: [Int]
    var featureActivation: [Int: Double] = [:]
    /// Per sample, the best (a p summed, feature, a summed) seen so far, at most `explain` of them.
    var best: [[(contribution: Double, feature: Int, activation: Double)]]
    let explain: Int

    init(samples: Int, explain: Int = 0) {
        numerator = [Double](repeating: 0, count: samples)
        denominator = numerator
        active = [Int](repeating: 0, count: samples)
        best = Array(repeating: [], count: explain > 0 ? samples : 0)
        self.explain = explain
    }

    /// Adds the sums of the same samples over other features (a piece of a tile).
    mutating func absorb(_ other: SampleAccumulators) {
        for s in numerator.indices {
            numerator[s] += other.numerator[s]
            denominator[s] += other.denominator[s]
            active[s] += other.active[s]
        }
        for (feature, value) in other.featureActivation { featureActivation[feature, default: 0] += value }
        guard explain > 0 else { return }
        for s in best.indices {
            for entry in other.best[s].sorted(by: { $0.feature < $1.feature }) {
                offer(sample: s, entry)
            }
        }
    }

    /// Keeps the `explain` largest contributions; ties keep the lower feature (offered first).
    mutating func consider(sample s: Int, feature: Int, activation: Double, proximity: Float) {
        guard explain > 0 else { return }
        offer(sample: s, (activation * Double(proximity), feature, activation))
    }

    private mutating func offer(sample s: Int, _ entry: (contribution: Double, feature: Int, activation: Double)) {
        let contribution = entry.contribution
        if best[s].count == explain {
            guard let worst = best[s].indices.min(by: { (best[s][$0].contribution, -best[s][$0].feature) < (best[s][$1].contribution, -best[s][$1].feature) }),
                  contribution > best[s][worst].contribution else { return }
            best[s][worst] = entry
        } else {
            best[s].append(entry)
        }
    }

    func explanation(_ s: Int) -> [(feature: Int, activation: Double)] {
        best[s].sorted { $0.contribution != $1.contribution ? $0.contribution > $1.contribution : $0.feature < $1.feature }
            .map { ($0.feature, $0.activation) }
    }

    /// ReLU / JumpReLU on one tile of pre-activations; features distinct per sample are counted
    /// once however many of its tokens activate them.
    mutating func add(_ pre: [Float], features: Range<Int>, encoder: SAEEncoder, proximity: [Float],
                      sampleStarts: [Int], firstSample: Int, firstRow: Int) {
        let width = features.count
        var seen = [Int](repeating: -1, count: width)
        var totals = [Double](repeating: 0, count: width)
        var sampleTotals = [Double](repeating: 0, count: explain > 0 ? width : 0)
        for s in 0..<numerator.count {
            if explain > 0 { for j in 0..<width { sampleTotals[j] = 0 } }
            defer {
                if explain > 0 {
                    for j in 0..<width where sampleTotals[j] > 0 {
                        consider(sample: s, feature: features.lowerBound + j, activation: sampleTotals[j],
                                 proximity: proximity[features.lowerBound + j])
                    }
                }
            }
            for row in (sampleStarts[firstSample + s] - firstRow)..<(sampleStarts[firstSample + s + 1] - firstRow) {
                for j in 0..<width {
                    let f = features.lowerBound + j
                    let value = pre[row * width + j] + encoder.bias[f]
                    let a: Float
                    switch encoder.activation {
                    case .jumpReLU: a = value > encoder.thresholds![f] ? value : 0
                    default: a = max(value, 0)
                    }
                    guard a > 0 else { continue }
                    numerator[s] += Double(a) * Double(proximity[f])
                    denominator[s] += Double(a)
                    totals[j] += Double(a)
                    if explain > 0 { sampleTotals[j] += Double(a) }
                    if seen[j] != s { seen[j] = s; active[s] += 1 }
                }
            }
        }
        for j in 0..<width where totals[j] > 0 { featureActivation[features.lowerBound + j, default: 0] += totals[j] }
    }

    /// A tile reduced on a device: per-sample float32 sums added in float64.
    mutating func add(_ sums: OpenCLScoreEngine.TileSums, features: Range<Int>, proximity: [Float]) {
        for s in 0..<numerator.count {
            numerator[s] += Double(sums.numerator[s])
            denominator[s] += Double(sums.denominator[s])
            active[s] += Int(sums.active[s])
        }
        for j in 0..<features.count where sums.totals[j] > 0 {
            featureActivation[features.lowerBound + j, default: 0] += Double(sums.totals[j])
        }
        if let featureSums = sums.featureSums, explain > 0 {
            for s in 0..<numerator.count {
                for j in 0..<features.count where featureSums[s * features.count + j] > 0 {
                    consider(sample: s, feature: features.lowerBound + j, activation: Double(featureSums[s * features.count + j]),
                             proximity: proximity[features.lowerBound + j])
                }
            }
        }
    }

    /// TopK: the K largest relu(pre) of each token, gathered over all tiles.
    mutating func add(_ state: TopKState, proximity: [Float], sampleStarts: [Int], firstSample: Int, firstRow: Int) {
        for s in 0..<numerator.count {
            var sums: [Int32: Double] = [:]
            for row in (sampleStarts[firstSample + s] - firstRow)..<(sampleStarts[firstSample + s + 1] - firstRow) {
                for slot in 0..<state.k {
                    let f = state.ids[row * state.k + slot], value = state.values[row * state.k + slot]
                    guard f >= 0, value > 0 else { continue }
                    numerator[s] += Double(value) * Double(proximity[Int(f)])
                    denominator[s] += Double(value)
                    featureActivation[Int(f), default: 0] += Double(value)
                    sums[f, default: 0] += Double(value)
                }
            }
            active[s] = sums.count
            for (f, a) in sums.sorted(by: { $0.key < $1.key }) {
                consider(sample: s, feature: Int(f), activation: a, proximity: proximity[Int(f)])
            }
        }
    }
}

/// The running K largest pre-activations of each token across feature tiles.
struct TopKState: Sendable {
    let k: Int
    var values: [Float]
    var ids: [Int32]

    init(encoder: SAEEncoder, rows: Int) {
        if case .topK(let k) = encoder.activation { self.k = k } else { self.k = 0 }
        values = [Float](repeating: -.infinity, count: rows * k)
        ids = [Int32](repeating: -1, count: rows * k)
    }

    mutating func offer(_ pre: [Float], features: Range<Int>, bias: [Float]) {
        let width = features.count, k = self.k
        let rows = k == 0 ? 0 : values.count / k
        values.withUnsafeMutableBufferPointer { v in
            ids.withUnsafeMutableBufferPointer { i in
                let vBase = UnsafeSendablePointer(v.baseAddress!), iBase = UnsafeSendablePointer(i.baseAddress!)
                parallelChunks(rows) { range in
                    for row in range {
                        let heap = CandidateHeap(scores: vBase.pointer + row * k, ids: iBase.pointer + row * k, capacity: k)
                        for j in 0..<width {
                            let value = pre[row * width + j] + bias[features.lowerBound + j]
                            // Ties at the K-th value keep the lower feature (offered first).
                            if value > heap.threshold { heap.replaceRoot(score: value, id: Int32(features.lowerBound + j)) }
                        }
                    }
                }
            }
        }
    }
}

/// Hands out chunks of whole samples, up to `rowChunk` rows each (a longer sample gets a chunk of
/// its own), to whichever device asks next.
final class ChunkCursor: @unchecked Sendable {
    private let lock = NSLock()
    private let starts: [Int]
    private let rowChunk: Int
    private var sample: Int
    private let samples: Int

    init(starts: [Int], samples range: Range<Int>, rowChunk: Int) {
        self.starts = starts
        self.rowChunk = rowChunk
        sample = range.lowerBound
        samples = range.upperBound
    }

    func next() -> (Int, Int)? {
        lock.lock()
        defer { lock.unlock() }
        guard sample < samples else { return nil }
        let end = Self.chunkEnd(from: sample, starts: starts, limit: samples, rowChunk: rowChunk)
        defer { sample = end }
        return (sample, end)
    }

    /// The end of the chunk that starts at `sample`: as many whole samples as fit in `rowChunk`
    /// rows, at least one.
    static func chunkEnd(from sample: Int, starts: [Int], limit: Int, rowChunk: Int) -> Int {
        var end = sample + 1
        while end < limit, starts[end + 1] - starts[sample] <= rowChunk { end += 1 }
        return end
    }
}

/// The run's results, merged chunk by chunk from every device (disjoint samples).
final class ScoreTotals: @unchecked Sendable {
    private let lock = NSLock()
    private var numerator: [Double]
    private var denominator: [Double]
    private var active: [Int64]
    private var featureActivation: [Double]
    private var explanations: [[(feature: Int, activation: Double)]]
    /// The first sample of the run: results are indexed from it.
    private let first: Int

    init(first: Int, samples: Int, features: Int, explain: Int) {
        self.first = first
        numerator = [Double](repeating: 0, count: samples)
        denominator = numerator
        active = [Int64](repeating: 0, count: samples)
        featureActivation = [Double](repeating: 0, count: features)
        explanations = Array(repeating: [], count: explain > 0 ? samples : 0)
    }

    func merge(_ parts: [AccumulatorPart]) {
        lock.lock()
        defer { lock.unlock() }
        for part in parts {
            let a = part.accumulators
            for s in 0..<a.numerator.count {
                let i = part.first - first + s
                numerator[i] = a.numerator[s]
                denominator[i] = a.denominator[s]
                active[i] = Int64(a.active[s])
                if !explanations.isEmpty { explanations[i] = a.explanation(s) }
            }
            for (f, value) in a.featureActivation.sorted(by: { $0.key < $1.key }) { featureActivation[f] += value }
        }
    }

    func result() -> DatasetScorer.Result {
        lock.lock()
        defer { lock.unlock() }
        var scores = [Float](repeating: 0, count: numerator.count)
        for s in scores.indices where denominator[s] > 0 { scores[s] = Float(numerator[s] / denominator[s]) }
        return DatasetScorer.Result(scores: scores, active: active, featureActivation: featureActivation, explanations: explanations)
    }
}

/// An optional device handed to its own thread.
struct DeviceHandle: @unchecked Sendable {
    let engine: OpenCLScoreEngine?
}

/// The first error of any device thread.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var error: Error?

    func set(_ error: Error) {
        lock.lock()
        if self.error == nil { self.error = error }
        lock.unlock()
    }
}
