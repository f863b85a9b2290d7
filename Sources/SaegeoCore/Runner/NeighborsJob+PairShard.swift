import Foundation

extension NeighborsJob {
    /// One shard of sharded all pairs: its share of the single run's tile pairs (PairShardPlan),
    /// saved block by block in OUT.checkpoint/, written as float32 candidates of every feature it
    /// touched with a `neighbors-pairs` manifest; `saegeo merge` ranks them into the single run's file.
    func runPairShard(_ shard: ShardSpec, dictionary: FeatureMatrix, checkpoint: SAECheckpoint, engines: [ComputeEngine],
                      budget: Int?, fingerprint: String, details: [String: String], job: Job,
                      events: JobEvents, cancellation: Cancellation) throws {
        let deviceIds = engines.map(\.device.id).joined(separator: ",")
        let most = PairShardPlan.maxShards(features: dictionary.features)
        guard shard.count <= most else {
            throw SaegeoError(.usage, "--shard \(shard): all pairs of \(dictionary.features) features make at most \(most) tile pairs (tiles of 64), so at most \(most) shards have work; use fewer shards")
        }
        let started = DispatchTime.now()
        let search = PairShardSearch(dictionary: dictionary, k: k, shard: shard, memoryBudget: budget,
                                     progress: events.progress("neighbors shard \(shard), all-pairs tile pairs on \(deviceIds):"))
        try search.checkFits(engines)
        let pairs = search.pairs
        let saved = ShardRun(output: output, job: "\(fingerprint) \(search.planLabel) shard \(shard)", events: events)
        // The checkpoint counts this shard's pairs from 0, in block order; the plan numbers all of the job's.
        let order = search.blockOrder
        let shift = { (block: Range<Int>) in Array(order[block]) }
        let joined = try saved.blocks(items: pairs.count, blockSize: search.blockSize, unit: "tile pairs",
                                      holds: { search.holds($0, block: shift($1)) }, absorb: search.absorb,
                                      joining: PairShardSearch.joins) { block in
            try search.compute(shift(block), on: engines, cancellation: cancellation)
        }
        let tensors = try search.output(joined: joined)
        let manifest = ShardManifest(command: .neighborPairs, job: fingerprint, shard: shard, total: search.plan.pairs.count,
                                     range: pairs, details: details.merging(try PairShardMerge.details(
                                        plan: search.planLabel, sae: sae.path, decoderFile: checkpoint.decoderTensor.sourcePath,
                                        tensor: sae.tensor, layout: sae.layout?.rawValue)) { $1 })
        try job.write(tensors, manifest: manifest, to: output)
        try saved.commit(job)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        events.log(String(format: "neighbors shard %@ on %@: all pairs of %d features x d %d, k %d, tile pairs %d..<%d of %d (tiles of %d, %.1f%% of the work): %.3f s, %.1f GFLOP/s this run; wrote candidates to %@ (merge the %d shards with 'saegeo merge')",
                          shard.description, deviceIds, dictionary.features, dictionary.dimension, k, pairs.lowerBound, pairs.upperBound,
                          search.plan.pairs.count, search.plan.tile,
                          100 * Double(search.plan.work(ofShard: shard.index)) / Double(max(1, search.plan.totalWork)),
                          seconds, seconds > 0 ? search.flopsDone / seconds / 1e9 : 0, output, shard.count))
    }
}
