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

    @Option(help: "Sharded all pairs: the dictionary the shards ran on, when it is not at the path they recorded (the merge ranks their candidates exactly).")
    var sae: String?

    func run() throws {
        try Saegeo.reporting {
            guard !shards.isEmpty else { throw SaegeoError(.usage, "give the shard files to merge") }
            if ContrastMerge.isContrast(shards) == false, PairShardMerge.isPairShards(shards) {
                let merged = try PairShardMerge.merge(shards, into: output, sae: sae)
                Console.info(String(format: "merged %d shards of a sharded all-pairs 'neighbors' job, %d features: %.3f s, %@; wrote %@",
                                    merged.shards, merged.features, merged.seconds, Neighbors.exhaustiveNote(merged.exhaustiveRows), output))
                return
            }
            guard sae == nil else { throw SaegeoError(.usage, "--sae is for the shards of sharded all pairs ('neighbors --queries all --keys all --shard'); drop it") }
            let summary = ContrastMerge.isContrast(shards) ? try ContrastMerge.merge(shards, into: output)
                : try ShardMerge.merge(shards, into: output)
            let unit = ["neighbors": "queries", "score": "samples", "contrast": "chunks of samples"][summary.command] ?? "items"
            Console.info("merged \(summary.shards) shards of a '\(summary.command)' job, \(summary.items) \(unit); wrote \(output)")
        }
    }
}
