import ArgumentParser
import Foundation
import SaegeoCore

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Combine the shards of a 'neighbors --shard', 'score --shard' or 'contrast --shard' job into the single-run output.",
        discussion: "Refuses a missing, duplicated or foreign shard (another job's inputs or options) and then writes nothing.")

    @Option(name: .short, help: "The merged output, in the shards' format (contrast: .jsonl, .csv or .safetensors), written atomically.")
    var output: String

    @Argument(help: "The shard outputs, in any order.")
    var shards: [String] = []

    @Option(help: "Score shards: also write the dataset summary, exactly as 'score --summary' writes it for a single run, from the sums every shard wrote beside its output (OUT.sums).")
    var summary: String?

    @Option(name: .customLong("null-sets"), parsing: .unconditional,
            help: "With --summary: draws of the permutation null and of the bootstrap (as score's --null-sets; default \(PermutationNull.defaultDraws)).", transform: NumberArgument.int)
    var nullSets = PermutationNull.defaultDraws

    @Option(parsing: .unconditional, help: "With --summary: seed of the draws (as score's --seed).", transform: NumberArgument.seed)
    var seed: UInt64?

    @Option(help: "Sharded all pairs: the dictionary the shards ran on, when it is not at the path they recorded (the merge ranks their candidates exactly).")
    var sae: String?

    func run() throws {
        try Saegeo.reporting {
            guard !shards.isEmpty else { throw SaegeoError(.usage, "give the shard files to merge") }
            guard (0...Score.maxNullSets).contains(nullSets) else {
                throw SaegeoError(.usage, "--null-sets must be between 0 and \(Score.maxNullSets) (got \(nullSets)); the p-value's Monte Carlo error shrinks as 1/sqrt(draws)")
            }
            if summary == nil, let stray = [("--null-sets", nullSets != PermutationNull.defaultDraws), ("--seed", seed != nil)].first(where: \.1) {
                throw SaegeoError(.usage, "\(stray.0) shapes the dataset summary, and there is no --summary: add --summary FILE, or drop \(stray.0)")
            }
            // merge --summary: the dataset summary, from the sums beside score shards, in the merge's job.
            var figures: DatasetSummary?
            let companion = summary.map { path in
                ShardMerge.Companion(option: "--summary", path: path, besides: ShardSums.path(besides:)) { [nullSets, seed] shards in
                    let made = try ShardSums.summary(ofShards: shards, draws: nullSets, seed: seed ?? 0, cancellation: ProcessGuard.cancellation)
                    figures = made
                    return try Console.json(made, what: "--summary \(path)")
                }
            }
            if ContrastMerge.isContrast(shards) == false, PairShardMerge.isPairShards(shards) {
                guard summary == nil else { throw SaegeoError(.usage, "--summary is the dataset summary of 'score --shard' shards, and these are sharded all-pairs 'neighbors' shards; drop --summary") }
                let merged = try PairShardMerge.merge(shards, into: output, sae: sae)
                Console.info(String(format: "merged %d shards of a sharded all-pairs 'neighbors' job, %d features: %.3f s, %@; wrote %@",
                                    merged.shards, merged.features, merged.seconds, Neighbors.exhaustiveNote(merged.exhaustiveRows), output))
                return
            }
            guard sae == nil else { throw SaegeoError(.usage, "--sae is for the shards of sharded all pairs ('neighbors --queries all --keys all --shard'); drop it") }
            if ContrastMerge.isContrast(shards), summary != nil {
                throw SaegeoError(.usage, "--summary is the dataset summary of 'score --shard' shards, and these are 'contrast' shards; drop --summary")
            }
            let merged = ContrastMerge.isContrast(shards) ? try ContrastMerge.merge(shards, into: output)
                : try ShardMerge.merge(shards, into: output, companion: companion)
            if let figures { Console.info(SummaryLine.text(figures)) }
            let unit = ["neighbors": "queries", "score": "samples", "contrast": "chunks of samples"][merged.command] ?? "items"
            Console.info("merged \(merged.shards) shards of a '\(merged.command)' job, \(merged.items) \(unit); wrote \(output)\(summary.map { " and \($0)" } ?? "")")
        }
    }
}
