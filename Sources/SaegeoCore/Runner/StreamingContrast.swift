import Foundation

/// `contrast` fed batch by batch: each batch of whole samples of set A or B is reduced on the
/// devices to per-feature statistics as `saegeo contrast` reduces a file (DatasetContrast's plan,
/// chunks from the batch's first sample) and merged (FeatureStatistics' compensated sums), and
/// `ranking` ranks every feature as the CLI does. Paired sets (the same tokens through two models)
/// keep each batch's per-sample active features until the other set's batch of the same number
/// comes, then form the per-sample differences: A's and B's batches must come in matching pairs
/// (the same samples, the same lengths). Not for concurrent use.
public final class StreamingContrast {
    public enum Set: String, Sendable { case a = "A", b = "B" }

    public let encoder: SAEEncoder
    public let paired: Bool
    private let checkpoint: SAECheckpoint
    private let devices: JobDevices
    private let engines: [ComputeEngine]
    private let tileBudget: Int?
    private var result: DatasetContrast.Result
    /// Paired: per set, the batches whose partner has not come yet (each sample's length and active features).
    private var pending: [Set: [(lengths: [Int], features: [[SampleFeature]])]] = [.a: [], .b: []]
    private var batches: [Set: Int] = [.a: 0, .b: 0]
    /// The encoder tile each engine holds between batches (both sets: the same encoder).
    private var heldTiles = DatasetScorer.HeldEncoderTiles()

    public init(sae: SAECheckpoint, devices: JobDevices, paired: Bool = false) throws {
        encoder = try SAEEncoder(checkpoint: sae)
        checkpoint = sae
        self.devices = devices
        self.paired = paired
        engines = try devices.engines()
        tileBudget = try devices.budget().map { $0 / 2 }
        let features = encoder.features
        result = DatasetContrast.Result(a: FeatureStatistics(features: features), b: FeatureStatistics(features: features),
                                        differences: paired ? FeatureStatistics(features: features) : nil)
    }

    /// Reduces one batch of whole samples into `set`; a batch that fails adds nothing.
    public func add(_ batch: ActivationsFile, to set: Set, events: JobEvents = .silent,
                    cancellation: Cancellation = Cancellation()) throws {
        var contrast = try DatasetContrast(encoder: encoder, a: batch, b: batch, paired: paired)
        let engines = self.engines, tileBudget = self.tileBudget, paired = self.paired, heldTiles = self.heldTiles
        let deviceIds = engines.map(\.device.id).joined(separator: ",")
        let progress = events.progress("contrast \(set.rawValue) on \(deviceIds):")
        let statistics = Locked(FeatureStatistics(features: encoder.features))
        let kept = Locked([[SampleFeature]](repeating: [], count: batch.samples))
        var sink: (@Sendable (Int, [[SampleFeature]]) -> Void)?
        var moments: (@Sendable (FeatureStatistics) -> Void)?
        if paired {
            sink = { first, features in kept.withLock { kept in for (s, f) in features.enumerated() { kept[first + s] = f } } }
        } else {
            moments = { part in statistics.withLock { $0.merge(part) } }
        }
        let (featureSink, momentsSink) = (sink, moments)
        let _: Void = try JobDevices.replanningOnce(budget: tileBudget, engines: engines, events: events) { budget in
            if budget != tileBudget { heldTiles.forgetAll() }
            try contrast.plan(for: engines, memoryBudget: budget)
            var scorer = try contrast.scorer(batch, sink: featureSink)
            scorer.momentsSink = momentsSink
            scorer.heldTiles = heldTiles
            _ = try scorer.run(on: engines, cancellation: cancellation, progress: progress)
        }
        try cancellation.check()
        batches[set, default: 0] += 1
        guard paired else {
            if set == .a { result.a.merge(statistics.current) } else { result.b.merge(statistics.current) }
            return
        }
        let lengths = (0..<batch.samples).map { batch.sampleStarts[$0 + 1] - batch.sampleStarts[$0] }
        let other: Set = set == .a ? .b : .a
        if let partner = pending[other]?.first {
            // Checked before anything is taken, so that a refused batch leaves the pairs as they were.
            guard partner.lengths == lengths else {
                batches[set, default: 0] -= 1
                throw SaegeoError.badInput(Self.mismatch(batch: batches[other]! - pending[other]!.count + 1,
                                                         a: set == .a ? lengths : partner.lengths,
                                                         b: set == .b ? lengths : partner.lengths))
            }
            pending[other]!.removeFirst()
            let (featuresA, featuresB) = set == .a ? (kept.current, partner.features) : (partner.features, kept.current)
            for s in 0..<lengths.count {
                result.a.add(sample: featuresA[s], length: lengths[s])
                result.b.add(sample: featuresB[s], length: lengths[s])
                result.differences!.add(difference: featuresA[s], featuresB[s], length: lengths[s])
            }
        } else {
            pending[set]!.append((lengths, kept.current))
        }
    }

    /// The message for paired batches that do not match: which pair, and how.
    static func mismatch(batch: Int, a: [Int], b: [Int]) -> String {
        var how = "A's holds \(a.count) samples and B's \(b.count)"
        if a.count == b.count, let s = a.indices.first(where: { a[$0] != b[$0] }) {
            how = "sample \(s) of it has \(a[s]) rows in A but \(b[s]) in B"
        }
        return "paired contrast needs A's and B's batches in matching pairs (the same samples, the same lengths), and in pair \(batch) \(how); add the same samples to both sets in the same batches"
    }

    /// Every feature ranked as `saegeo contrast` ranks it; the toxic measurement when `toxic` is given.
    public func ranking(toxic: [Int]?, top: Int, nullSets: Int, seed: UInt64, events: JobEvents = .silent,
                        cancellation: Cancellation = Cancellation()) throws -> (ranking: [FeatureContrast], toxic: ToxicContrast?) {
        guard (1...encoder.features).contains(top) else {
            throw SaegeoError(.usage, "--top must be between 1 and the SAE's \(encoder.features) features (got \(top))")
        }
        guard (0...ToxicContrast.maxNullSets).contains(nullSets) else {
            throw SaegeoError(.usage, "--null-sets must be between 0 and \(ToxicContrast.maxNullSets) (got \(nullSets))")
        }
        if let toxic { try InMemoryJobs.checkIds(toxic, features: encoder.features, role: "toxic") }
        for (set, samples) in [("A", result.a.samples), ("B", result.b.samples)] where samples == 0 {
            throw SaegeoError(.badInput, "set \(set) holds no samples; there is nothing to contrast")
        }
        if paired, let (set, waiting) = pending.first(where: { !$0.value.isEmpty }) {
            let other = set == .a ? "B" : "A"
            throw SaegeoError(.badInput, "paired contrast needs A's and B's batches in matching pairs, and \(waiting.count) batch(es) of \(set.rawValue) have no partner in \(other); add the same samples to both sets")
        }
        try result.requireFinite(source: "the activations")
        let decoder = try checkpoint.decoder()
        let norms = FeatureNorms(of: decoder, features: Array(0..<decoder.features))
        let ranking = FeatureContrast.ranked(a: result.a, b: result.b, differences: result.differences, dead: { !norms.isLive($0) })
        guard let toxic else { return (ranking, nil) }
        let engines = self.engines
        let proximity = try JobDevices.replanningOnce(budget: try devices.budget(), engines: engines, events: events) { budget in
            try ToxicProximity.compute(decoder: decoder, toxic: toxic, engines: engines, memoryBudget: budget, norms: norms,
                                       cancellation: cancellation)
        }
        // The proximities ran other passes on the engines: a later batch loads its tile afresh.
        heldTiles = DatasetScorer.HeldEncoderTiles()
        let measurement = try ToxicContrast.compute(ranking: ranking, proximity: proximity.proximity, top: top, nullSets: nullSets,
                                                    seed: seed, cancellation: cancellation)
        return (ranking, measurement)
    }
}
