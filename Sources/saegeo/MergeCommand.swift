import ArgumentParser
import Foundation
import SaegeoCore

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Combine the shards of a 'neighbors --shard' or 'score --shard' job into the single-run output.",
        discussion: "Refuses a missing, duplicated or foreign shard (another job's inputs or options) and then writes nothing.")

    @Option(name: .short, help: "The merged output, in the shards' format (written atomically).")
    var output: String

    @Argument(help: "The shard outputs, in any order.")
    var shards: [String] = []

    func run() throws {
        try Saegeo.reporting {
            let summary = try ShardMerge.merge(shards, into: output)
            Console.info("merged \(summary.shards) shards of a '\(summary.command)' job, \(summary.items) \(summary.command == "neighbors" ? "queries" : "samples"); wrote \(output)")
        }
    }
}
