import ArgumentParser
import Foundation
import SaegeoCore

struct Contrast: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rank an SAE's features by how much more they fire on one activation set than on another.",
        discussion: """
        Streams both sets through the encoder (as score does) and writes, per feature, its firing rate and \
        mean per-sample activation on A and on B, a Welch t over per-sample means (paired t with --paired) \
        and the log odds ratio of firing, ranked by t (docs/definitions.md: contrast). With --top N --ids \
        FILE the N highest-ranked ids go to an id file that --toxic and --queries take: a small labelled set \
        (toxic or misaligned text as A, ordinary text as B) finds the toxic features. With --toxic, the \
        paper's measurement: the activation-weighted toxic proximity of the top N features of each set over \
        the other, against the same weights on N live features drawn at random, with a calibrated verdict (docs/statistics.md).
        """)

    @OptionGroup var sae: SAEOptions

    @Option(help: "Activations of set A: a .safetensors tensor [rows, d_model] or a .npy.")
    var activations: String

    @Option(name: .customLong("activations-tensor"), help: "Name of A's activations tensor (default: activations).")
    var activationsTensor: String?

    @Option(help: "I64 tensor [N + 1] in A's .safetensors grouping token rows into samples.")
    var offsets: String?

    @Option(help: "Activations of the baseline set B.")
    var baseline: String

    @Option(name: .customLong("baseline-tensor"), help: "Name of B's activations tensor (default: activations).")
    var baselineTensor: String?

    @Option(name: .customLong("baseline-offsets"), help: "I64 tensor [M + 1] in B's .safetensors grouping its rows into samples.")
    var baselineOffsets: String?

    @Flag(help: "A and B hold the same tokens through two models: statistics over per-sample differences (paired t); row counts and offsets must agree.")
    var paired = false

    @Option(parsing: .unconditional, help: "K of a TopK SAE when the checkpoint does not say.", transform: NumberArgument.int)
    var topk: Int?

    @Option(name: .short, help: "Output, ranked: .jsonl, .csv or .safetensors (written atomically).")
    var output: String

    @Option(parsing: .unconditional, help: "Features in the top sets (--ids, the toxic measurement).", transform: NumberArgument.int)
    var top = 20

    @Option(help: "Write the --top highest-ranked feature ids here, one per line (the format --toxic and --queries take).")
    var ids: String?

    @Option(name: .customLong("distinct-cosine"), parsing: .unconditional, help: "Collapse near-duplicates in --ids: walking the ranking, a feature whose decoder cosine to a feature already kept is above C is marked in the output's duplicate_of column as that feature's duplicate and skipped, until --top distinct features are kept (e.g. 0.7).", transform: NumberArgument.double)
    var distinctCosine: Double?

    @Option(help: "Toxic feature ids: adds the paper's measurement (printed, and in --summary).")
    var toxic: String?

    @Option(help: "Also write the run's figures (and the toxic measurement) to this JSON file.")
    var summary: String?

    @Option(name: .customLong("null-sets"), parsing: .unconditional, help: "With --toxic: draws of the permutation null (the top features' weights on random live features; at most \(ToxicContrast.maxNullSets); default \(PermutationNull.defaultDraws), as score's; docs/statistics.md).", transform: NumberArgument.int)
    var nullSetsOption: Int?

    @Option(name: .customLong("seed"), parsing: .unconditional, help: "With --toxic: seed of the null sets (default 0).", transform: NumberArgument.seed)
    var seedOption: UInt64?

    // Optional as declared so that --null-sets or --seed without --toxic (where no null is drawn) is seen.
    var nullSets: Int { nullSetsOption ?? PermutationNull.defaultDraws }
    var seed: UInt64 { seedOption ?? 0 }

    @OptionGroup var compute: ComputeOptions
    @OptionGroup var progress: ProgressOptions

    @Option(parsing: .unconditional, help: "Reduce only shard I of N of the work (I/N, 0-based), or 'slurm' for the Slurm array task, into a .safetensors of statistics; a shard resumes after SIGTERM, and 'saegeo merge' writes the ranked table.")
    var shard: String?

    func run() throws {
        try Saegeo.reporting {
            try progress.apply()
            let shardSpec = try shard.map { try ShardSpec.parse($0) }
            if shardSpec != nil {
                guard output.lowercased().hasSuffix(".safetensors") else {
                    throw SaegeoError(.usage, "-o \(output): a contrast shard holds statistics, written as .safetensors; merge writes the ranked .jsonl, .csv or .safetensors")
                }
                guard ids == nil, toxic == nil, summary == nil, distinctCosine == nil else {
                    throw SaegeoError(.usage, "--ids, --distinct-cosine, --toxic and --summary need the whole ranking, which a shard does not have; run them on the merged output's job without --shard")
                }
            }
            if let distinctCosine {
                guard ids != nil else {
                    throw SaegeoError(.usage, "--distinct-cosine collapses near-duplicates in the --ids list, and there is no --ids: add --ids FILE, or drop --distinct-cosine")
                }
                guard distinctCosine >= 0, distinctCosine < 1 else {
                    throw SaegeoError(.usage, "--distinct-cosine \(distinctCosine) is not a cut between distinct and duplicate directions: give a cosine from 0 up to (not including) 1, e.g. 0.7")
                }
            }
            if toxic == nil, let stray = [("--null-sets", nullSetsOption != nil), ("--seed", seedOption != nil)].first(where: \.1) {
                throw SaegeoError(.usage, "\(stray.0) shapes the null of the toxic measurement, and there is no --toxic: add --toxic FILE, or drop \(stray.0)")
            }
            var outputs = [("-o", output)]
            if let ids { outputs.append(("--ids", ids)) }
            if let summary { outputs.append(("--summary", summary)) }
            let job = try Job("contrast", inputs: [sae.sae, activations, baseline] + (toxic.map { [$0] } ?? []), outputs: outputs)
            if shardSpec != nil { try ShardCheckpoint.checkFolder(besides: output) }
            let format = [".jsonl", ".csv", ".safetensors"].first(where: output.lowercased().hasSuffix)
                ?? (OutputTarget.isStream(output) ? ".jsonl" : "")
            guard !format.isEmpty else {
                throw SaegeoError(.usage, "-o \(output): the output must end in .jsonl, .csv or .safetensors")
            }
            guard (0...ToxicContrast.maxNullSets).contains(nullSets) else {
                throw SaegeoError(.usage, "--null-sets must be between 0 and \(ToxicContrast.maxNullSets) (got \(nullSets))")
            }
            let checkpoint = try sae.open()
            guard (1...checkpoint.dSAE).contains(top) else {
                throw SaegeoError(.usage, "--top must be between 1 and the SAE's \(checkpoint.dSAE) features (got \(top))")
            }
            let encoder = try SAEEncoder(checkpoint: checkpoint, topK: topk)
            let toxicIds = try toxic.map { try FeatureSelection(argument: $0).resolve(features: checkpoint.dSAE, role: "toxic") }
            let a = try ActivationsFile.open(activations, tensor: activationsTensor, offsets: offsets)
            let b = try ActivationsFile.open(baseline, tensor: baselineTensor, offsets: baselineOffsets)
            for (set, option) in [(a, "--offsets"), (b, "--baseline-offsets")] {
                if let warning = set.unusedOffsetsWarning(option: option) { Console.info(warning) }
            }
            for (set, flag) in [(a, "--activations"), (b, "--baseline")] where set.samples == 0 {
                throw SaegeoError(.badInput, "\(flag) \(set.path) holds no samples; there is nothing to contrast")
            }
            try job.confirmOutputs()
            // In samples, the work as the user counts it (a shard of whole chunks may still be empty).
            try shardSpec?.requireWork(items: paired ? a.samples : a.samples + b.samples, unit: paired ? "sample pairs" : "samples of A and B")
            var contrast = try DatasetContrast(encoder: encoder, a: a, b: b, paired: paired)
            let engines = try compute.engines()
            try contrast.plan(for: engines, memoryBudget: try compute.budgetBytes().map { $0 / 2 })
            let deviceIds = engines.map(\.device.id).joined(separator: ",")
            let started = Date()
            let bars = ["A": Console.Progress("contrast A on \(deviceIds):"), "B": Console.Progress("contrast B on \(deviceIds):")]
            let report: @Sendable (String, ProgressReport) -> Void = { name, report in bars[String(name.prefix(1))]?.update(report) }
            let decoder = try checkpoint.decoder()
            let norms = FeatureNorms(of: decoder, features: Array(0..<decoder.features))
            if let shardSpec {
                try runShard(shardSpec, contrast: contrast, engines: engines, dead: (0..<decoder.features).map { norms.isLive($0) ? 0 : 1 },
                             checkpointFiles: checkpoint.files, job: job, progress: report)
                return
            }
            let result = try contrast.run(on: engines, cancellation: ProcessGuard.cancellation, progress: report)
            try ProcessGuard.cancellation.check()

            let ranking = FeatureContrast.ranked(a: result.a, b: result.b, differences: result.differences, dead: { !norms.isLive($0) })
            var measurement: ToxicContrast?
            if let toxicIds {
                let proximity = try ToxicProximity.compute(decoder: decoder, toxic: toxicIds, engines: engines,
                                                           memoryBudget: try compute.budgetBytes(), norms: norms,
                                                           cancellation: ProcessGuard.cancellation)
                measurement = try ToxicContrast.compute(ranking: ranking, proximity: proximity.proximity,
                                                        top: top, nullSets: nullSets, seed: seed, cancellation: ProcessGuard.cancellation)
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
                try job.write(summary) { try $0.write(contentsOf: try Console.json(figures, what: "--summary \(summary)")) }
            }
            try job.commit()

            if let distinct {
                Console.info("--distinct-cosine \(distinctCosine!): kept \(distinct.kept.count) distinct features for --ids, collapsing \(distinct.duplicateOf.count) near-duplicates (marked in \(output)'s duplicate_of column)")
            }
            if let m = measurement {
                for (name, side) in [("A over B", m.aOverB), ("B over A", m.bOverA)] {
                    Console.info(String(format: "top %d features of %@: activation-weighted toxic proximity %.6f against %.6f +- %.6f with their weights on random live features: z = %@; %@",
                                        m.top, name, side.meanProximity, side.nullMean, side.nullStd,
                                        side.zScore.map { String(format: "%.2f", $0) } ?? "n/a",
                                        side.pValue.map { String(format: "p = %.4f +- %.4f over %d draws: %@", $0, side.mcError ?? 0, m.nullSets,
                                                                 side.leansToxic ? "they lean towards the toxic features" : "no evidence that they lean towards them") }
                                            ?? "no null draws (--null-sets 0): no verdict"))
                }
            }
            let rows = a.sampleStarts.last! + b.sampleStarts.last!
            let seconds = Date().timeIntervalSince(started)
            Console.info(String(format: "contrasted %d features over %d + %d samples (%d rows x d %d)%@ on %@: %.2f s, %.1f GFLOP/s; wrote %@",
                                encoder.features, a.samples, b.samples, rows, encoder.dimension, paired ? ", paired" : "", deviceIds,
                                seconds, 2 * Double(rows) * Double(encoder.features) * Double(encoder.dimension) / max(seconds, 1e-9) / 1e9, output))
        }
    }
}

extension Contrast {
    /// One shard: the statistics of its part of the work, saved per block as it goes (resumable),
    /// written with its manifest for `merge`.
    func runShard(_ spec: ShardSpec, contrast: DatasetContrast, engines: [ComputeEngine], dead: [Int64], checkpointFiles: [String], job: Job,
                  progress: @escaping @Sendable (String, ProgressReport) -> Void) throws {
        let items = try contrast.workItems()
        let range = spec.range(of: items)
        let fingerprint = try JobFingerprint.of(
            files: checkpointFiles + [activations, baseline],
            options: ["contrast", sae.sae, activations, activationsTensor ?? "", offsets ?? "", baseline, baselineTensor ?? "",
                      baselineOffsets ?? "", paired ? "paired" : "", String(topk ?? 0), String(contrast.rowChunk)])
        let saved = ShardCheckpoint(output: output, job: fingerprint + " shard " + spec.description)
        let cancellation = ProcessGuard.cancellation
        let tensors = try saved.run(items: range.count, blockSize: ShardCheckpoint.blockSize(items: range.count, minimum: 1),
                                    unit: "chunks of samples", log: Console.info,
                                    holds: { tensors, _ in tensors.first { $0.name == "a.samples" }?.shape == [1] }) { block in
            try cancellation.check()
            let work = (range.lowerBound + block.lowerBound)..<(range.lowerBound + block.upperBound)
            return try contrast.run(items: work, on: engines, cancellation: cancellation, progress: progress).tensors
        }
        let result = try DatasetContrast.Result(tensors: tensors, features: dead.count, source: saved.directory)
        let shardTensors = result.tensors + [.int64("dead", shape: [dead.count], dead)]
        var manifest = ShardManifest(command: .contrast, job: fingerprint, shard: spec, total: items, range: range,
                                     details: ["saegeo.sae": sae.sae, "saegeo.activations": activations, "saegeo.baseline": baseline,
                                               "saegeo.paired": String(paired)])
        manifest.checksum = manifest.checksum(of: shardTensors)
        try job.write(output) { try SafetensorsWriter.write(shardTensors, metadata: manifest.metadata, into: $0) }
        try job.commit()
        try saved.discard()
        Console.info("contrast shard \(spec): \(range.count) of \(items) chunks of samples (A: \(result.a.samples) samples, B: \(result.b.samples)); wrote \(output)")
    }
}

/// `contrast --summary`: the run's figures.
struct ContrastSummary: Encodable {
    let samplesA: Int
    let samplesB: Int
    let paired: Bool
    let top: [Int]
    let toxic: ToxicContrast?

    enum CodingKeys: String, CodingKey {
        case samplesA = "samples_a", samplesB = "samples_b", paired, top, toxic
    }
}
