import ArgumentParser
import Foundation
import SaegeoCore

struct Neighbors: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exact top-k nearest features by decoder cosine similarity.",
        discussion: """
        Writes a safetensors file with query_ids I64 [nq], indices I64 [nq, k] and scores F32 [nq, k]: \
        for each query the k keys with the highest cosine, itself excluded, descending, ties to the \
        lower id; -1 / -inf where fewer keys exist. Dead features (zero decoder norm) are never \
        neighbours and their rows are empty. With --keys-sae the keys are another dictionary's \
        features (indices are its ids; nothing is excluded as self), and --mutual also writes the \
        mutual nearest pairs.
        """)

    @OptionGroup var sae: SAEOptions

    @Option(help: "'all', or a text file with one feature id per line ('#' comments allowed).")
    var queries = "all"

    @Option(help: "'all', or a text file with one feature id per line.")
    var keys = "all"

    @Option(name: .short, parsing: .unconditional, help: "Neighbours per query.", transform: NumberArgument.int)
    var k: Int

    @Option(name: .short, help: "Output .safetensors file, or .csv for a long table query,rank,key,cosine (written atomically).")
    var output: String

    @OptionGroup var cross: CrossDictionaryOptions
    @OptionGroup var compute: ComputeOptions
    @OptionGroup var progress: ProgressOptions

    @Option(parsing: .unconditional, help: "Compute only shard I of N (I/N, 0-based), or 'slurm' for the Slurm array task: of the symmetric schedule's tile pairs for all pairs of one dictionary, else of the queries; combine the shards with 'saegeo merge'.")
    var shard: String?

    func run() throws {
        try Saegeo.reporting {
            try progress.apply()
            guard k >= 1 else { throw SaegeoError(.usage, "-k must be at least 1 (got \(k))") }
            try cross.validate(shard: shard)
            var job = NeighborsJob(sae: sae.source, k: k, output: output)
            job.queries = queries
            job.keys = keys
            job.keysSAE = cross.source
            job.mutual = cross.mutual
            job.minCosine = cross.minCosine
            job.shard = shard
            try job.run(on: compute.devices, events: Console.events, cancellation: ProcessGuard.cancellation)
        }
    }
}
