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
        neighbours and their rows are empty.
        """)

    @OptionGroup var sae: SAEOptions

    @Option(help: "'all', or a text file with one feature id per line ('#' comments allowed).")
    var queries = "all"

    @Option(help: "'all', or a text file with one feature id per line.")
    var keys = "all"

    @Option(name: .short, parsing: .unconditional, help: "Neighbours per query.")
    var k: Int

    @Option(name: .short, help: "Output .safetensors file (written atomically).")
    var output: String

    @OptionGroup var compute: ComputeOptions
    @OptionGroup var progress: ProgressOptions

    @Option(parsing: .unconditional, help: "Compute only shard I of N of the queries (I/N, 0-based), or 'slurm' for the Slurm array task; combine the shards with 'saegeo merge'.")
    var shard: String?

    func run() throws {
        try Saegeo.reporting {
            try progress.apply()
            guard k >= 1 else { throw SaegeoError(.usage, "-k must be at least 1 (got \(k))") }
            let querySelection = FeatureSelection(argument: queries)
            let keySelection = FeatureSelection(argument: keys)
            let idFiles = [querySelection, keySelection].compactMap { if case .file(let path) = $0 { path } else { nil } }
            let job = try Job("neighbors", inputs: [sae.sae] + idFiles, outputs: [("-o", output)])
            let otherFormats = [".jsonl", ".json", ".csv", ".txt", ".npy", ".npz", ".pt"]
            guard !otherFormats.contains(where: output.lowercased().hasSuffix) else {
                throw SaegeoError(.usage, "-o \(output): neighbours are written as safetensors; name the output *.safetensors")
            }
            let shardSpec = try shard.map { try ShardSpec.parse($0) }
            if shardSpec != nil, OutputTarget.isStream(output) {
                throw SaegeoError(.usage, "-o \(output): a shard's output must be a file, which merge reads back and beside which its checkpoint lives")
            }
            let checkpoint = try sae.open()
            let dictionary = try checkpoint.decoder()
            let allQueries = try querySelection.resolve(features: dictionary.features, role: "queries")
            let queryIds = shardSpec.map { Array(allQueries[$0.range(of: allQueries.count)]) } ?? allQueries
            let keyIds = try keySelection.resolve(features: dictionary.features, role: "keys")
            try NeighborSearch.validate(k: k, queries: queryIds.count, keys: keyIds.count)
            let engines = try compute.engines()
            let deviceIds = engines.map(\.device.id).joined(separator: ",")
            let budget = try compute.budgetBytes()
            let cancellation = ProcessGuard.cancellation

            // The job: inputs and options that every shard of it shares (not the device).
            let fingerprint = JobFingerprint.of(
                files: [checkpoint.decoderTensor.sourcePath] + idFiles,
                options: ["neighbors", sae.sae, querySelection.label, keySelection.label, String(k), String(allQueries.count)])
            var totals = (flops: 0.0, seconds: 0.0, exhaustive: 0, allPairs: false)
            func search(_ ids: [Int], label: String) throws -> [OutputTensor] {
                try cancellation.check()
                let search = try NeighborSearch(dictionary: dictionary, queries: ids, keys: keyIds, k: k, memoryBudget: budget)
                let result = try search.run(on: engines, cancellation: cancellation, progress: Console.Progress(label).update)
                totals = (totals.flops + result.flops, totals.seconds + result.seconds,
                          totals.exhaustive + result.exhaustiveRows, result.allPairs)
                return [.int64("query_ids", shape: [ids.count], result.queryIds),
                        .int64("indices", shape: [ids.count, k], result.indices),
                        .float32("scores", shape: [ids.count, k], result.scores)]
            }
            // A shard saves its finished query blocks as it goes, so that a preempted one resumes.
            let shardCheckpoint = shardSpec.map { ShardCheckpoint(output: output, job: fingerprint + " shard " + $0.description) }
            let tensors = try shardCheckpoint.map { saved in
                try saved.run(items: queryIds.count, blockSize: ShardCheckpoint.blockSize(items: queryIds.count),
                              unit: "queries", log: Console.info,
                              holds: { tensors, block in tensors.first?.shape.first == block.count }) { block in
                    try search(Array(queryIds[block]), label: "neighbors shard \(shardSpec!), queries \(block.lowerBound)..<\(block.upperBound) of \(queryIds.count) on \(deviceIds):")
                }
            } ?? search(queryIds, label: "neighbors on \(deviceIds):")

            let range = shardSpec?.range(of: allQueries.count) ?? 0..<allQueries.count
            var manifest = ShardManifest(command: .neighbors, job: fingerprint, shard: shardSpec, total: allQueries.count, range: range, details: [
                "saegeo.sae": sae.sae,
                "saegeo.sae_format": checkpoint.format.rawValue,
                "saegeo.d_sae": String(dictionary.features),
                "saegeo.d_model": String(dictionary.dimension),
                "saegeo.dtype": dictionary.scalarType.rawValue,
                "saegeo.queries": querySelection.label,
                "saegeo.keys": keySelection.label,
                "saegeo.k": String(k),
                "saegeo.device": deviceIds,
                "saegeo.device_name": engines.map(\.device.name).joined(separator: ","),
            ])
            manifest.checksum = manifest.checksum(of: tensors)
            try job.write(output) { try SafetensorsWriter.write(tensors, metadata: manifest.metadata, into: $0) }
            try job.commit()
            try shardCheckpoint?.discard()

            let gflops = totals.seconds > 0 ? totals.flops / totals.seconds / 1e9 : 0
            let how = engines.map { "\($0.device.name), \($0.configurationSummary)" }.joined(separator: "; ")
            Console.info(String(format: "neighbors on %@ (%@): %d queries x %d keys x d %d, k %d%@: %.3f s, %.1f GFLOP/s, %d rows ranked exhaustively; wrote %@",
                                deviceIds, how, queryIds.count, keyIds.count, dictionary.dimension, k,
                                totals.allPairs ? ", all pairs (symmetric)" : "",
                                totals.seconds, gflops, totals.exhaustive, output))
        }
    }
}
