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
            var job = MergeJob(output: output, shards: shards)
            job.summary = summary
            job.nullSets = nullSets
            job.seed = seed
            job.sae = sae
            try job.run(events: Console.events, cancellation: ProcessGuard.cancellation)
        }
    }
}
