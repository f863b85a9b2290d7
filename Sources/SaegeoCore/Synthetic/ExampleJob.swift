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
        try checkResources(size, folder: folder)
        let created = try createFolders([folder, folder + "/sae"])
        do {
            return try write(size, seed: seed, folder: folder)
        } catch {
            // Only the folders this run created, and only when empty (uncommitted files never appear).
            for path in created.reversed() { rmdir(path) }
            throw error
        }
    }

    private static func write(_ size: Size, seed: UInt64, folder: String) throws -> ExampleJob {
        let saePath = folder + "/sae", activationsPath = folder + "/activations.safetensors"
        let toxicPath = folder + "/toxic.txt", datasetPath = folder + "/dataset.jsonl"
        let job = try Job("generate", inputs: [], outputs: [
            saePath + "/sae_weights.safetensors", saePath + "/cfg.json", activationsPath, toxicPath, datasetPath,
        ].map { ("output", $0) })
        let planted = PlantedDictionary.generate(features: size.features, dimension: size.dimension, toxic: size.toxic,
                                                 neighboursPerToxic: size.neighboursPerToxic, seed: seed)
        try writeSAE(planted, to: saePath, job: job)

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
        try job.write(activationsPath) {
            try SafetensorsWriter.write([
                .float32("activations", shape: [size.samples * size.tokens, d], rows),
                .int64("offsets", shape: [size.samples + 1], (0...size.samples).map { Int64($0 * size.tokens) }),
            ], metadata: [:], into: $0)
        }
        try job.write(toxicPath) {
            try $0.write(contentsOf: Data((0..<size.toxic).map { "\($0)\n" }.joined().utf8))
        }
        try job.write(datasetPath) {
            try $0.write(contentsOf: Data((0..<size.samples).map { "{\"id\": \($0), \"text\": \"example sample \($0)\"}\n" }.joined().utf8))
        }
        try job.commit()
        return ExampleJob(size: size, planted: planted, saePath: saePath, activationsPath: activationsPath,
                          toxicPath: toxicPath, datasetPath: datasetPath, risky: risky)
    }

    /// A SAELens checkpoint: W_dec = the planted directions scaled to unit rows, W_enc = W_decᵀ,
    /// JumpReLU with threshold 0.5.
    static func writeSAE(_ planted: PlantedDictionary, to folder: String, job: Job) throws {
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
        try job.write(folder + "/sae_weights.safetensors") {
            try SafetensorsWriter.write([
            .float32("W_dec", shape: [n, d], unit),
            .float32("W_enc", shape: [d, n], encoder),
            .float32("b_enc", shape: [n], [Float](repeating: 0, count: n)),
            .float32("b_dec", shape: [d], [Float](repeating: 0, count: d)),
            .float32("threshold", shape: [n], [Float](repeating: 0.5, count: n)),
            ], metadata: [:], into: $0)
        }
        try job.write(folder + "/cfg.json") {
            try $0.write(contentsOf: Data("{\"architecture\": \"jumprelu\", \"d_in\": \(d), \"d_sae\": \(n), \"apply_b_dec_to_input\": false}".utf8))
        }
    }

    /// Refuses a size whose arrays would not fit in memory or whose files would not fit on the
    /// folder's disk, before anything is allocated or created (sizes come from the user: no
    /// arithmetic on them may trap).
    static func checkResources(_ size: Size, folder: String) throws {
        let tooLarge = SaegeoError(.usage, "an example of \(size.features) features x \(size.dimension) and \(size.samples) samples x \(size.tokens) tokens is too large to generate; choose smaller sizes")
        guard let dictionary = checkedProduct([size.features, size.dimension, 4]),
              let activations = checkedProduct([size.samples, size.tokens, size.dimension, 4]),
              let memory = checkedProduct([dictionary, 4]).map({ $0.addingReportingOverflow(activations) }), !memory.overflow,
              let disk = checkedProduct([dictionary, 2]).map({ $0.addingReportingOverflow(activations) }), !disk.overflow else {
            throw tooLarge
        }
        let physical = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        guard memory.partialValue <= physical / 2 else {
            throw SaegeoError(.usage, "generating this example needs about \(ByteCount.format(memory.partialValue)) of memory, more than half of this machine's \(ByteCount.format(physical)); choose smaller sizes")
        }
        // The nearest folder that exists is where the files will land.
        var existing = folder.isEmpty ? "." : folder
        while !FileManager.default.fileExists(atPath: existing), existing != "/", existing != "." {
            let parent = PathName.folder(existing)
            existing = parent.isEmpty ? "." : parent
        }
        var space = statvfs()
        if statvfs(existing, &space) == 0 {
            let free = Int(clamping: UInt64(space.f_bavail).multipliedReportingOverflow(by: UInt64(space.f_frsize)).partialValue)
            guard disk.partialValue <= free else {
                throw SaegeoError(.usage, "the example's files need about \(ByteCount.format(disk.partialValue)), more than the \(ByteCount.format(free)) free in \(existing); choose smaller sizes or another folder")
            }
        }
    }

    /// Creates the folders that do not exist yet (not their parents), returning those it created.
    static func createFolders(_ paths: [String]) throws -> [String] {
        var created: [String] = []
        do {
            for path in paths {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                    guard isDirectory.boolValue else {
                        throw SaegeoError(.usage, "\(path) exists and is not a folder; give a folder path (new or existing) to write the example into")
                    }
                    continue
                }
                guard mkdir(path, 0o777) == 0 else {
                    throw SaegeoError.io("cannot create the folder \(path): \(systemError()); check that its parent exists and is writable", errno: errno)
                }
                created.append(path)
            }
        } catch {
            for folder in created.reversed() { rmdir(folder) }
            throw error
        }
        return created
    }
}
