import Foundation

extension ExampleJob {
    /// Two labelled activation sets for `contrast`, as a user would make them from a few hundred
    /// labelled texts: "toxic" samples whose tokens each carry one toxic feature (with two plain
    /// ones), and "ordinary" samples of plain features only. Returns their paths.
    public func writeLabelledSets(samples: Int = 200, seed: UInt64 = 11, to folder: String) throws -> (toxic: String, ordinary: String) {
        let d = size.dimension, n = size.features, tokens = size.tokens
        let firstPlain = size.toxic + size.toxic * size.neighboursPerToxic
        let paths = (folder + "/labelled-toxic.safetensors", folder + "/labelled-ordinary.safetensors")
        let job = try Job("generate", inputs: [], outputs: [("the toxic set", paths.0), ("the ordinary set", paths.1)])
        var rng = SeededGenerator(seed: seed)
        for (path, toxicTokens) in [(paths.0, true), (paths.1, false)] {
            var rows = [Float](repeating: 0, count: samples * tokens * d)
            for r in 0..<(samples * tokens) {
                for slot in 0..<3 {
                    let f = toxicTokens && slot == 0 ? Int(rng.next() % UInt64(size.toxic))
                        : firstPlain + Int(rng.next() % UInt64(n - firstPlain))
                    let scale = Float(1 + Double(rng.next() % 100) / 100)
                    for i in 0..<d { rows[r * d + i] += scale * planted.values[f * d + i] }
                }
                for i in 0..<d { rows[r * d + i] += Float(rng.gaussian() * 0.02) }
            }
            try job.write(path) {
                try SafetensorsWriter.write([
                    .float32("activations", shape: [samples * tokens, d], rows),
                    .int64("offsets", shape: [samples + 1], (0...samples).map { Int64($0 * tokens) }),
                ], metadata: [:], into: $0)
            }
        }
        try job.commit()
        return paths
    }

    /// The dataset's planted risky samples and the rest, as two activation files: what the
    /// paper's measurement contrasts. Returns their paths.
    public func writeRiskySplit(to folder: String) throws -> (risky: String, rest: String) {
        let data = try ActivationsFile.open(activationsPath, tensor: nil, offsets: "offsets")
        let d = size.dimension
        let paths = (folder + "/risky.safetensors", folder + "/rest.safetensors")
        let job = try Job("generate", inputs: [activationsPath], outputs: [("the risky samples", paths.0), ("the rest", paths.1)])
        for (path, wanted) in [(paths.0, true), (paths.1, false)] {
            let chosen = (0..<data.samples).filter { risky.contains($0) == wanted }
            var rows: [Float] = [], offsets: [Int64] = [0]
            var row = [Float](repeating: 0, count: d)
            for s in chosen {
                for r in data.sampleStarts[s]..<data.sampleStarts[s + 1] {
                    row.withUnsafeMutableBufferPointer { data.rows.copyFeature(r, into: $0.baseAddress!) }
                    rows += row
                }
                offsets.append(Int64(rows.count / d))
            }
            try job.write(path) {
                try SafetensorsWriter.write([
                    .float32("activations", shape: [rows.count / d, d], rows),
                    .int64("offsets", shape: [offsets.count], offsets),
                ], metadata: [:], into: $0)
            }
        }
        try job.commit()
        return paths
    }
}
