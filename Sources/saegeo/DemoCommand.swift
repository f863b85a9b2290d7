import ArgumentParser
import Foundation
import SaegeoCore

/// The README's first command: the whole workflow on a generated SAE with planted geometry.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run neighbours, score and filter on a generated SAE with planted near-toxic features.")

    @Option(help: "auto (OpenCL GPUs, else cpu), cpu, or opencl:N.")
    var device = "auto"

    func run() throws {
        try Saegeo.reporting {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("saegeo-demo-\(getpid())").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }

            // 4096 features in d = 256: 4 toxic features (ids 0-3), each with 6 planted neighbours at
            // cosines 0.9 ... 0.4 (ids 4-27), the rest random directions. A tied JumpReLU encoder.
            let features = 4096, dimension = 256, toxic = Array(0..<4)
            let planted = PlantedDictionary.generate(features: features, dimension: dimension, toxic: toxic.count,
                                                     neighboursPerToxic: 6, seed: 7)
            let saePath = try writeSAE(planted, to: folder)
            let checkpoint = try SAECheckpoint.open(saePath)
            let catalog = try DeviceCatalog()
            let engine = try catalog.engine(for: try catalog.resolve(device)[0])

            // 1. Geometry: the toxic features' nearest neighbours.
            let neighbours = try NeighborSearch(dictionary: try checkpoint.decoder(), queries: toxic,
                                                keys: Array(0..<features), k: 6).run(on: engine)
            var recovered = 0
            for (q, t) in toxic.enumerated() {
                for slot in 0..<6 where planted.plantedOwner[Int(neighbours.indices[q * 6 + slot])] == t { recovered += 1 }
            }
            print("SAE: \(features) features, d_model \(dimension), toxic features \(toxic.map(String.init).joined(separator: ", ")).")
            print("1. Neighbours on \(engine.device.id): \(recovered) of 24 planted near-toxic features found as the toxic features' top 6.")

            // 2. A dataset of 2000 samples of 8 tokens: 10% risky ones lean on near-toxic features.
            var rng = SeededGenerator(seed: 11)
            let samples = 2000, tokens = 8
            let risky = Set((0..<samples).shuffled(using: &rng).prefix(samples / 10))
            var rows: [Float] = []
            rows.reserveCapacity(samples * tokens * dimension)
            for s in 0..<samples {
                for _ in 0..<tokens {
                    var x = [Float](repeating: 0, count: dimension)
                    let count = 3
                    for _ in 0..<count {
                        // Risky samples draw their features from the planted neighbours (ids 4-27).
                        let f = risky.contains(s) && Bool.random(using: &rng) ? 4 + Int(rng.next() % 24) : 28 + Int(rng.next() % UInt64(features - 28))
                        let scale = Float(1 + Double(rng.next() % 100) / 100)
                        for i in 0..<dimension { x[i] += scale * planted.values[f * dimension + i] }
                    }
                    for i in 0..<dimension { x[i] += Float(rng.gaussian() * 0.02) }
                    rows += x
                }
            }
            let actsPath = folder + "/activations.safetensors"
            try SafetensorsWriter.write([
                .float32("activations", shape: [samples * tokens, dimension], rows),
                .int64("offsets", shape: [samples + 1], (0...samples).map { Int64($0 * tokens) }),
            ], metadata: [:], to: actsPath)

            let proximity = try ToxicProximity.compute(decoder: try checkpoint.decoder(), toxic: toxic,
                                                       engines: [BLASNeighborEngine()])
            let started = Date()
            let encoder = try SAEEncoder(checkpoint: checkpoint)
            let scoreDevice = engine.isHost ? nil : try catalog.scoreEngine(for: engine.device.id, jumpReLU: true)
            let result = try DatasetScorer(encoder: encoder, proximity: proximity.proximity,
                                           activations: try ActivationsFile.open(actsPath, tensor: nil, offsets: "offsets"))
                .run(on: [scoreDevice])
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
        }
    }

    /// A SAELens checkpoint: W_dec = the planted directions (unit rows scaled), W_enc = W_dec^T,
    /// JumpReLU with threshold 0.5.
    func writeSAE(_ planted: PlantedDictionary, to folder: String) throws -> String {
        let n = planted.features, d = planted.dimension
        var unit = planted.values
        for f in 0..<n {
            var norm: Float = 0
            for i in 0..<d { norm += unit[f * d + i] * unit[f * d + i] }
            let inverse = 1 / norm.squareRoot()
            for i in 0..<d { unit[f * d + i] *= inverse }
        }
        let encoder = (0..<(d * n)).map { unit[($0 % n) * d + $0 / n] }
        let sae = folder + "/sae"
        try FileManager.default.createDirectory(atPath: sae, withIntermediateDirectories: true)
        try SafetensorsWriter.write([
            .float32("W_dec", shape: [n, d], unit),
            .float32("W_enc", shape: [d, n], encoder),
            .float32("b_enc", shape: [n], [Float](repeating: 0, count: n)),
            .float32("b_dec", shape: [d], [Float](repeating: 0, count: d)),
            .float32("threshold", shape: [n], [Float](repeating: 0.5, count: n)),
        ], metadata: [:], to: sae + "/sae_weights.safetensors")
        try "{\"architecture\": \"jumprelu\", \"d_in\": \(d), \"d_sae\": \(n), \"apply_b_dec_to_input\": false}"
            .write(toFile: sae + "/cfg.json", atomically: true, encoding: .utf8)
        return sae
    }
}
