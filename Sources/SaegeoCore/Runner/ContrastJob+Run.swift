import Foundation

extension ContrastJob {
    /// Runs the job: checks, opens the inputs, reduces both sets' per-feature statistics (a shard
    /// in resumable checkpoint blocks), ranks, writes and commits every output together, and says
    /// what it did through `events`, line for line as `saegeo contrast` prints it.
    public func run(on devices: JobDevices, events: JobEvents, cancellation: Cancellation) throws {
        let shardSpec = try shard.map { try ShardSpec.parse($0) }
        let (job, format) = try checkedJob(shardSpec)
        let checkpoint = try sae.open()
        guard (1...checkpoint.dSAE).contains(top) else {
            throw SaegeoError(.usage, "--top must be between 1 and the SAE's \(checkpoint.dSAE) features (got \(top))")
        }
        let encoder = try SAEEncoder(checkpoint: checkpoint, topK: topK)
        let toxicIds = try toxic.map { try FeatureSelection(argument: $0).resolve(features: checkpoint.dSAE, role: "toxic") }
        let a = try ActivationsFile.open(activations, tensor: activationsTensor, offsets: offsets)
        let b = try ActivationsFile.open(baseline, tensor: baselineTensor, offsets: baselineOffsets)
        for (set, option) in [(a, "--offsets"), (b, "--baseline-offsets")] {
            if let warning = set.unusedOffsetsWarning(option: option) { events.log(warning) }
        }
        for (set, flag) in [(a, "--activations"), (b, "--baseline")] where set.samples == 0 {
            throw SaegeoError(.badInput, "\(flag) \(set.path) holds no samples; there is nothing to contrast")
        }
        try job.confirmOutputs()
        // In samples, the work as the user counts it (a shard of whole chunks may still be empty).
        try shardSpec?.requireWork(items: paired ? a.samples : a.samples + b.samples, unit: paired ? "sample pairs" : "samples of A and B")
        var contrast = try DatasetContrast(encoder: encoder, a: a, b: b, paired: paired)
        let engines = try devices.engines()
        let tileBudget = try devices.budget().map { $0 / 2 }
        try contrast.plan(for: engines, memoryBudget: tileBudget)
        let deviceIds = engines.map(\.device.id).joined(separator: ",")
        let started = Date()
        let bars = ["A": events.progress("contrast A on \(deviceIds):"), "B": events.progress("contrast B on \(deviceIds):")]
        let report: @Sendable (String, ProgressReport) -> Void = { name, report in bars[String(name.prefix(1))]?(report) }
        let decoder = try checkpoint.decoder()
        let norms = FeatureNorms(of: decoder, features: Array(0..<decoder.features))
        if let shardSpec {
            try runShard(shardSpec, contrast: contrast, engines: engines, dead: (0..<decoder.features).map { norms.isLive($0) ? 0 : 1 },
                         checkpointFiles: checkpoint.files, job: job, events: events, cancellation: cancellation, progress: report)
            return
        }
        let result = try JobDevices.replanningOnce(budget: tileBudget, engines: engines, events: events) { budget in
            if budget != tileBudget { try contrast.plan(for: engines, memoryBudget: budget) }
            return try contrast.run(on: engines, cancellation: cancellation, progress: report)
        }
        try cancellation.check()

        let ranking = FeatureContrast.ranked(a: result.a, b: result.b, differences: result.differences, dead: { !norms.isLive($0) })
        var measurement: ToxicContrast?
        if let toxicIds {
            let proximity = try JobDevices.replanningOnce(budget: try devices.budget(), engines: engines, events: events) { budget in
                try ToxicProximity.compute(decoder: decoder, toxic: toxicIds, engines: engines, memoryBudget: budget, norms: norms,
                                           cancellation: cancellation)
            }
            measurement = try ToxicContrast.compute(ranking: ranking, proximity: proximity.proximity,
                                                    top: top, nullSets: nullSets, seed: seed, cancellation: cancellation)
        }
        let distinct = distinctCosine.map {
            DistinctFeatures.select(ranking: ranking, decoder: decoder, norms: norms, count: top, cosine: $0)
        }
        try job.write(output) {
            try ContrastWriter.write(ranking, format: format, metadata: ["saegeo.command": "contrast"]
                                     .merging(distinctCosine.map { ["saegeo.distinct_cosine": "\($0)"] } ?? [:]) { $1 },
                                     duplicateOf: distinct?.duplicateOf, into: $0)
        }
        if let ids {
            let chosen = (distinct?.kept ?? ranking.prefix(top).filter { !$0.dead }.map(\.feature)).map(String.init)
            let what = distinct == nil ? "top \(chosen.count) features" : "top \(chosen.count) distinct features (decoder cosine <= \(distinctCosine!) to each other)"
            try job.write(ids) { try $0.write("# \(what) of \(activations) over \(baseline) (saegeo contrast)\n" + chosen.joined(separator: "\n") + "\n") }
        }
        if let summary {
            let figures = ContrastSummary(samplesA: result.a.samples, samplesB: result.b.samples, paired: paired,
                                          top: ranking.prefix(top).map(\.feature), toxic: measurement)
            try job.write(summary) { try $0.write(contentsOf: try JSONCoding.encode(figures, what: "--summary \(summary)")) }
        }
        try job.commit()

        if let distinct {
            events.log("--distinct-cosine \(distinctCosine!): kept \(distinct.kept.count) distinct features for --ids, collapsing \(distinct.duplicateOf.count) near-duplicates (marked in \(output)'s duplicate_of column)")
        }
        if let m = measurement {
            for (name, side) in [("A over B", m.aOverB), ("B over A", m.bOverA)] {
                events.log(String(format: "top %d features of %@: activation-weighted toxic proximity %.6f against %.6f +- %.6f with their weights on random live features: z = %@; %@",
                                  m.top, name, side.meanProximity, side.nullMean, side.nullStd,
                                  side.zScore.map { String(format: "%.2f", $0) } ?? "n/a",
                                  side.pValue.map { String(format: "p = %.4f +- %.4f over %d draws: %@", $0, side.mcError ?? 0, m.nullSets,
                                                           side.leansToxic ? "they lean towards the toxic features" : "no evidence that they lean towards them") }
                                      ?? "no null draws (--null-sets 0): no verdict"))
            }
        }
        if let line = FirstPassText.encoder(engines) { events.log(line) }
        let rows = a.sampleStarts.last! + b.sampleStarts.last!
        let seconds = Date().timeIntervalSince(started)
        events.log(String(format: "contrasted %d features over %d + %d samples (%d rows x d %d)%@ on %@: %.2f s, %.1f GFLOP/s; wrote %@",
                          encoder.features, a.samples, b.samples, rows, encoder.dimension, paired ? ", paired" : "", deviceIds,
                          seconds, 2 * Double(rows) * Double(encoder.features) * Double(encoder.dimension) / max(seconds, 1e-9) / 1e9, output))
    }

    /// One shard: the statistics of its part of the work, saved per block as it goes (resumable),
    /// written with its manifest for `merge`.
    func runShard(_ spec: ShardSpec, contrast: DatasetContrast, engines: [ComputeEngine], dead: [Int64], checkpointFiles: [String],
                  job: Job, events: JobEvents, cancellation: Cancellation,
                  progress: @escaping @Sendable (String, ProgressReport) -> Void) throws {
        let items = try contrast.workItems()
        let range = spec.range(of: items)
        let fingerprint = try JobFingerprint.of(
            files: checkpointFiles + [activations, baseline],
            options: ["contrast", sae.path, activations, activationsTensor ?? "", offsets ?? "", baseline, baselineTensor ?? "",
                      baselineOffsets ?? "", paired ? "paired" : "", String(topK ?? 0), String(contrast.rowChunk)])
        let saved = ShardRun(output: output, job: fingerprint + " shard " + spec.description, events: events)
        let tensors = try saved.blocks(items: range.count, blockSize: ShardCheckpoint.blockSize(items: range.count, minimum: 1),
                                       unit: "chunks of samples",
                                       holds: { tensors, _ in tensors.first { $0.name == "a.samples" }?.shape == [1] }) { block in
            try cancellation.check()
            let work = (range.lowerBound + block.lowerBound)..<(range.lowerBound + block.upperBound)
            return try contrast.run(items: work, on: engines, cancellation: cancellation, progress: progress).tensors
        }
        let result = try DatasetContrast.Result(tensors: tensors, features: dead.count, source: saved.directory)
        let manifest = ShardManifest(command: .contrast, job: fingerprint, shard: spec, total: items, range: range,
                                     details: ["saegeo.sae": sae.path, "saegeo.activations": activations, "saegeo.baseline": baseline,
                                               "saegeo.paired": String(paired)])
        try job.write(result.tensors + [.int64("dead", shape: [dead.count], dead)], manifest: manifest, to: output)
        try saved.commit(job)
        events.log("contrast shard \(spec): \(range.count) of \(items) chunks of samples (A: \(result.a.samples) samples, B: \(result.b.samples)); wrote \(output)")
    }
}
