import Foundation

/// End-to-end workloads at Gemma Scope shapes (d_model 2304, a 16k-wide SAE), scaled down to a
/// time budget, with the time the full-size job would take at the same rate.
struct Workloads {
    let folder: String
    let secondsPerWorkload: Double

    static let dimension = 2304
    static let fullFeatures = 16384
    static let fullTokens = 1_000_000

    /// All pairs, k = 32, of n random directions; n is sized from the similarity rate `gflops`.
    func neighbors(engine: ComputeEngine, gflops: Double) throws -> BenchReport.Workload {
        let d = Self.dimension
        let n = min(Self.fullFeatures, max(512, Int((secondsPerWorkload * gflops * 1e9 / Double(d)).squareRoot()) / 64 * 64))
        let path = folder + "/dictionary-\(n).npy"
        if !FileManager.default.fileExists(atPath: path) {
            try NpyWriter.write(float32: Self.randomValues(n * d, seed: 3), rows: n, columns: d, to: path)
        }
        let dictionary = try NpyFile(path: path).tensor.featureMatrix(featureAxis: 0)
        let search = try NeighborSearch(dictionary: dictionary, queries: Array(0..<n), keys: Array(0..<n), k: 32)
        let seconds = try Stopwatch.seconds { _ = try search.run(on: [engine]) }
        let work = Double(n) * Double(n) * Double(d), fullWork = Double(Self.fullFeatures) * Double(Self.fullFeatures) * Double(d)
        return BenchReport.Workload(
            name: "neighbors", shape: "all pairs of \(n) x \(d), k 32", rows: n, seconds: seconds,
            rowsPerS: Double(n) / seconds, gflops: work / seconds / 1e9,
            fullSize: "all pairs of Gemma Scope 2B res 16k (\(Self.fullFeatures) x \(d)), k 32",
            projectedSeconds: seconds * fullWork / work)
    }

    /// Token rows through a 4096-feature JumpReLU SAE of d_model 2304, scored against 16 toxic
    /// features; the rows are sized from the similarity rate `gflops`.
    func score(engine: ComputeEngine, gflops: Double) throws -> BenchReport.Workload {
        let d = Self.dimension, features = 4096
        let rows = min(200_000, max(256, Int(secondsPerWorkload * gflops * 1e9 / (2 * Double(features) * Double(d))) / 64 * 64))
        let sae = folder + "/sae-\(features)"
        if !FileManager.default.fileExists(atPath: sae + "/cfg.json") {
            do {
                try FileManager.default.createDirectory(atPath: sae, withIntermediateDirectories: true)
            } catch {
                throw SaegeoError.io("cannot create the benchmark's folder \(sae): \(error.localizedDescription); check that its parent is writable")
            }
            let decoder = Self.randomValues(features * d, seed: 4)
            var encoder = [Float](repeating: 0, count: d * features)
            for f in 0..<features { for i in 0..<d { encoder[i * features + f] = decoder[f * d + i] } }
            try SafetensorsWriter.write([
                .float32("W_dec", shape: [features, d], decoder),
                .float32("W_enc", shape: [d, features], encoder),
                .float32("b_enc", shape: [features], [Float](repeating: -0.05, count: features)),
                .float32("b_dec", shape: [d], [Float](repeating: 0, count: d)),
                .float32("threshold", shape: [features], [Float](repeating: 0.1, count: features)),
            ], metadata: [:], to: sae + "/sae_weights.safetensors")
            try AtomicOutput.write(to: sae + "/cfg.json") {
                try $0.write(contentsOf: Data("{\"architecture\": \"jumprelu\", \"d_in\": \(d), \"d_sae\": \(features)}".utf8))
            }
        }
        let activations = folder + "/activations-\(rows).safetensors"
        if !FileManager.default.fileExists(atPath: activations) {
            try SafetensorsWriter.write([.float32("activations", shape: [rows, d], Self.randomValues(rows * d, seed: 6))],
                                        metadata: [:], to: activations)
        }
        let checkpoint = try SAECheckpoint.open(sae)
        let proximity = try ToxicProximity.compute(decoder: try checkpoint.decoder(), toxic: Array(0..<16), engines: [engine])
        let scorer = try DatasetScorer(encoder: try SAEEncoder(checkpoint: checkpoint), proximity: proximity.proximity,
                                       activations: try ActivationsFile.open(activations, tensor: nil, offsets: nil))
        let seconds = try Stopwatch.seconds { _ = try scorer.run(on: [engine]) }
        let work = Double(rows) * Double(features), fullWork = Double(Self.fullTokens) * Double(Self.fullFeatures)
        return BenchReport.Workload(
            name: "score", shape: "\(rows) tokens x \(d) through \(features) features", rows: rows, seconds: seconds,
            rowsPerS: Double(rows) / seconds, gflops: 2 * work * Double(d) / seconds / 1e9,
            fullSize: "1M tokens through Gemma Scope 2B res 16k (\(d) x \(Self.fullFeatures))",
            projectedSeconds: seconds * fullWork / work)
    }

    /// Uniform values in [-1, 1) (SeededGenerator.uniformFloats).
    static func randomValues(_ count: Int, seed: UInt64) -> [Float] { SeededGenerator.uniformFloats(count, seed: seed) }
}
