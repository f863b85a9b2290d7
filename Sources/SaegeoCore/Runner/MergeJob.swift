import Foundation

/// `merge`: the shards of a `neighbors`, `score` or `contrast` job combined into the single run's
/// output (refusing a missing, duplicated or foreign shard), and for score shards the dataset
/// summary from the sums beside them. The options as a value; `run` executes it.
public struct MergeJob {
    public var output: String
    public var shards: [String]
    public var summary: String?
    public var nullSets = PermutationNull.defaultDraws
    public var seed: UInt64?
    /// Sharded all pairs: the dictionary, when it is not at the path the shards recorded.
    public var sae: String?

    public init(output: String, shards: [String]) {
        self.output = output
        self.shards = shards
    }

    public func run(events: JobEvents, cancellation: Cancellation) throws {
        guard !shards.isEmpty else { throw SaegeoError(.usage, "give the shard files to merge") }
        guard (0...ScoreJob.maxNullSets).contains(nullSets) else {
            throw SaegeoError(.usage, "--null-sets must be between 0 and \(ScoreJob.maxNullSets) (got \(nullSets)); the p-value's Monte Carlo error shrinks as 1/sqrt(draws)")
        }
        if summary == nil, let stray = [("--null-sets", nullSets != PermutationNull.defaultDraws), ("--seed", seed != nil)].first(where: \.1) {
            throw SaegeoError(.usage, "\(stray.0) shapes the dataset summary, and there is no --summary: add --summary FILE, or drop \(stray.0)")
        }
        // merge --summary: the dataset summary, from the sums beside score shards, in the merge's job.
        let figures = Locked<DatasetSummary?>(nil)
        let companion = summary.map { path in
            ShardMerge.Companion(option: "--summary", path: path, besides: ShardSums.path(besides:)) { [nullSets, seed] shards in
                let made = try ShardSums.summary(ofShards: shards, draws: nullSets, seed: seed ?? 0, cancellation: cancellation)
                figures.withLock { $0 = made }
                return try JSONCoding.encode(made, what: "--summary \(path)")
            }
        }
        if ContrastMerge.isContrast(shards) == false, PairShardMerge.isPairShards(shards) {
            guard summary == nil else { throw SaegeoError(.usage, "--summary is the dataset summary of 'score --shard' shards, and these are sharded all-pairs 'neighbors' shards; drop --summary") }
            let merged = try PairShardMerge.merge(shards, into: output, sae: sae)
            events.log(String(format: "merged %d shards of a sharded all-pairs 'neighbors' job, %d features: %.3f s, %@; wrote %@",
                              merged.shards, merged.features, merged.seconds, NeighborsText.exhaustiveNote(merged.exhaustiveRows), output))
            return
        }
        guard sae == nil else { throw SaegeoError(.usage, "--sae is for the shards of sharded all pairs ('neighbors --queries all --keys all --shard'); drop it") }
        if ContrastMerge.isContrast(shards), summary != nil {
            throw SaegeoError(.usage, "--summary is the dataset summary of 'score --shard' shards, and these are 'contrast' shards; drop --summary")
        }
        let merged = ContrastMerge.isContrast(shards) ? try ContrastMerge.merge(shards, into: output)
            : try ShardMerge.merge(shards, into: output, companion: companion)
        if let figures = figures.current { events.log(SummaryLine.text(figures)) }
        let unit = ["neighbors": "queries", "score": "samples", "contrast": "chunks of samples"][merged.command] ?? "items"
        events.log("merged \(merged.shards) shards of a '\(merged.command)' job, \(merged.items) \(unit); wrote \(output)\(summary.map { " and \($0)" } ?? "")")
    }
}
