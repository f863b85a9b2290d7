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

    func run() throws {
        try Saegeo.reporting {
            let summary = ContrastMerge.isContrast(shards) ? try ContrastMerge.merge(shards, into: output)
                : try ShardMerge.merge(shards, into: output)
            let unit = ["neighbors": "queries", "score": "samples", "contrast": "chunks of samples"][summary.command] ?? "items"
            Console.info("merged \(summary.shards) shards of a '\(summary.command)' job, \(summary.items) \(unit); wrote \(output)")
        }
    }
}
