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
            let querySelection = FeatureSelection(argument: queries)
            let keySelection = FeatureSelection(argument: keys)
            let idFiles = [querySelection, keySelection].compactMap { if case .file(let path) = $0 { path } else { nil } }
            try cross.validate(shard: shard)
            let mutualFormat = try cross.mutual.map { try MutualPairsFile.format(of: $0) }
            let job = try Job("neighbors", inputs: [sae.sae] + (cross.keysSAE.map { [$0] } ?? []) + idFiles,
                              outputs: [("-o", output)] + (cross.mutual.map { [("--mutual", $0)] } ?? []))
            if shard != nil { try ShardCheckpoint.checkFolder(besides: output) }
            let otherFormats = [".jsonl", ".json", ".txt", ".npy", ".npz", ".pt"]
            guard !otherFormats.contains(where: output.lowercased().hasSuffix) else {
                throw SaegeoError(.usage, "-o \(output): neighbours are written as .safetensors or as a long .csv table; name the output *.safetensors or *.csv")
            }
            let csv = output.lowercased().hasSuffix(".csv")
            if csv, shard != nil {
                throw SaegeoError(.usage, "-o \(output): a shard writes .safetensors, which 'saegeo merge' reads back; name it *.safetensors")
            }
            let shardSpec = try shard.map { try ShardSpec.parse($0) }
            if shardSpec != nil, OutputTarget.isStream(output) {
                throw SaegeoError(.usage, "-o \(output): a shard's output must be a file, which merge reads back and beside which its checkpoint lives")
            }
            let checkpoint = try sae.open()
            let dictionary = try checkpoint.decoder()
            // Neighbours across two dictionaries: the keys are B's (DESIGN.md), nil for one dictionary.
            let keysCheckpoint = try cross.open()
            let keyDictionary = try keysCheckpoint?.decoder()
            if let keyDictionary {
                try NeighborSearch.checkSameDimension(queries: dictionary, keys: keyDictionary,
                                                      names: ("--sae \(sae.sae)", "--keys-sae \(cross.keysSAE!)"))
            }
            let allQueries = try querySelection.resolve(features: dictionary.features, role: "queries")
            // Sharded all pairs divides tile pairs instead, and checks its own count (runPairShard).
            if let shardSpec, keyDictionary != nil || querySelection != .all || keySelection != .all {
                try shardSpec.requireWork(items: allQueries.count, unit: "queries")
            }
            let queryIds = shardSpec.map { Array(allQueries[$0.range(of: allQueries.count)]) } ?? allQueries
            let keyIds = try keySelection.resolve(features: (keyDictionary ?? dictionary).features,
                                                  role: keyDictionary == nil ? "keys" : "keys (of --keys-sae)")
            try NeighborSearch.validate(k: k, queries: queryIds.count, keys: keyIds.count)
            try job.confirmOutputs()
            let engines = try compute.engines()
            let deviceIds = engines.map(\.device.id).joined(separator: ",")
            let budget = try compute.budgetBytes()
            let cancellation = ProcessGuard.cancellation

            // The job: inputs and options that every shard of it shares (not the device).
            // B's file and path join them for two dictionaries, so that no shard or checkpoint of
            // one pair of dictionaries is taken for another's.
            let fingerprint = try JobFingerprint.of(
                files: checkpoint.files + (keysCheckpoint?.files ?? []) + idFiles,
                options: ["neighbors", sae.sae, querySelection.label, keySelection.label, String(k), String(allQueries.count)]
                    + (cross.keysSAE.map { ["keys-sae", $0] } ?? []))
            var details = [
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
            ]
            if let keysCheckpoint, let keyDictionary {
                details["saegeo.keys_sae"] = cross.keysSAE!
                details["saegeo.keys_sae_format"] = keysCheckpoint.format.rawValue
                details["saegeo.keys_d_sae"] = String(keyDictionary.features)
                details["saegeo.keys_dtype"] = keyDictionary.scalarType.rawValue
            }
            // All pairs of one dictionary, sharded: the symmetric schedule's tile pairs are divided
            // among the shards (each writes candidates; merge ranks them), not the queries.
            if let shardSpec, keyDictionary == nil, querySelection == .all, keySelection == .all {
                try runPairShard(shardSpec, dictionary: dictionary, checkpoint: checkpoint, engines: engines, budget: budget,
                                 fingerprint: fingerprint, details: details, job: job)
                return
            }
            var totals = (flops: 0.0, seconds: 0.0, exhaustive: 0, allPairs: false)
            var mutualPairs: MutualPairs?
            var ranked: NeighborResult?
            func search(_ ids: [Int], label: String) throws -> [OutputTensor] {
                try cancellation.check()
                let search = try keyDictionary.map {
                    try NeighborSearch(dictionary: dictionary, queries: ids, keyDictionary: $0, keys: keyIds, k: k, memoryBudget: budget)
                } ?? NeighborSearch(dictionary: dictionary, queries: ids, keys: keyIds, k: k, memoryBudget: budget)
                var result: NeighborResult
                if cross.mutual != nil {
                    let found = try MutualPairs.search(search, on: engines, cancellation: cancellation,
                                                       progress: Console.Progress(label).update,
                                                       reverseProgress: Console.Progress("neighbors, mutual pairs' reverse search on \(deviceIds):").update)
                    result = found.0
                    mutualPairs = found.1
                    if let back = found.1.reverse {
                        totals = (totals.flops + back.flops, totals.seconds + back.seconds, totals.exhaustive + back.exhaustiveRows, false)
                    }
                } else {
                    result = try search.run(on: engines, cancellation: cancellation, progress: Console.Progress(label).update)
                }
                totals = (totals.flops + result.flops, totals.seconds + result.seconds,
                          totals.exhaustive + result.exhaustiveRows, result.allPairs)
                ranked = result
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
            var manifest = ShardManifest(command: .neighbors, job: fingerprint, shard: shardSpec, total: allQueries.count,
                                         range: range, details: details)
            manifest.checksum = manifest.checksum(of: tensors)
            if csv {
                try job.write(output) { try NeighborTable.write(ranked!, into: $0) }
            } else {
                try job.write(output) { try SafetensorsWriter.write(tensors, metadata: manifest.metadata, into: $0) }
            }
            if let mutualPath = cross.mutual, let mutualPairs, let mutualFormat {
                var metadata = details.filter { !$0.key.hasPrefix("saegeo.device") }
                metadata["saegeo.k"] = nil
                metadata["saegeo.pairs"] = "mutual nearest: a of saegeo.sae, b of saegeo.keys_sae"
                metadata["saegeo.live_queries"] = String(mutualPairs.liveQueries)
                try job.write(mutualPath) { try MutualPairsFile.write(mutualPairs, format: mutualFormat, metadata: metadata, into: $0) }
            }
            try job.commit()
            try shardCheckpoint?.discard()

            let gflops = totals.seconds > 0 ? totals.flops / totals.seconds / 1e9 : 0
            let how = engines.map { "\($0.device.name), \($0.configurationSummary)" }.joined(separator: "; ")
            Console.info(String(format: "neighbors on %@ (%@): %d queries x %d keys%@ x d %d, k %d%@: %.3f s, %.1f GFLOP/s; %@; wrote %@",
                                deviceIds, how, queryIds.count, keyIds.count, keyDictionary == nil ? "" : " of --keys-sae",
                                dictionary.dimension, k, totals.allPairs ? ", all pairs (symmetric)" : "",
                                totals.seconds, gflops, Neighbors.exhaustiveNote(totals.exhaustive), output))
            if let mutualPairs, let mutualPath = cross.mutual {
                Console.info(Neighbors.mutualSummary(mutualPairs, minCosine: cross.minCosine, path: mutualPath))
            }
        }
    }
}

extension Neighbors {
    /// What the count of exhaustive rows means, in words: the float32 candidates could not certify
    /// those rows' top k (exact ties, near-duplicates; ExactRanking), so each was ranked again over
    /// every key in float64. The answer is exact either way; the count only explains the time.
    static func exhaustiveNote(_ rows: Int) -> String {
        rows == 0 ? "every row certified from its float32 candidates (none needed an exact pass over all keys)"
            : "\(rows) row\(rows == 1 ? "" : "s") re-ranked exactly over every key (near-ties that the float32 candidates could not certify; exact either way)"
    }

    /// The --mutual summary: counts first, then the share of the live queries, as percentages.
    static func mutualSummary(_ pairs: MutualPairs, minCosine: Float, path: String) -> String {
        let above = pairs.cosine.filter { $0 >= minCosine }.count
        return String(format: "mutual nearest pairs: %d, so %d of the %d live queries (%.2f%%) have a mutual partner; %d (%.2f%%) with cosine >= %@; wrote %@",
                      pairs.a.count, pairs.a.count, pairs.liveQueries, 100 * pairs.fraction(), above,
                      100 * pairs.fraction(atLeast: minCosine), "\(minCosine)", path)
    }

    /// One shard of sharded all pairs: its share of the single run's tile pairs (PairShardPlan),
    /// saved block by block in OUT.checkpoint/, written as float32 candidates of every feature it
    /// touched with a `neighbors-pairs` manifest; `saegeo merge` ranks them into the single run's file.
    func runPairShard(_ shard: ShardSpec, dictionary: FeatureMatrix, checkpoint: SAECheckpoint, engines: [ComputeEngine],
                      budget: Int?, fingerprint: String, details: [String: String], job: Job) throws {
        let deviceIds = engines.map(\.device.id).joined(separator: ",")
        let most = PairShardPlan.maxShards(features: dictionary.features)
        guard shard.count <= most else {
            throw SaegeoError(.usage, "--shard \(shard): all pairs of \(dictionary.features) features make at most \(most) tile pairs (tiles of 64), so at most \(most) shards have work; use fewer shards")
        }
        let started = DispatchTime.now()
        let search = PairShardSearch(dictionary: dictionary, k: k, shard: shard, memoryBudget: budget,
                                     progress: Console.Progress("neighbors shard \(shard), all-pairs tile pairs on \(deviceIds):").update)
        try search.checkFits(engines)
        let pairs = search.pairs
        let saved = ShardCheckpoint(output: output, job: "\(fingerprint) \(search.planLabel) shard \(shard)")
        // The checkpoint counts this shard's pairs from 0, in block order; the plan numbers all of the job's.
        let order = search.blockOrder
        let shift = { (block: Range<Int>) in Array(order[block]) }
        let joined = try saved.run(items: pairs.count, blockSize: search.blockSize,
                                   unit: "tile pairs", log: Console.info,
                                   holds: { search.holds($0, block: shift($1)) },
                                   absorb: search.absorb) { block in
            try search.compute(shift(block), on: engines, cancellation: ProcessGuard.cancellation)
        }
        let tensors = try search.output(joined: joined)
        var manifest = ShardManifest(command: .neighborPairs, job: fingerprint, shard: shard, total: search.plan.pairs.count,
                                     range: pairs, details: details.merging(try PairShardMerge.details(
                                        plan: search.planLabel, sae: sae.sae, decoderFile: checkpoint.decoderTensor.sourcePath,
                                        tensor: sae.reading.tensor, layout: sae.reading.layout?.rawValue)) { $1 })
        manifest.checksum = manifest.checksum(of: tensors)
        try job.write(output) { try SafetensorsWriter.write(tensors, metadata: manifest.metadata, into: $0) }
        try job.commit()
        try saved.discard()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        Console.info(String(format: "neighbors shard %@ on %@: all pairs of %d features x d %d, k %d, tile pairs %d..<%d of %d (tiles of %d, %.1f%% of the work): %.3f s, %.1f GFLOP/s this run; wrote candidates to %@ (merge the %d shards with 'saegeo merge')",
                            shard.description, deviceIds, dictionary.features, dictionary.dimension, k, pairs.lowerBound, pairs.upperBound,
                            search.plan.pairs.count, search.plan.tile,
                            100 * Double(search.plan.work(ofShard: shard.index)) / Double(max(1, search.plan.totalWork)),
                            seconds, seconds > 0 ? search.flopsDone / seconds / 1e9 : 0, output, shard.count))
    }
}
