import ArgumentParser
import Foundation
import SaegeoCore

enum ArchitectureChoice: String, ExpressibleByArgument, CaseIterable {
    case relu, jumprelu, topk
}

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score each sample of a dataset by how close its active SAE features sit to toxic features.",
        discussion: """
        score = sum a p / sum a over the sample's tokens and active features, where p is a feature's \
        highest cosine to a toxic feature (DESIGN.md). Output by extension: .jsonl ({"sample", "score", \
        "active"} per line), .csv (sample,score,active) or .safetensors (scores F32 [N], active I64 [N]).
        """)

    @OptionGroup var sae: SAEOptions

    @Option(help: "Text file with the toxic feature ids, one per line.")
    var toxic: String

    @Option(help: "Activations: a .safetensors tensor [rows, d_model] (see --tensor) or a .npy.")
    var activations: String

    @Option(name: .customLong("activations-tensor"), help: "Name of the activations tensor (default: activations).")
    var activationsTensor: String?

    @Option(help: "I64 tensor [N + 1] in the same .safetensors: sample i is rows offsets[i]..<offsets[i+1].")
    var offsets: String?

    @Option(help: "Override the checkpoint's architecture: relu, jumprelu, topk.")
    var architecture: ArchitectureChoice?

    @Option(help: "K of a TopK SAE when the checkpoint does not say.")
    var topk: Int?

    @Option(name: .short, help: "Output: .jsonl, .csv or .safetensors (written atomically).")
    var output: String

    @Option(help: "In .jsonl output, explain each sample with its M features of largest summed a p.")
    var explain = 0

    @Option(help: "Also write the dataset-level figures to this JSON file.")
    var summary: String?

    @Option(name: .customLong("null-sets"), help: "Random non-toxic feature sets in the null of the dataset z-score.")
    var nullSets = 20

    @Option(help: "Seed of the null sets.")
    var seed: UInt64 = 0

    @OptionGroup var compute: ComputeOptions

    @Option(help: "Score only shard I of N of the samples (I/N, 0-based), or 'slurm' for the Slurm array task; a shard resumes after SIGTERM, and 'saegeo merge' combines the shards.")
    var shard: String?

    func run() throws {
        try Saegeo.reporting {
            let lower = output.lowercased()
            guard [".jsonl", ".csv", ".safetensors"].contains(where: lower.hasSuffix) else {
                throw SaegeoError(.usage, "-o \(output): the output must end in .jsonl, .csv or .safetensors")
            }
            try AtomicOutput.checkWritable(output)
            if let summary { try AtomicOutput.checkWritable(summary) }
            guard explain >= 0, nullSets >= 0 else { throw SaegeoError(.usage, "--explain and --null-sets must not be negative") }
            let shardSpec = try shard.map { try ShardSpec.parse($0) }
            if shardSpec != nil, summary != nil {
                throw SaegeoError(.usage, "--summary describes the whole dataset and cannot be computed per shard; run it without --shard")
            }
            let checkpoint = try sae.open()
            let chosen: SAECheckpoint.Architecture? = architecture.map {
                switch $0 {
                case .relu: .relu
                case .jumprelu: .jumpReLU
                case .topk: .topK(topk)
                }
            }
            let encoder = try SAEEncoder(checkpoint: checkpoint, architecture: chosen, topK: topk)
            let toxicIds = try FeatureSelection(argument: toxic).resolve(features: checkpoint.dSAE, role: "toxic")
            let data = try ActivationsFile.open(activations, tensor: activationsTensor, offsets: offsets)
            let engines = try compute.engines()
            let started = Date()
            let cancellation = Cancellation()
            Interruption.install(cancellation)
            let decoder = try checkpoint.decoder()
            let proximity = try ToxicProximity.compute(decoder: decoder, toxic: toxicIds, engines: engines,
                                                       memoryBudget: try compute.budgetBytes())
            let deviceIds = engines.map(\.device.id).joined(separator: ",")
            var scorer = try DatasetScorer(encoder: encoder, proximity: proximity.proximity, activations: data)
            scorer.explain = lower.hasSuffix(".jsonl") ? explain : 0
            let options = try EngineOptions.fromEnvironment()
            let catalog = try DeviceCatalog()
            let devices: [OpenCLScoreEngine?] = try engines.map {
                $0.isHost ? nil : try catalog.scoreEngine(for: $0.device.id, jumpReLU: encoder.activation == .jumpReLU,
                                                          overrides: options.overrides, variant: options.variant, tuning: options.tuning)
            }
            // Half the budget for the streaming tiles; the rest covers results, norms and staging.
            if let budget = try compute.budgetBytes() { try scorer.fit(memoryBudget: budget / 2) }

            // The job: inputs and options that every shard of it shares (not the device).
            let job = JobFingerprint.of(
                files: [checkpoint.decoderTensor.sourcePath, checkpoint.encoder?.weight.sourcePath ?? "", toxic, activations],
                options: ["score", sae.sae, toxic, activations, activationsTensor ?? "", offsets ?? "", chosen?.description ?? "",
                          String(topk ?? 0), String(scorer.explain), String(data.samples), String(scorer.rowChunk)])
            // Shards and checkpoint blocks are whole chunks of samples, so that every sample is
            // scored in the same chunk as in a single run (and gets the same bits).
            let boundaries = scorer.chunkBoundaries()
            let chunks = shardSpec?.range(of: boundaries.count - 1) ?? 0..<(boundaries.count - 1)
            let samples = boundaries[chunks.lowerBound]..<boundaries[chunks.upperBound]
            let result: DatasetScorer.Result
            if let shardSpec {
                // A shard saves its finished blocks as it goes, so that a preempted one resumes.
                let saved = ShardCheckpoint(output: output, job: job + " shard " + shardSpec.description)
                let tensors = try saved.run(items: chunks.count, blockSize: ShardCheckpoint.blockSize(items: chunks.count, minimum: 1),
                                            unit: "chunks of samples", log: Console.info) { block in
                    try cancellation.check()
                    let range = boundaries[chunks.lowerBound + block.lowerBound]..<boundaries[chunks.lowerBound + block.upperBound]
                    let progress = Console.Progress("score shard \(shardSpec), samples \(range.lowerBound)..<\(range.upperBound) of \(samples) on \(deviceIds):")
                    return try scorer.run(samples: range, on: devices, cancellation: cancellation, progress: progress.update).tensors
                }
                result = try DatasetScorer.Result(tensors: tensors)
                try write(result, proximity: proximity, firstSample: samples.lowerBound,
                          metadata: metadata(job: job, samples: data.samples, shard: shardSpec))
                try saved.discard()
            } else {
                let progress = Console.Progress("score on \(deviceIds):")
                result = try scorer.run(on: devices, cancellation: cancellation, progress: progress.update)
                try cancellation.check()
                // The dataset-level figures need the whole dataset (a shard has only its part).
                let figures = try DatasetSummary.compute(result: result, proximity: proximity.proximity, decoder: decoder,
                                                         toxic: toxicIds, nullSets: nullSets, seed: seed, engines: engines,
                                                         memoryBudget: try compute.budgetBytes())
                try write(result, proximity: proximity, firstSample: 0, metadata: metadata(job: job, samples: data.samples, shard: nil))
                if let summary {
                    try AtomicOutput.write(to: summary) { try $0.write(contentsOf: try Console.json(figures)) }
                }
                Console.info(String(format: "dataset: mean score %.6f; activation-weighted mean toxic proximity %.6f against %.6f +- %.6f for %d random non-toxic sets: z = %@",
                                    figures.meanScore, figures.meanProximity, figures.nullMean, figures.nullStd, figures.nullSets,
                                    figures.zScore.map { String(format: "%.2f", $0) } ?? "n/a"))
            }
            let seconds = Date().timeIntervalSince(started)
            let rows = data.sampleStarts[samples.upperBound] - data.sampleStarts[samples.lowerBound]
            let mean = result.scores.isEmpty ? 0 : result.scores.reduce(0) { $0 + Double($1) } / Double(result.scores.count)
            Console.info(String(format: "scored %d samples (%d rows x d %d, %d features) on %@: mean score %.6f; %.2f s, %.0f rows/s, %.1f GFLOP/s; wrote %@",
                                samples.count, rows, encoder.dimension, encoder.features, deviceIds, mean, seconds,
                                Double(rows) / max(seconds, 1e-9),
                                2 * Double(rows) * Double(encoder.features) * Double(encoder.dimension) / max(seconds, 1e-9) / 1e9, output))
        }
    }

    /// What a merge needs to know about this output: the job, and the shard it is.
    func metadata(job: String, samples: Int, shard: ShardSpec?) -> [String: String] {
        var metadata = ["saegeo.command": "score", "saegeo.sae": sae.sae, "saegeo.toxic": toxic,
                        "saegeo.activations": activations, "saegeo.job": job, "saegeo.total_samples": String(samples)]
        if let shard { metadata["saegeo.shard"] = shard.description }
        return metadata
    }

    /// Writes the scores of samples firstSample..<firstSample + count. A text shard gets its
    /// manifest beside it (OUT.shard.json), written after the output.
    func write(_ result: DatasetScorer.Result, proximity: ToxicProximity.Result, firstSample: Int,
               metadata: [String: String]) throws {
        let lower = output.lowercased()
        if lower.hasSuffix(".safetensors") {
            try SafetensorsWriter.write([
                .float32("scores", shape: [result.scores.count], result.scores),
                .int64("active", shape: [result.active.count], result.active),
            ], metadata: metadata, to: output)
            return
        }
        try AtomicOutput.write(to: output) { handle in
            var text = lower.hasSuffix(".csv") ? "sample,score,active\n" : ""
            for (i, score) in result.scores.enumerated() {
                let sample = firstSample + i
                text += lower.hasSuffix(".csv")
                    ? "\(sample),\(score),\(result.active[i])\n"
                    : "{\"sample\": \(sample), \"score\": \(score), \"active\": \(result.active[i])"
                        + (explain > 0 ? ", \"explain\": [" + result.explanations[i].map {
                            "{\"feature\": \($0.feature), \"activation\": \($0.activation), \"proximity\": \(proximity.proximity[$0.feature]), \"nearest_toxic\": \(proximity.nearestToxic[$0.feature])}"
                        }.joined(separator: ", ") + "]" : "") + "}\n"
                if text.utf8.count > 1 << 20 {
                    try handle.write(contentsOf: Data(text.utf8))
                    text = ""
                }
            }
            try handle.write(contentsOf: Data(text.utf8))
        }
        if metadata["saegeo.shard"] != nil { try ShardManifest.write(metadata, besides: output) }
    }
}
