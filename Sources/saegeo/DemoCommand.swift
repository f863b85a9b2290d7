import ArgumentParser
import Foundation
import SaegeoCore

/// The README's first command: the whole workflow on a generated SAE with planted geometry.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run contrast, neighbours, score, filter and the paper's measurement on a generated SAE with planted near-toxic features.")

    @Option(help: "auto (OpenCL GPUs, else cpu), cpu, or opencl:N.")
    var device = "auto"

    func run() throws {
        try Saegeo.reporting {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("saegeo-demo-\(getpid())").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }

            // 4096 features in d = 256: 4 toxic features (ids 0-3), each with 6 planted neighbours at
            // cosines 0.9 ... 0.4 (ids 4-27), the rest random directions. A tied JumpReLU encoder.
            // 2000 samples of 8 tokens: 10% risky ones lean on the planted near-toxic features.
            let example = try ExampleJob.write(ExampleJob.Size(), to: folder)
            let planted = example.planted, features = example.size.features, toxic = example.toxic
            let saePath = example.saePath, risky = example.risky, samples = example.size.samples, tokens = example.size.tokens
            let checkpoint = try SAECheckpoint.open(saePath)
            let catalog = try DeviceCatalog.standard(openCL: .init(tuning: TuningCache.standard()), precision: .auto)
            let engine = try catalog.engine(for: try catalog.resolve(device)[0])

            // 0. From data to toxic features: contrast a small labelled set (tokens of toxic text
            //    against ordinary text) and take its top features as the toxic ones.
            let labelled = try example.writeLabelledSets(to: folder)
            let encoder = try SAEEncoder(checkpoint: checkpoint)
            let found = try DatasetContrast(
                encoder: encoder, a: try ActivationsFile.open(labelled.toxic, tensor: nil, offsets: "offsets"),
                b: try ActivationsFile.open(labelled.ordinary, tensor: nil, offsets: "offsets"), paired: false).run(on: [engine])
            let ranking = FeatureContrast.ranked(a: found.a, b: found.b, dead: { _ in false })
            // In this dictionary each toxic feature has planted near-duplicates (cosines 0.9 to
            // 0.4) that fire with it at their cosine: contrast ranks the whole cluster together.
            let cluster = toxic.count * (1 + example.size.neighboursPerToxic)
            let inCluster = ranking.prefix(cluster).filter { toxic.contains($0.feature) || planted.plantedOwner[$0.feature] >= 0 }.count
            let ranks = toxic.map { t in 1 + ranking.firstIndex { $0.feature == t }! }
            print("0. Contrast of 200 toxic against 200 ordinary labelled samples on \(engine.device.id): \(inCluster) of its top \(cluster) features are the \(toxic.count) toxic features and their planted near-duplicates; the toxic features rank \(ranks.map(String.init).joined(separator: ", ")).")
            // 1. Geometry: the toxic features' nearest neighbours.
            let neighbours = try NeighborSearch(dictionary: try checkpoint.decoder(), queries: toxic,
                                                keys: Array(0..<features), k: 6).run(on: engine)
            var recovered = 0
            for (q, t) in toxic.enumerated() {
                for slot in 0..<6 where planted.plantedOwner[Int(neighbours.indices[q * 6 + slot])] == t { recovered += 1 }
            }
            print("SAE: \(features) features, d_model \(example.size.dimension), toxic features \(toxic.map(String.init).joined(separator: ", ")).")
            print("1. Neighbours on \(engine.device.id): \(recovered) of 24 planted near-toxic features found as the toxic features' top 6.")

            // 2. Scores of the dataset's samples.
            let actsPath = example.activationsPath
            let proximity = try ToxicProximity.compute(decoder: try checkpoint.decoder(), toxic: toxic,
                                                       engines: [engine], cancellation: ProcessGuard.cancellation)
            let started = Date()
            let result = try DatasetScorer(encoder: encoder, proximity: proximity.proximity,
                                           activations: try ActivationsFile.open(actsPath, tensor: nil, offsets: "offsets"))
                .run(on: [engine])
            let meanRisky = risky.reduce(0.0) { $0 + Double(result.scores[$1]) } / Double(risky.count)
            let meanOther = (0..<samples).filter { !risky.contains($0) }.reduce(0.0) { $0 + Double(result.scores[$1]) } / Double(samples - risky.count)
            print(String(format: "2. Scores on %@ (%d samples x %d tokens, %.2f s): mean %.3f for the %d planted risky samples, %.3f for the rest.",
                         engine.device.id, samples, tokens, Date().timeIntervalSince(started), meanRisky, risky.count, meanOther))

            // 3. Filter: drop 10% by geometry and, as the baseline, 10% at random.
            let scores = SampleScores(scores: result.scores)
            let geometry = Set(try SampleFilter.dropped(scores, fraction: 0.1, strategy: .geometry, seed: 0))
            let random = Set(try SampleFilter.dropped(scores, fraction: 0.1, strategy: .random, seed: 1))
            print(String(format: "3. Dropping 10%%: the geometry filter removes %.0f%% of the planted risky samples, the random baseline %.0f%%.",
                         100 * Double(geometry.intersection(risky).count) / Double(risky.count),
                         100 * Double(random.intersection(risky).count) / Double(risky.count)))
            // 4. The paper's measurement: the features characteristic of the risky samples sit
            //    closer to the toxic features than random ones.
            let split = try example.writeRiskySplit(to: folder)
            let riskyContrast = try DatasetContrast(
                encoder: encoder, a: try ActivationsFile.open(split.risky, tensor: nil, offsets: "offsets"),
                b: try ActivationsFile.open(split.rest, tensor: nil, offsets: "offsets"), paired: false)
            let riskyStatistics = try riskyContrast.run(on: [engine])
            let measurement = try ToxicContrast.compute(
                ranking: FeatureContrast.ranked(a: riskyStatistics.a, b: riskyStatistics.b, dead: { _ in false }),
                proximity: proximity.proximity, top: 20, nullSets: PermutationNull.defaultDraws, seed: 0)
            print(String(format: "4. Contrast of the risky samples with the rest: their top 20 features have activation-weighted toxic proximity %.3f, against %.3f +- %.3f with their weights on random live features (z = %.1f, p = %.4f over %d draws: %@); the rest's top 20 over them: %.3f.",
                         measurement.aOverB.meanProximity, measurement.aOverB.nullMean, measurement.aOverB.nullStd,
                         measurement.aOverB.zScore ?? 0, measurement.aOverB.pValue ?? 1, measurement.nullSets,
                         measurement.aOverB.leansToxic ? "they lean towards the toxic features" : "no evidence of a lean",
                         measurement.bOverA.meanProximity))
        }
    }
}
