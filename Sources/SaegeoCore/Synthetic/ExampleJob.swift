import Foundation

/// A generated job with known answers, for the demo, the batch-job examples and tests: a SAELens
/// checkpoint whose decoder has planted near-toxic features (PlantedDictionary, a tied JumpReLU
/// encoder), activations of a dataset in which some samples are risky (they lean on the planted
/// neighbours), the toxic ids and the dataset's lines.
public struct ExampleJob: Sendable {
    public struct Size: Sendable {
        public var features = 4096
        public var dimension = 256
        public var toxic = 4
        public var neighboursPerToxic = 6
        public var samples = 2000
        public var tokens = 8
        public init() {}
    }

    public let size: Size
    public let planted: PlantedDictionary
    /// The checkpoint folder, the activations (.safetensors with `activations` and `offsets`),
    /// the toxic ids file and the dataset (.jsonl, one line per sample).
    public let saePath: String
    public let activationsPath: String
    public let toxicPath: String
    public let datasetPath: String
    public let risky: Set<Int>
    public var toxic: [Int] { Array(0..<size.toxic) }

    public static func write(_ size: Size, seed: UInt64 = 7, to folder: String) throws -> ExampleJob {
        guard size.features > size.toxic * (size.neighboursPerToxic + 1), size.dimension >= 2, size.samples >= 1, size.tokens >= 1 else {
            throw SaegeoError(.usage, "an example needs more features than toxic features and their planted neighbours, d_model >= 2 and at least one sample and token")
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let planted = PlantedDictionary.generate(features: size.features, dimension: size.dimension, toxic: size.toxic,
                                                 neighboursPerToxic: size.neighboursPerToxic, seed: seed)
        let saePath = try writeSAE(planted, to: folder + "/sae")

        // Each token mixes 3 features; a risky sample draws half of them from the planted neighbours.
        var rng = SeededGenerator(seed: seed &+ 4)
        let n = size.features, d = size.dimension, plantedCount = size.toxic * size.neighboursPerToxic
        let firstPlain = size.toxic + plantedCount
        let risky = Set((0..<size.samples).shuffled(using: &rng).prefix(max(1, size.samples / 10)))
        var rows = [Float](repeating: 0, count: size.samples * size.tokens * d)
        for s in 0..<size.samples {
            for t in 0..<size.tokens {
                let row = (s * size.tokens + t) * d
                for _ in 0..<3 {
                    let f = risky.contains(s) && Bool.random(using: &rng)
                        ? size.toxic + Int(rng.next() % UInt64(plantedCount))
                        : firstPlain + Int(rng.next() % UInt64(n - firstPlain))
                    let scale = Float(1 + Double(rng.next() % 100) / 100)
                    for i in 0..<d { rows[row + i] += scale * planted.values[f * d + i] }
                }
                for i in 0..<d { rows[row + i] += Float(rng.gaussian() * 0.02) }
            }
        }
        let activationsPath = folder + "/activations.safetensors"
        try SafetensorsWriter.write([
            .float32("activations", shape: [size.samples * size.tokens, d], rows),
            .int64("offsets", shape: [size.samples + 1], (0...size.samples).map { Int64($0 * size.tokens) }),
        ], metadata: [:], to: activationsPath)
        let toxicPath = folder + "/toxic.txt", datasetPath = folder + "/dataset.jsonl"
        try AtomicOutput.write(to: toxicPath) {
            try $0.write(contentsOf: Data((0..<size.toxic).map { "\($0)\n" }.joined().utf8))
        }
        try AtomicOutput.write(to: datasetPath) {
            try $0.write(contentsOf: Data((0..<size.samples).map { "{\"id\": \($0), \"text\": \"example sample \($0)\"}\n" }.joined().utf8))
        }
        return ExampleJob(size: size, planted: planted, saePath: saePath, activationsPath: activationsPath,
                          toxicPath: toxicPath, datasetPath: datasetPath, risky: risky)
    }

    /// A SAELens checkpoint: W_dec = the planted directions scaled to unit rows, W_enc = W_decᵀ,
    /// JumpReLU with threshold 0.5.
    static func writeSAE(_ planted: PlantedDictionary, to folder: String) throws -> String {
        let n = planted.features, d = planted.dimension
        var unit = planted.values
        for f in 0..<n {
            var norm: Float = 0
            for i in 0..<d { norm += unit[f * d + i] * unit[f * d + i] }
            let inverse = 1 / norm.squareRoot()
            for i in 0..<d { unit[f * d + i] *= inverse }
        }
        var encoder = [Float](repeating: 0, count: d * n)
        for f in 0..<n { for i in 0..<d { encoder[i * n + f] = unit[f * d + i] } }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try SafetensorsWriter.write([
            .float32("W_dec", shape: [n, d], unit),
            .float32("W_enc", shape: [d, n], encoder),
            .float32("b_enc", shape: [n], [Float](repeating: 0, count: n)),
            .float32("b_dec", shape: [d], [Float](repeating: 0, count: d)),
            .float32("threshold", shape: [n], [Float](repeating: 0.5, count: n)),
        ], metadata: [:], to: folder + "/sae_weights.safetensors")
        try AtomicOutput.write(to: folder + "/cfg.json") {
            try $0.write(contentsOf: Data("{\"architecture\": \"jumprelu\", \"d_in\": \(d), \"d_sae\": \(n), \"apply_b_dec_to_input\": false}".utf8))
        }
        return folder
    }
}
