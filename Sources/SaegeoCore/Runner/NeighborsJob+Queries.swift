import Foundation

extension NeighborsJob {
    /// The neighbours of a list of queries (all of them, or a shard's, in resumable blocks), with
    /// the mutual pairs across two dictionaries; writes, commits and says what it found.
    final class QuerySearch {
        let job: NeighborsJob
        let dictionary: FeatureMatrix
        let keyDictionary: FeatureMatrix?
        let keyIds: [Int]
        let engines: [ComputeEngine]
        let budget: Int?
        let events: JobEvents
        let cancellation: Cancellation
        var totals = Totals()
        var mutualPairs: MutualPairs?
        var ranked: NeighborResult?

        init(job: NeighborsJob, dictionary: FeatureMatrix, keyDictionary: FeatureMatrix?, keyIds: [Int], engines: [ComputeEngine],
             budget: Int?, events: JobEvents, cancellation: Cancellation) {
            self.job = job
            self.dictionary = dictionary
            self.keyDictionary = keyDictionary
            self.keyIds = keyIds
            self.engines = engines
            self.budget = budget
            self.events = events
            self.cancellation = cancellation
        }

        var deviceIds: String { engines.map(\.device.id).joined(separator: ",") }

        /// The neighbours of `ids` as the output's tensors; a device that runs out of memory
        /// re-plans once with half the budget (the answer does not depend on the tiles).
        func search(_ ids: [Int], label: String) throws -> [OutputTensor] {
            try cancellation.check()
            let k = job.k
            let progress = events.progress(label)
            let result = try JobDevices.replanningOnce(budget: budget, engines: engines, events: events) { budget in
                let search = try keyDictionary.map {
                    try NeighborSearch(dictionary: dictionary, queries: ids, keyDictionary: $0, keys: keyIds, k: k, memoryBudget: budget)
                } ?? NeighborSearch(dictionary: dictionary, queries: ids, keys: keyIds, k: k, memoryBudget: budget)
                guard job.mutual != nil else {
                    return try search.run(on: engines, cancellation: cancellation, progress: progress)
                }
                let found = try MutualPairs.search(search, on: engines, cancellation: cancellation, progress: progress,
                                                   reverseProgress: events.progress("neighbors, mutual pairs' reverse search on \(deviceIds):"))
                mutualPairs = found.1
                if let back = found.1.reverse {
                    totals = Totals(flops: totals.flops + back.flops, seconds: totals.seconds + back.seconds,
                                    exhaustive: totals.exhaustive + back.exhaustiveRows, allPairs: false,
                                    firstPass: totals.firstPass + back.firstPass)
                }
                return found.0
            }
            totals = Totals(flops: totals.flops + result.flops, seconds: totals.seconds + result.seconds,
                            exhaustive: totals.exhaustive + result.exhaustiveRows, allPairs: result.allPairs,
                            firstPass: totals.firstPass + result.firstPass)
            ranked = result
            return [.int64("query_ids", shape: [ids.count], result.queryIds),
                    .int64("indices", shape: [ids.count, k], result.indices),
                    .float32("scores", shape: [ids.count, k], result.scores)]
        }

        func run(_ queryIds: [Int], allQueries: Int, shard shardSpec: ShardSpec?, csv: Bool, mutualFormat: MutualPairsFile.Format?,
                 fingerprint: String, details: [String: String], job outputs: Job) throws {
            let output = job.output
            // A shard saves its finished query blocks as it goes, so that a preempted one resumes.
            let saved = shardSpec.map { ShardRun(output: output, job: fingerprint + " shard " + $0.description, events: events) }
            let tensors = try saved.map { saved in
                try saved.blocks(items: queryIds.count, blockSize: ShardCheckpoint.blockSize(items: queryIds.count),
                                 unit: "queries", holds: { tensors, block in tensors.first?.shape.first == block.count }) { block in
                    try search(Array(queryIds[block]), label: "neighbors shard \(shardSpec!), queries \(block.lowerBound)..<\(block.upperBound) of \(queryIds.count) on \(deviceIds):")
                }
            } ?? search(queryIds, label: "neighbors on \(deviceIds):")

            let range = shardSpec?.range(of: allQueries) ?? 0..<allQueries
            let manifest = ShardManifest(command: .neighbors, job: fingerprint, shard: shardSpec, total: allQueries,
                                         range: range, details: details)
            if csv {
                try outputs.write(output) { try NeighborTable.write(ranked!, into: $0) }
            } else {
                try outputs.write(tensors, manifest: manifest, to: output)
            }
            if let mutualPath = job.mutual, let mutualPairs, let mutualFormat {
                var metadata = details.filter { !$0.key.hasPrefix("saegeo.device") }
                metadata["saegeo.k"] = nil
                metadata["saegeo.pairs"] = "mutual nearest: a of saegeo.sae, b of saegeo.keys_sae"
                metadata["saegeo.live_queries"] = String(mutualPairs.liveQueries)
                try outputs.write(mutualPath) { try MutualPairsFile.write(mutualPairs, format: mutualFormat, metadata: metadata, into: $0) }
            }
            if let saved { try saved.commit(outputs) } else { try outputs.commit() }

            let gflops = totals.seconds > 0 ? totals.flops / totals.seconds / 1e9 : 0
            let how = engines.map { "\($0.device.name), \($0.configurationSummary)" }.joined(separator: "; ")
            events.log(String(format: "neighbors on %@ (%@): %d queries x %d keys%@ x d %d, k %d%@: %.3f s, %.1f GFLOP/s; %@; wrote %@",
                              deviceIds, how, queryIds.count, keyIds.count, keyDictionary == nil ? "" : " of --keys-sae",
                              dictionary.dimension, job.k, totals.allPairs ? ", all pairs (symmetric)" : "",
                              totals.seconds, gflops, NeighborsText.exhaustiveNote(totals.exhaustive), output))
            let firstPassDevices = engines.filter { $0.capabilities.firstPassValueBytes > 0 }.map(\.device.id)
            if !firstPassDevices.isEmpty, let line = FirstPassText.neighbors(totals.firstPass, devices: firstPassDevices.joined(separator: ",")) {
                events.log(line)
            }
            if let mutualPairs, let mutualPath = job.mutual {
                events.log(NeighborsText.mutualSummary(mutualPairs, minCosine: job.minCosine, path: mutualPath))
            }
        }
    }
}
