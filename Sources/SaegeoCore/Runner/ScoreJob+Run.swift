import Foundation

extension ScoreJob {
    /// Runs the job: checks, opens the inputs, computes the proximities and the scores (a shard in
    /// resumable checkpoint blocks), writes and commits every output together, and says what it
    /// did through `events`, line for line as `saegeo score` prints it.
    public func run(on devices: JobDevices, events: JobEvents, cancellation: Cancellation) throws {
        let shardSpec = try shard.map { try ShardSpec.parse($0) }
        let job = try checkedJob(shardSpec, events: events)
        let lower = format
        let checkpoint = try sae.open()
        let encoder = try SAEEncoder(checkpoint: checkpoint, architecture: architecture, topK: topK)
        let toxicIds = try FeatureSelection(argument: toxic).resolve(features: checkpoint.dSAE, role: "toxic")
        let data = try ActivationsFile.open(activations, tensor: activationsTensor, offsets: offsets)
        if let warning = data.unusedOffsetsWarning(option: "--offsets") { events.log(warning) }
        guard data.samples > 0 else {
            throw SaegeoError(.badInput, "\(activations) holds no samples; there is nothing to score")
        }
        let referenceData = try reference.map { try ActivationsFile.open($0, tensor: referenceTensor, offsets: referenceOffsets) }
        if let referenceData, referenceData.samples == 0 {
            throw SaegeoError(.badInput, "--reference \(referenceData.path) holds no samples; there is nothing to compare with")
        }
        try job.confirmOutputs()
        let engines = try devices.engines()
        let started = Date()
        let decoder = try checkpoint.decoder()
        // The decoder's norms, once for the proximity and the dataset summary's live features.
        let norms = FeatureNorms(of: decoder, features: Array(0..<decoder.features))
        let proximity = try JobDevices.replanningOnce(budget: try devices.budget(), engines: engines, events: events) { budget in
            try ToxicProximity.compute(decoder: decoder, toxic: toxicIds, engines: engines, memoryBudget: budget, norms: norms,
                                       cancellation: cancellation)
        }
        let deviceIds = engines.map(\.device.id).joined(separator: ",")
        var scorer = try DatasetScorer(encoder: encoder, proximity: proximity.proximity, activations: data)
        scorer.explain = min(explain, encoder.features)
        scorer.skipNonFinite = skipNonFinite
        // Half the budget for the streaming tiles; the rest covers results, norms and staging.
        let tileBudget = try devices.budget().map { $0 / 2 }
        try scorer.plan(for: engines, memoryBudget: tileBudget)

        // The job: inputs and options that every shard of it shares (not the device). Only a
        // shard and a .safetensors output record it: a single .jsonl / .csv run skips the pass
        // over every input byte.
        func fingerprintOf(_ scorer: DatasetScorer) throws -> String {
            shardSpec == nil && !lower.hasSuffix(".safetensors") ? "" : try JobFingerprint.of(
                files: checkpoint.files + [toxic, activations],
                options: ["score", sae.path, toxic, activations, activationsTensor ?? "", offsets ?? "", architecture?.description ?? "",
                          String(topK ?? 0), String(scorer.explain), String(data.samples), String(scorer.rowChunk),
                          skipNonFinite ? "skip-nonfinite" : ""])
        }
        let fingerprint = try fingerprintOf(scorer)
        // Shards and checkpoint blocks are whole chunks of samples, so that every sample is
        // scored in the same chunk as in a single run (and gets the same bits).
        let boundaries = scorer.chunkBoundaries()
        // In samples, the work as the user counts it (a shard of whole chunks may still be empty).
        try shardSpec?.requireWork(items: data.samples, unit: "samples")
        if shardSpec != nil, seed != nil || nullSets != PermutationNull.defaultDraws {
            events.log("warning: --seed and --null-sets shape the dataset summary, which 'saegeo merge --summary' computes from the shards; give them to merge; ignoring them here")
        }
        let chunks = shardSpec?.range(of: boundaries.count - 1) ?? 0..<(boundaries.count - 1)
        let samples = boundaries[chunks.lowerBound]..<boundaries[chunks.upperBound]
        var manifest = ShardManifest(command: .score, job: fingerprint, shard: shardSpec, total: data.samples, range: samples,
                                     details: ["saegeo.sae": sae.path, "saegeo.toxic": toxic, "saegeo.activations": activations])
        let result: DatasetScorer.Result
        if let shardSpec {
            // A shard saves its finished blocks as it goes, so that a preempted one resumes.
            let saved = ShardRun(output: output, job: fingerprint + " shard " + shardSpec.description, events: events)
            // The blocks' activation masses are added as they come (exactly), not joined.
            var mass = FeatureMass(features: encoder.features)
            let tensors = try saved.blocks(items: chunks.count, blockSize: ShardCheckpoint.blockSize(items: chunks.count, minimum: 1),
                                           unit: "chunks of samples", holds: { tensors, block in
                // A block of chunks holds the scores and sums of those chunks' samples.
                let samples = boundaries[chunks.lowerBound + block.upperBound] - boundaries[chunks.lowerBound + block.lowerBound]
                return DatasetScorer.Result.holds(tensors, samples: samples)
            }, absorb: { try mass.add(from: $0) }, joining: { !DatasetScorer.Result.massTensors.contains($0.name) }) { block in
                try cancellation.check()
                let range = boundaries[chunks.lowerBound + block.lowerBound]..<boundaries[chunks.lowerBound + block.upperBound]
                let progress = events.progress("score shard \(shardSpec), samples \(range.lowerBound)..<\(range.upperBound) of \(samples) on \(deviceIds):")
                return try scorer.run(samples: range, on: engines, cancellation: cancellation, progress: progress).tensors
            }
            result = try DatasetScorer.Result(tensors: tensors, features: encoder.features, mass: mass)
            try write(result, proximity: proximity, manifest: manifest, job: job)
            // What merge --summary needs from this shard (ShardSums).
            let dead = (0..<decoder.features).filter { !norms.isLive($0) }
            try ShardSums(manifest: manifest, result: result, proximity: proximity.proximity, dead: dead)
                .write(besides: output, job: job)
            try saved.commit(job)
        } else {
            let progress = events.progress("score on \(deviceIds):")
            result = try JobDevices.replanningOnce(budget: tileBudget, engines: engines, events: events) { budget in
                if budget != tileBudget {
                    try scorer.plan(for: engines, memoryBudget: budget)
                    // The chunks are part of the job (they fix each sample's bits): record the new ones.
                    manifest.job = try fingerprintOf(scorer)
                }
                return try scorer.run(on: engines, cancellation: cancellation, progress: progress)
            }
            try cancellation.check()
            let figures = try summary(of: result, encoder: encoder, proximity: proximity, norms: norms, reference: referenceData,
                                      engines: engines, tileBudget: tileBudget, events: events, cancellation: cancellation)
            try write(result, proximity: proximity, manifest: manifest, job: job)
            if let summary {
                try job.write(summary) { try $0.write(contentsOf: try JSONCoding.encode(figures, what: "--summary \(summary)")) }
            }
            try job.commit()
            events.log(SummaryLine.text(figures))
        }
        if scorer.skippedRows.current > 0 {
            events.log("left out \(scorer.skippedRows.current) token rows holding NaN or infinity (--skip-nonfinite)")
        }
        if let line = FirstPassText.encoder(engines) { events.log(line) }
        let seconds = Date().timeIntervalSince(started)
        let rows = data.sampleStarts[samples.upperBound] - data.sampleStarts[samples.lowerBound]
        let mean = result.scores.isEmpty ? 0 : result.scores.reduce(0) { $0 + Double($1) } / Double(result.scores.count)
        events.log(String(format: "scored %d samples (%d rows x d %d, %d features) on %@: mean score %.6f; %.2f s, %.0f rows/s, %.1f GFLOP/s; wrote %@",
                          samples.count, rows, encoder.dimension, encoder.features, deviceIds, mean, seconds,
                          Double(rows) / max(seconds, 1e-9),
                          2 * Double(rows) * Double(encoder.features) * Double(encoder.dimension) / max(seconds, 1e-9) / 1e9, output))
    }

    /// The dataset-level figures of a whole run (a shard has only its part): against the
    /// reference set through the same encoder and proximities, or against the dataset's own mass
    /// placed at random.
    func summary(of result: DatasetScorer.Result, encoder: SAEEncoder, proximity: ToxicProximity.Result, norms: FeatureNorms,
                 reference referenceData: ActivationsFile?, engines: [ComputeEngine], tileBudget: Int?,
                 events: JobEvents, cancellation: Cancellation) throws -> DatasetSummary {
        let deviceIds = engines.map(\.device.id).joined(separator: ",")
        guard let referenceData else {
            if Self.drawsTakeAWhile(nullSets, samples: result.scores.count) {
                events.log("dataset summary: \(nullSets) permutation and bootstrap draws over \(result.scores.count) samples")
            }
            return try DatasetSummary.compute(result: result, proximity: proximity.proximity, live: norms.isLive,
                                              draws: nullSets, seed: seed ?? 0, cancellation: cancellation)
        }
        var other = try DatasetScorer(encoder: encoder, proximity: proximity.proximity, activations: referenceData)
        other.skipNonFinite = skipNonFinite
        try other.plan(for: engines, memoryBudget: tileBudget)
        let bar = events.progress("score the reference on \(deviceIds):")
        let theirs = try other.run(on: engines, cancellation: cancellation, progress: bar)
        try cancellation.check()
        if Self.drawsTakeAWhile(nullSets, samples: result.scores.count + theirs.scores.count) {
            events.log("dataset summary: \(nullSets) relabelling and bootstrap draws of \(result.scores.count) + \(theirs.scores.count) samples")
        }
        return try DatasetSummary.compare(result: result, reference: theirs, proximity: proximity.proximity,
                                          draws: nullSets, seed: seed ?? 0, cancellation: cancellation)
    }
}
